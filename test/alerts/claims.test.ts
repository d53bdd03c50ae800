/**
 * Announcements claimed through a unique row before they are sent (the HA monitor): two alert
 * evaluators over one real store (SQLite and PostgreSQL), evaluating at once as a stalled instance
 * and its successor may, announce each firing, reminder and resolution once between them; a
 * claim the store cannot take sends anyway.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AlertEvaluator } from '../../src/alerts/evaluator.js';
import { AlertBook, type AlertEvent, announcementKey } from '../../src/alerts/lifecycle.js';
import { parseConfig } from '../../src/config/index.js';
import { ManualClock } from '../../src/core/clock.js';
import type { ComponentStatus } from '../../src/monitor/monitor.js';
import { Monitor } from '../../src/monitor/monitor.js';
import { openStore } from '../../src/monitor/store/open.js';
import type { Store } from '../../src/monitor/store/types.js';
import { backends } from '../monitor/store/backends.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2026, 5, 1, 9);

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const parsed = parseConfig(
  `
components:
  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }
alerts:
  evaluationInterval: 10s
  repeatInterval: 30m
  rules:
    - { name: open, type: incident, for: 1m }
`,
  { env: {} },
);
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const config = parsed.config;

/** api's status: an incident open since `since`, or none. */
const status = (since: number | undefined): ComponentStatus => ({
  name: 'api',
  critical: false,
  status: since === undefined ? 'healthy' : 'unhealthy',
  last: undefined,
  incidentSince: since,
  degradedSince: undefined,
  degradedFromStart: false,
  certificateExpiresAt: undefined,
  acknowledged: false,
  flapping: false,
  maintenance: [],
});

describe.each(backends)('announcements claimed on $name', (backend) => {
  async function setup() {
    const location = await backend.create();
    cleanup.push(() => location.dispose());
    const store = await openStore(location.url, location.schema === undefined ? {} : { schema: location.schema });
    cleanup.push(() => store.close());
    await store.migrate();
    const clock = new ManualClock(T0);
    const monitor = new Monitor({ config, store, clock });
    let incident: number | undefined = T0;
    const events: Array<AlertEvent & { by: string }> = [];
    const evaluator = (by: string, claim: (key: string, at: number) => Promise<boolean>, s: Store = store) => {
      const e = new AlertEvaluator({
        config: () => config,
        history: monitor.history,
        statuses: () => [status(incident)],
        store: s,
        clock,
        claim,
      });
      e.on('alert', (event) => events.push({ ...event, by }));
      return e;
    };
    const claim = (key: string, at: number) => store.subscribers.claimNotice(key, at);
    return { store, clock, events, evaluator, claim, resolve: () => (incident = undefined) };
  }

  it.skipIf(backend.skip)('two evaluators at once announce each firing, reminder and resolution once', async () => {
    const { clock, events, evaluator, claim, resolve } = await setup();
    const a = evaluator('a', claim);
    const b = evaluator('b', claim);
    // both read the store (nothing yet) and see the incident pending, activated at the same evaluation time
    await a.evaluate();
    await b.evaluate();
    await clock.advance(MINUTE);
    await a.evaluate();
    await b.evaluate();
    expect(events.map((e) => [e.kind, e.by])).toEqual([['firing', 'a']]);
    // each then reminds from the same announcement (a's, stored before it was sent)
    await clock.advance(30 * MINUTE);
    await b.evaluate();
    await a.evaluate();
    expect(events.map((e) => e.kind)).toEqual(['firing', 'repeat']);
    resolve();
    await clock.advance(10 * SECOND);
    await a.evaluate();
    await b.evaluate();
    expect(events.map((e) => e.kind)).toEqual(['firing', 'repeat', 'resolved']);
  });

  it.skipIf(backend.skip)(
    'a successor reads what its predecessor announced (saved before it was sent) and does not announce it again',
    async () => {
      const { clock, events, evaluator, claim } = await setup();
      const a = evaluator('a', claim);
      await a.evaluate();
      await clock.advance(MINUTE);
      await a.evaluate();
      await a.stop(); // a's lease moves
      const b = evaluator('b', claim);
      b.start();
      await b.evaluate();
      expect(events.map((e) => [e.kind, e.by])).toEqual([['firing', 'a']]);
      await b.stop();
    },
  );

  it.skipIf(backend.skip)('a claim the store cannot take sends anyway: twice rather than never', async () => {
    const { clock, events, evaluator } = await setup();
    const down = async (): Promise<boolean> => {
      throw new Error('store: unavailable');
    };
    const a = evaluator('a', down);
    await a.evaluate();
    await clock.advance(MINUTE);
    await a.evaluate();
    expect(events.map((e) => e.kind)).toEqual(['firing']);
  });
});

describe('announcementKey', () => {
  it('is the same for two books repeating one stored announcement at different times, and differs per kind', () => {
    const labels = { alertname: 'X' };
    const firing = new AlertBook([], { repeatIntervalMs: 30 * MINUTE });
    const candidate = { labels, annotations: {}, holds: true, forMs: 0 };
    const [fired] = firing.evaluate([candidate], T0).events;
    const stored = firing.active();
    const one = new AlertBook(stored, { repeatIntervalMs: 30 * MINUTE });
    const two = new AlertBook(stored, { repeatIntervalMs: 30 * MINUTE });
    const [r1] = one.evaluate([candidate], T0 + 30 * MINUTE).events;
    const [r2] = two.evaluate([candidate], T0 + 30 * MINUTE + 7 * SECOND).events;
    expect(r1?.kind).toBe('repeat');
    expect(announcementKey(r1 as AlertEvent)).toBe(announcementKey(r2 as AlertEvent));
    expect(announcementKey(r1 as AlertEvent)).not.toBe(announcementKey(fired as AlertEvent));
    // the next reminder repeats another announcement: another key
    const [r3] = one.evaluate([candidate], T0 + 60 * MINUTE).events;
    expect(announcementKey(r3 as AlertEvent)).not.toBe(announcementKey(r1 as AlertEvent));
  });
});
