import type { IncidentRecord } from '../../monitor/history.js';
import { dateTime, span } from './format.js';
import { escapeHtml } from './html.js';

/** An Atom feed of incidents (RFC 4287), newest first; an entry is updated when its incident resolves. */
export function incidentFeed(title: string, base: string, incidents: IncidentRecord[], now: number): string {
  const updated = new Date(incidents.reduce((t, i) => Math.max(t, i.end ?? i.start), 0) || now).toISOString();
  const entries = incidents.map((i) => {
    const link = `${base}/components/${encodeURIComponent(i.component)}`;
    const state = i.end === null ? 'ongoing' : `resolved after ${span(i.end - i.start)}`;
    const summary = `${i.component} down from ${dateTime(i.start)}${i.end === null ? '' : ` to ${dateTime(i.end)}`} (${state})${i.error ? `: ${i.error}` : ''}`;
    return `<entry><id>${escapeHtml(`${base}/incidents/${i.id}`)}</id><title>${escapeHtml(`${i.component}: ${i.end === null ? 'outage' : 'resolved'}`)}</title><link href="${escapeHtml(link)}"/><published>${new Date(i.start).toISOString()}</published><updated>${new Date(i.end ?? i.start).toISOString()}</updated><summary>${escapeHtml(summary)}</summary></entry>`;
  });
  return `<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><id>${escapeHtml(`${base}/feed.xml`)}</id><title>${escapeHtml(`${title}: incidents`)}</title><link rel="self" href="${escapeHtml(`${base}/feed.xml`)}"/><link href="${escapeHtml(`${base}/`)}"/><updated>${updated}</updated><author><name>${escapeHtml(title)}</name></author>${entries.join('')}</feed>\n`;
}
