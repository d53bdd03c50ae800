import { formatDuration } from '../../config/duration.js';
import type { NinesConfig } from '../../config/index.js';
import type { IncidentNotes, IncidentRecord, ProbeRecord, UpdateStatus } from '../../monitor/history.js';
import type { ComponentStatus, DayFigures, SloFigures } from '../../monitor/monitor.js';
import type { FiguresView } from '../views.js';
import { SCRIPT, STYLE } from './assets.js';
import { clock, date, dateTime, millis, percent, span } from './format.js';
import { Html, html } from './html.js';
import type { ComponentModel, IndexModel, LatencySeries } from './model.js';
import { subscribeForm } from './subscribe.js';

type Status = ComponentStatus['status'];

/** Word and icon of a status: colour is never the only signal. */
const STATUS: Record<Status, { word: string; icon: string }> = {
  healthy: { word: 'Operational', icon: '✓' },
  degraded: { word: 'Degraded', icon: '!' },
  partial: { word: 'Partial outage', icon: '!' },
  unhealthy: { word: 'Down', icon: '✕' },
  unknown: { word: 'No data', icon: '?' },
};

/**
 * The banner over all shown components: any critical one down is an outage; anything less is
 * degraded. A component in maintenance is expected to fail and counts for neither.
 */
export function overall(components: readonly ComponentStatus[]): {
  kind: 'ok' | 'degraded' | 'outage' | 'unknown' | 'maintenance';
  text: string;
} {
  if (components.length === 0 || components.every((c) => c.status === 'unknown')) return { kind: 'unknown', text: 'No results yet' };
  const live = components.filter((c) => c.maintenance.length === 0);
  if (live.some((c) => c.status === 'unhealthy' && c.critical)) return { kind: 'outage', text: 'Major outage' };
  if (live.some((c) => c.status !== 'healthy')) return { kind: 'degraded', text: 'Some systems are degraded or down' };
  if (live.length < components.length) return { kind: 'maintenance', text: 'Scheduled maintenance in progress' };
  return { kind: 'ok', text: 'All systems operational' };
}

const BANNER_ICON: Record<ReturnType<typeof overall>['kind'], string> = {
  ok: '✓',
  unknown: '?',
  maintenance: '⚒',
  degraded: '!',
  outage: '!',
};

function statusBadge(status: Status): Html {
  const s = STATUS[status];
  return html`<span class="st st-${status}"><span class="ic" aria-hidden="true">${s.icon}</span> ${s.word}</span>`;
}

/** Class of a day's bar by its availability. */
function barClass(f: DayFigures['figures']): string {
  const a = f.availability;
  if (a === null) return 'dn';
  if (a >= 0.999) return 'd0';
  if (a >= 0.99) return 'd1';
  if (a >= 0.95) return 'd2';
  return 'd3';
}

function incidentLine(i: IncidentRecord): string {
  // to the second when the minutes alone would read 19:20–19:20
  const short = i.end !== null && clock(i.start) === clock(i.end);
  const at = (ms: number) => (short ? new Date(ms).toISOString().slice(11, 19) : clock(ms));
  return `${at(i.start)}–${i.end === null ? 'ongoing' : at(i.end)} UTC${i.error ? ` (${i.error})` : ''}`;
}

/** The tooltip text of a day: date, availability, downtime, unobserved time and the incidents. */
export function dayLabel(d: DayFigures): string {
  const f = d.figures;
  if (f.availability === null) return `${date(d.day.from)}: no data`;
  const parts = [`${date(d.day.from)}: ${percent(f.availability)} up`, f.downMs > 0 ? `${span(f.downMs)} down` : 'no downtime'];
  if (f.maintenanceMs > 0) parts.push(`${span(f.maintenanceMs)} maintenance`);
  const unobserved = f.unobservedMs - f.maintenanceMs;
  if (unobserved > 0 && f.observedMs > 0) parts.push(`${span(unobserved)} unobserved`);
  let text = parts.join(', ');
  if (d.incidents.length > 0) text += `; incidents: ${d.incidents.map(incidentLine).join('; ')}`;
  return text;
}

function bars(days: DayFigures[]): Html {
  // One tab stop per component (today); arrow keys, Home and End move between days (roving tabindex).
  // `</li>` is optional in HTML, and 4,500 of them are 22 KB.
  return html`<ol class="bars" aria-label="Uptime per day, last ${days.length} days (UTC); arrow keys move between days">${days.map(
    (d, i) => html`<li class="${barClass(d.figures)}"${i === days.length - 1 ? html` tabindex="0"` : ''} aria-label="${dayLabel(d)}">`,
  )}</ol>`;
}

/** Availability over all the days shown, time-weighted like every figure. */
function overDays(days: DayFigures[]): number | null {
  let up = 0;
  let observed = 0;
  for (const d of days) {
    up += d.figures.upMs;
    observed += d.figures.observedMs;
  }
  return observed > 0 ? up / observed : null;
}

const CHART_W = 480;
const CHART_H = 64;

/** p50 and p95 of the last 24 h as inline SVG, incidents shaded; readable without JavaScript. */
function latencyChart(series: LatencySeries, incidents: IncidentRecord[], now: number): Html {
  const total = series.points.length * series.step;
  const max = Math.max(1, ...series.points.map((p) => p.p95 ?? 0));
  const x = (t: number) => (((t - series.from) / total) * CHART_W).toFixed(1);
  const y = (v: number) => (CHART_H - 2 - (v / max) * (CHART_H - 6)).toFixed(1);
  const line = (key: 'p50' | 'p95') => {
    const at = series.points.flatMap((p, i) => (p[key] === null ? [] : [[series.from + (i + 0.5) * series.step, p[key] ?? 0] as const]));
    // a lone point still shows: a short segment with round caps
    const points = at.length === 1 && at[0] ? [at[0], [at[0][0] + series.step / 8, at[0][1]] as const] : at;
    return points.map(([t, v]) => `${x(t)},${y(v)}`).join(' ');
  };
  const end = series.from + total;
  const shaded = incidents
    .filter((i) => i.start < end && (i.end ?? now) > series.from)
    .map((i) => {
      const a = Math.max(i.start, series.from);
      const b = Math.min(i.end ?? now, end);
      const width = Math.max(1.5, Number(x(b)) - Number(x(a)));
      return html`<rect class="inc" x="${x(a)}" y="0" width="${width.toFixed(1)}" height="${CHART_H}"><title>Incident ${incidentLine(i)}</title></rect>`;
    });
  const latest = series.points.findLast((p) => p.p50 !== null);
  const label = latest
    ? `Response time, last 24 hours: latest half hour p50 ${millis(latest.p50)}, p95 ${millis(latest.p95)}; highest p95 ${millis(max)}; ${shaded.length} incident(s) marked`
    : 'Response time, last 24 hours: no checks';
  return html`<figure class="lat"><svg viewBox="0 0 ${CHART_W} ${CHART_H}" preserveAspectRatio="none" role="img" aria-label="${label}">${shaded}<polyline class="p95" points="${line('p95')}"/><polyline class="p50" points="${line('p50')}"/></svg><figcaption><span class="k50">p50</span> <span class="k95">p95</span> · last 24 h · max ${millis(latest ? max : null)}</figcaption></figure>`;
}

/** "1 of 3 locations failing" beside a partial component: counts only, the locations' names stay internal. */
function locationsNote(s: ComponentStatus): Html | string {
  if (s.status !== 'partial' || s.locations === undefined) return '';
  return html` <span class="loc">${s.locations.failing.length} of ${s.locations.of} locations failing</span>`;
}

function componentBlock(m: ComponentModel, now: number, link: boolean): Html {
  const s = m.status;
  const name = link ? html`<a href="/components/${encodeURIComponent(s.name)}">${s.name}</a>` : s.name;
  const last = s.last === undefined ? 'no check yet' : `last check ${dateTime(s.last.time)}`;
  return html`<section class="comp" id="c-${s.name}" aria-labelledby="h-${s.name}">
<div class="head" data-k="h-${s.name}"><h3 id="h-${s.name}">${name}${s.critical ? html` <small class="crit">critical</small>` : ''}</h3>${statusBadge(s.status)}${locationsNote(s)}${s.flapping ? html` <span class="flap">flapping</span>` : ''}${s.maintenance.length > 0 ? html` <span class="mnt">maintenance</span>` : ''}
<p class="meta">${m.config.description ? html`${m.config.description} · ` : ''}${last}${s.status !== 'healthy' && s.last?.error ? html` · <span class="err">${s.last.error}</span>` : ''}</p></div>
<div data-k="b-${s.name}">${m.days.length === 0 ? '' : history(m, now)}</div>
</section>`;
}

/** Day bars, their legend and the latency chart of one component. */
function history(m: ComponentModel, now: number): Html {
  return html`${bars(m.days)}<p class="meta legend"><span>${m.days.length} days ago</span><span>${percent(overDays(m.days))} over ${m.days.length} days</span><span>today</span></p>
${latencyChart(
  m.latency,
  m.days.flatMap((d) => d.incidents).filter((i, n, all) => all.findIndex((j) => j.id === i.id) === n),
  now,
)}`;
}

/** Statuspage's words, as the page shows them. */
const UPDATE_WORDS: Record<UpdateStatus, string> = {
  investigating: 'Investigating',
  identified: 'Identified',
  monitoring: 'Monitoring',
  resolved: 'Resolved',
};

/** The postmortem link and the updates of an incident, newest first; nothing when it has neither. */
function notesBlock(notes: IncidentNotes | undefined): Html | '' {
  if (notes === undefined || (notes.postmortem === null && notes.updates.length === 0)) return '';
  const postmortem = notes.postmortem === null ? '' : html`<p class="pm"><a href="${notes.postmortem}" rel="noopener">Postmortem</a></p>`;
  const updates = notes.updates.map(
    (u) =>
      html`<li><time datetime="${new Date(u.time).toISOString()}">${dateTime(u.time)}</time>${u.status === null ? '' : html` <strong class="us">${UPDATE_WORDS[u.status]}</strong>`} <span class="msg">${u.message}</span></li>`,
  );
  return html`<div class="notes">${postmortem}${updates.length === 0 ? '' : html`<ol class="updates" aria-label="Updates, newest first">${updates}</ol>`}</div>`;
}

function incidentRows(incidents: IncidentRecord[], notes: Map<number, IncidentNotes>, now: number, withComponent: boolean): Html {
  const columns = withComponent ? 5 : 4;
  return html`<table class="inc-table"><thead><tr>${withComponent ? html`<th scope="col">Component</th>` : ''}<th scope="col">Start</th><th scope="col">End</th><th scope="col">Duration</th><th scope="col">Error</th></tr></thead><tbody>${incidents.map(
    (i) => {
      const extra = notesBlock(notes.get(i.id));
      return html`<tr>${withComponent ? html`<td><a href="/components/${encodeURIComponent(i.component)}">${i.component}</a></td>` : ''}<td>${dateTime(i.start)}</td><td>${i.end === null ? html`<strong>ongoing</strong>` : dateTime(i.end)}</td><td>${span((i.end ?? now) - i.start)}</td><td class="err">${i.error ?? '—'}</td></tr>${extra === '' ? '' : html`<tr class="noted"><td colspan="${columns}">${extra}</td></tr>`}`;
    },
  )}</tbody></table>`;
}

function activeIncidents(incidents: IncidentRecord[], notes: Map<number, IncidentNotes>, now: number): Html {
  const active = incidents.filter((i) => i.end === null);
  if (active.length === 0) return html`<div data-k="active"></div>`;
  return html`<section data-k="active" class="active" aria-labelledby="h-active"><h2 id="h-active"><span aria-hidden="true">✕</span> Active incidents</h2><ul>${active.map(
    (i) =>
      html`<li><a href="/components/${encodeURIComponent(i.component)}">${i.component}</a>: down since ${dateTime(i.start)} (${span(now - i.start)})${i.error ? html` — <span class="err">${i.error}</span>` : ''}${notesBlock(notes.get(i.id))}</li>`,
  )}</ul></section>`;
}

/** Maintenance in progress and upcoming, with the public components each covers. */
function maintenancePanel(notices: IndexModel['maintenance']): Html {
  if (notices.length === 0) return html`<div data-k="maintenance"></div>`;
  return html`<section data-k="maintenance" class="maint" aria-labelledby="h-maint"><h2 id="h-maint">Maintenance</h2><ul>${notices.map(
    (n) =>
      html`<li id="m-${n.name}"><strong>${n.inProgress ? 'In progress' : 'Scheduled'}:</strong> ${n.title}, ${dateTime(n.from)} – ${dateTime(n.to)} (${span(n.to - n.from)}); affects ${n.components.join(', ')}${n.description ? html`<br><span class="meta">${n.description}</span>` : ''}</li>`,
  )}</ul></section>`;
}

function sloPanel(slos: SloFigures[]): Html {
  if (slos.length === 0) return html`<div data-k="slos"></div>`;
  const rate = (r: number | null) => (r === null ? '—' : `${r.toFixed(2)}×`);
  return html`<section data-k="slos" aria-labelledby="h-slos"><h2 id="h-slos">Service level objectives</h2><div class="slos">${slos.map(
    (s) => {
      const left = Math.max(0, Math.min(1, s.budgetRemaining));
      const spent = s.budgetRemaining < 0;
      return html`<article class="slo"><h3>${s.name} <small>${s.component}</small></h3>
<dl><dt>Objective</dt><dd>${s.objective} % over ${formatDuration(s.windowMs)}</dd><dt>Availability</dt><dd>${percent(s.figures.availability)}</dd>
<dt>Error budget left</dt><dd>${spent ? html`<strong>overspent</strong> ` : ''}${Number.isFinite(s.budgetRemaining) ? `${(s.budgetRemaining * 100).toFixed(1)} %` : '—'} of ${span(s.budgetMs)}</dd>
<dt>Burn rate</dt><dd>${rate(s.burnRate1h)} (1 h) · ${rate(s.burnRate6h)} (6 h)</dd></dl>
<div class="budget${left < 0.25 ? ' low' : ''}" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${(left * 100).toFixed(1)}" aria-label="Error budget left of ${s.name}"><span style="width:${(left * 100).toFixed(1)}%"></span></div></article>`;
    },
  )}</div></section>`;
}

/** The whole document around `main`. */
export function page(config: NinesConfig['page'], title: string, main: Html, now: number): string {
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="color-scheme" content="light dark"><link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' fill='%231a7f37'/%3E%3C/svg%3E"><title>${title}</title><link rel="alternate" type="application/atom+xml" href="/feed.xml" title="Incidents"><style>${new Html(STYLE)}</style></head><body data-refresh="${config.refresh}"><header><a href="/" class="brand">${config.logo ? html`<img src="${config.logo}" alt="" height="32">` : ''}<span>${config.title}</span></a></header><main>${main}</main><div id="tip" role="tooltip" hidden></div><footer><span data-k="updated">Updated ${dateTime(now)}</span> · times in UTC · <a href="/feed.xml">Atom feed</a> · <a href="/api/components">JSON API</a> · powered by nines</footer><script>${new Html(SCRIPT)}</script></body></html>`}`;
}

/** Shown instead of history while the store fails. */
const HISTORY_UNAVAILABLE = html`<div data-k="history-note" class="note" role="note"><p>History is unavailable right now: the monitor cannot reach its database. The status shown is live; bars, charts, figures and incidents return when it is back.</p></div>`;

/** Shown while the connectivity guard suspects the monitor's own network. */
const BLIND = html`<div data-k="blind" class="note" role="note"><p>The monitor cannot reach the services it watches right now, most likely because of its own network. Their status is unknown, not down; this time is left out of availability.</p></div>`;

/** The status page at `/`. */
export function renderIndex(config: NinesConfig['page'], m: IndexModel): string {
  const banner = m.blind
    ? { kind: 'unknown' as const, text: 'The monitor cannot reach its targets: status unknown' }
    : overall(m.components.map((c) => c.status));
  const main = html`<div data-k="banner" class="banner b-${banner.kind}" role="status"><span class="ic" aria-hidden="true">${BANNER_ICON[banner.kind]}</span> ${banner.text}</div>
${m.historyUnavailable ? HISTORY_UNAVAILABLE : ''}${m.blind ? BLIND : ''}
${maintenancePanel(m.maintenance)}
${activeIncidents(m.incidents, m.notes, m.now)}
<section aria-labelledby="h-components"><h2 id="h-components">Components</h2>${m.components.map((c) => componentBlock(c, m.now, true))}</section>
${sloPanel(m.slos)}
<section data-k="history" aria-labelledby="h-history"><h2 id="h-history">Incident history</h2>${m.incidents.length === 0 ? html`<p>No incidents recorded.</p>` : incidentRows(m.incidents, m.notes, m.now, true)}</section>
${m.subscribe === undefined ? '' : subscribeForm(m.subscribe)}`;
  return page(config, config.title, main, m.now);
}

const WINDOW_NAMES: Record<string, string> = {
  '1h': 'Last hour',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
  all: 'All time',
};

/**
 * The page of one component: figures of every window (the API's), bars, chart, incidents, checks;
 * with `figures` undefined (the store fails), its live status and a notice.
 */
export function renderComponent(
  config: NinesConfig['page'],
  m: ComponentModel,
  figures: Record<string, FiguresView> | undefined,
  incidents: IncidentRecord[],
  notes: Map<number, IncidentNotes>,
  checks: ProbeRecord[],
  now: number,
): string {
  const title = `${m.status.name} · ${config.title}`;
  const back = html`<p><a href="/">← All components</a></p>`;
  if (figures === undefined) return page(config, title, html`${back}${componentBlock(m, now, false)}${HISTORY_UNAVAILABLE}`, now);
  const windows = Object.entries(figures);
  const rows = windows.map(
    ([label, f]) =>
      html`<tr><th scope="row">${WINDOW_NAMES[label] ?? label}</th><td>${percent(f.availability)}</td><td>${span(f.uptimeSeconds * 1000)}</td><td>${span(f.downtimeSeconds * 1000)}</td><td>${span(f.unobservedSeconds * 1000)}</td><td>${f.incidentsStarted}</td><td>${f.mtbfSeconds === null ? '—' : span(f.mtbfSeconds * 1000)}</td><td>${f.mttrSeconds === null ? '—' : span(f.mttrSeconds * 1000)}</td><td>${f.checks.total}</td><td>${f.checks.healthy} / ${f.checks.degraded} / ${f.checks.unhealthy}</td><td>${millis(f.checks.p50Ms)} / ${millis(f.checks.p95Ms)} / ${millis(f.checks.p99Ms)}</td></tr>`,
  );
  const unobserved = windows
    .filter(([, f]) => f.unobservedSeconds > 0)
    .map(([label, f]) => {
      const length = Date.parse(f.to ?? '') - Date.parse(f.from ?? '');
      const share = length > 0 ? ((f.unobservedSeconds * 1000) / length) * 100 : 0;
      const maintenance = f.maintenanceSeconds > 0 ? `, of which ${span(f.maintenanceSeconds * 1000)} maintenance` : '';
      return html`<li>${WINDOW_NAMES[label] ?? label}: ${span(f.unobservedSeconds * 1000)} (${share.toFixed(1)} %) unobserved${maintenance}</li>`;
    });
  const name = m.status.name;
  if (figures === undefined) {
    return page(
      config,
      `${name} · ${config.title}`,
      html`<p><a href="/">← All components</a></p>${componentBlock(m, now, false)}${HISTORY_UNAVAILABLE}`,
      now,
    );
  }
  const main = html`${back}${componentBlock(m, now, false)}
<section data-k="figures" aria-labelledby="h-figures"><h2 id="h-figures">Figures</h2><div class="scroll"><table class="figures"><thead><tr><th scope="col">Window</th><th scope="col">Availability</th><th scope="col">Uptime</th><th scope="col">Downtime</th><th scope="col">Unobserved</th><th scope="col">Incidents</th><th scope="col">MTBF</th><th scope="col">MTTR</th><th scope="col">Checks</th><th scope="col">OK / degraded / failed</th><th scope="col">p50 / p95 / p99</th></tr></thead><tbody>${rows}</tbody></table></div>
${unobserved.length > 0 ? html`<div class="note"><p>Part of these windows was <strong>unobserved</strong>: the monitor was not running or had no result, or the component was in scheduled maintenance. That time counts neither as up nor as down; availability is uptime over observed time.</p><ul>${unobserved}</ul></div>` : ''}</section>
<section data-k="incidents" aria-labelledby="h-incidents"><h2 id="h-incidents">Incidents</h2>${incidents.length === 0 ? html`<p>No incidents recorded.</p>` : incidentRows(incidents, notes, now, false)}</section>
<section data-k="checks" aria-labelledby="h-checks"><h2 id="h-checks">Recent checks</h2><div class="scroll"><table class="checks"><thead><tr><th scope="col">Time</th><th scope="col">Status</th><th scope="col">Duration</th><th scope="col">Error</th></tr></thead><tbody>${checks.map(
    (c) =>
      html`<tr><td>${dateTime(c.time)}</td><td>${statusBadge(c.status)}</td><td>${millis(c.durationMs)}</td><td class="err">${c.error ?? ''}</td></tr>`,
  )}</tbody></table></div></section>`;
  return page(config, title, main, now);
}
