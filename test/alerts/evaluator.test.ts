/**
 * nines' own alert evaluation on a real monitor, a fake clock and a real store (SQLite and
 * PostgreSQL): the burn alerts fire and resolve at the evaluation a closed-form burn rate says
 * they must, once each; a restart over the same store neither re-announces a firing alert nor
 * forgets it; a firing alert is announced again every repeatInterval.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AlertEvaluator } from '../../src/alerts/evaluator.js';
import type { AlertEvent } from '../../src/alerts/lifecycle.js';
import { BURN_WINDOWS, type BurnAlert } from '../../src/config/burn-alerts.js';
import { parseConfig } from '../../src/config/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { Monitor } from '../../src/monitor/monitor.js';
import { openStore } from '../../src/monitor/store/open.js';
import { backends } from '../monitor/store/backends.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 3, 1, 8);

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const yaml = `
storage: sqlite:unused.db
defaults: { interval: 10s, timeout: 1s, degradedAfter: 500ms, failuresToOpen: 1, successesToResolve: 1 }
components:
  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }
slos:
  - { name: api-slo, component: api, objective: 99.9 }
alerts: { evaluationInterval: 10s, repeatInterval: 1h }
`;

/**
 * The oracle: with history observed since T0 and no gaps, down exactly over [start, end), the
 * burn rate over a window w at t is (down time in the last w) / (observed time in the last w) / 0.001.
 */
function oracle(alert: BurnAlert, t: number, down: { start: number; end?: number }): boolean {
  const burn = (w: number) => {
    const from = Math.max(t - w, T0);
    const d = Math.max(0, Math.min(t, down.end ?? t) - Math.max(from, down.start));
    return d / (t - from) / 0.001;
  };
  return alert.conditions.some((c) => burn(BURN_WINDOWS[c.long]) > c.factor && burn(BURN_WINDOWS[c.short]) > c.factor);
}

describe.each(backends)('AlertEvaluator on $name', (backend) => {
  it.skipIf(backend.skip)(
    'fires and resolves each burn alert once, at the evaluation the burn rate says; survives a restart; reminds',
    async () => {
      const location = await backend.create();
      cleanup.push(() => location.dispose());
      const store = await openStore(location.url, location.schema === undefined ? {} : { schema: location.schema });
      cleanup.push(() => store.close());
      const parsed = parseConfig(yaml, { env: {} });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
      const config = parsed.config;
      const clock = new ManualClock(T0);
      let up = true;
      const monitor = new Monitor({
        config,
        store,
        clock,
        flushInterval: MINUTE,
        compactInterval: 24 * HOUR,
        probe: (c) => async () => ({ name: c.name, time: clock.now(), durationMs: 2, status: up ? 'healthy' : 'unhealthy' }),
      });
      await monitor.start();
      cleanup.push(() => monitor.stop());
      let opened: number | undefined;
      monitor.on('incidentOpened', (e) => {
        opened = e.start;
      });
      const events: AlertEvent[] = [];
      const evaluator = () => {
        const e = new AlertEvaluator({ config: () => monitor.config, history: monitor.history, store, clock });
        e.on('alert', (event) => events.push(event));
        return e;
      };
      let alerts = evaluator();
      const [page, ticket] = config.slos[0]?.alerts ?? [];
      if (page === undefined || ticket === undefined) throw new Error('no burn alerts');
      const step = async () => {
        await clock.advance(10 * SECOND);
        await alerts.evaluate();
      };

      for (let t = 0; t < 2 * HOUR; t += 10 * SECOND) await step(); // two clean hours
      expect(events).toEqual([]);

      up = false;
      const expected = new Map<string, number>();
      for (let i = 0; i < 120 && expected.size < 2; i++) {
        await step();
        const down = { start: opened ?? Number.POSITIVE_INFINITY };
        for (const alert of [page, ticket])
          if (!expected.has(alert.severity) && oracle(alert, clock.now(), down)) expected.set(alert.severity, clock.now());
      }
      expect(opened).toBeDefined();
      expect(expected.size).toBe(2);
      const firing = events.filter((e) => e.kind === 'firing');
      expect(firing.map((e) => [e.alert.labels.severity, e.at])).toEqual([...expected].sort((a, b) => (a[1] as number) - (b[1] as number)));
      expect(firing[0]?.alert.labels).toMatchObject({ alertname: 'NinesErrorBudgetBurn', slo: 'api-slo', component: 'api' });

      // a restart: a new evaluator over the same store says nothing new, and knows both alerts fire
      const before = events.length;
      await alerts.stop();
      alerts = evaluator();
      await step();
      expect(events.length).toBe(before);
      expect(
        alerts
          .active()
          .map((a) => [a.labels.severity, a.state])
          .sort(),
      ).toEqual([
        ['page', 'firing'],
        ['ticket', 'firing'],
      ]);

      // reminders every hour, counted from each announcement
      const firedAt = Object.fromEntries(firing.map((e) => [e.alert.labels.severity, e.at]));
      while (clock.now() < (firedAt.page as number) + HOUR + 10 * SECOND) await step();
      const repeats = events.filter((e) => e.kind === 'repeat');
      expect(repeats.map((e) => e.alert.labels.severity).sort()).toEqual(['page', 'ticket']);
      for (const r of repeats) {
        const sev = r.alert.labels.severity as string;
        expect(r.at - (firedAt[sev] as number)).toBeGreaterThanOrEqual(HOUR);
        expect(r.at - (firedAt[sev] as number)).toBeLessThan(HOUR + 10 * SECOND);
      }

      // recovery: the page resolves when neither of its pairs holds any more, the ticket later
      up = true;
      let resolvedAt: number | undefined;
      monitor.on('incidentResolved', (e) => {
        resolvedAt = e.end;
      });
      const expectedResolve = new Map<string, number>();
      for (let i = 0; i < 2000 && expectedResolve.size < 1; i++) {
        await step();
        if (resolvedAt === undefined) continue;
        const down = { start: opened as number, end: resolvedAt };
        if (!oracle(page, clock.now(), down)) expectedResolve.set('page', clock.now());
      }
      const resolved = events.filter((e) => e.kind === 'resolved');
      expect(resolved.map((e) => [e.alert.labels.severity, e.at])).toEqual([['page', expectedResolve.get('page')]]);
      const stored = await store.alerts();
      expect(stored.map((a) => a.labels.severity)).toEqual(['ticket']); // the page is gone from the store too
    },
    60_000,
  );
});
