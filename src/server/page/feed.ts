import type { IncidentNotes, IncidentRecord, IncidentUpdateRecord } from '../../monitor/history.js';
import { dateTime, span } from './format.js';
import { escapeHtml } from './html.js';

/** One `<entry>` (escaped here); `related` is an extra link, a postmortem. */
function entry(e: {
  id: string;
  title: string;
  link: string;
  related?: string | null;
  published: number;
  updated: number;
  summary: string;
}): string {
  const related = e.related ? `<link rel="related" href="${escapeHtml(e.related)}"/>` : '';
  return `<entry><id>${escapeHtml(e.id)}</id><title>${escapeHtml(e.title)}</title><link href="${escapeHtml(e.link)}"/>${related}<published>${new Date(e.published).toISOString()}</published><updated>${new Date(e.updated).toISOString()}</updated><summary>${escapeHtml(e.summary)}</summary></entry>`;
}

/** The entry of a public update: its own id, so a reader shows each update once. */
function updateEntry(base: string, i: IncidentRecord, u: IncidentUpdateRecord, link: string): string {
  const word = u.status === null ? 'update' : u.status;
  return entry({
    id: `${base}/incidents/${i.id}/updates/${u.id}`,
    title: `${i.component}: ${word}`,
    link,
    published: u.time,
    updated: u.time,
    summary: u.message,
  });
}

/**
 * An Atom feed of incidents (RFC 4287), newest first, each after its public updates (newest
 * first, an entry each); an incident's entry is updated when it resolves. `notes` must hold
 * public updates only.
 */
export function incidentFeed(
  title: string,
  base: string,
  incidents: IncidentRecord[],
  notes: Map<number, IncidentNotes>,
  now: number,
): string {
  let latest = 0;
  const entries = incidents.map((i) => {
    const link = `${base}/components/${encodeURIComponent(i.component)}`;
    const state = i.end === null ? 'ongoing' : `resolved after ${span(i.end - i.start)}`;
    const summary = `${i.component} down from ${dateTime(i.start)}${i.end === null ? '' : ` to ${dateTime(i.end)}`} (${state})${i.error ? `: ${i.error}` : ''}`;
    const n = notes.get(i.id);
    const updates = (n?.updates ?? []).map((u) => updateEntry(base, i, u, link));
    latest = Math.max(latest, i.end ?? i.start, ...(n?.updates ?? []).map((u) => u.time));
    const own = entry({
      id: `${base}/incidents/${i.id}`,
      title: `${i.component}: ${i.end === null ? 'outage' : 'resolved'}`,
      link,
      related: n?.postmortem,
      published: i.start,
      updated: i.end ?? i.start,
      summary,
    });
    return updates.join('') + own;
  });
  const updated = new Date(latest || now).toISOString();
  return `<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><id>${escapeHtml(`${base}/feed.xml`)}</id><title>${escapeHtml(`${title}: incidents`)}</title><link rel="self" href="${escapeHtml(`${base}/feed.xml`)}"/><link href="${escapeHtml(`${base}/`)}"/><updated>${updated}</updated><author><name>${escapeHtml(title)}</name></author>${entries.join('')}</feed>\n`;
}
