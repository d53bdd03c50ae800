// Failover end to end: three primary and one backup upstream, each a node:http server in its own
// process, under open-loop load through the FailoverDispatcher. Faults are real: kill -9, SIGSTOP,
// restarts on the same port, 503s, draining readiness. Assertions are on outcomes (every GET
// answered 200, who served what), never on how long anything took.
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type LoadEvent, type OpenLoopResult, openLoop } from '../../bench/lib/open-loop.js';
import { FailoverDispatcher, type FailoverDispatcherOptions } from '../../src/failover/index.js';
import { until } from '../support/e2e.js';
import { startUpstreams, type Upstream } from '../support/upstream.js';

/** Modest, so a busy 2-core machine keeps the schedule; the benchmark runs 2,000 req/s. */
const RATE = 200;
/** A request unanswered this long counts as failed: far above the per-try timeout (2 s) and its retry. */
const DEADLINE_MS = 15_000;
/** The 1 % errors run: 20 s in `npm test`, 10 minutes with NINES_FAILOVER_LONG=1 (`npm run test:failover:long`). */
const LONG = process.env.NINES_FAILOVER_LONG === '1';
const FLAKY_MS = LONG ? 600_000 : 20_000;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function upstreams(n: number): Promise<Upstream[]> {
  const list = await startUpstreams(n);
  for (const u of list) cleanups.push(() => u.close());
  return list;
}

function dispatcher(tiers: Upstream[][], options: Partial<FailoverDispatcherOptions> = {}): FailoverDispatcher {
  const d = new FailoverDispatcher({
    origin: 'http://api',
    tiers: tiers.map((t) => t.map((u) => u.origin)),
    healthCheck: true,
    ...options,
  });
  cleanups.push(() => d.destroy());
  return d;
}

/** Open-loop GETs at RATE for `durationMs`, with `events` at their times. */
function load(d: FailoverDispatcher, durationMs: number, events: LoadEvent[] = []): Promise<OpenLoopResult> {
  return openLoop(
    async (signal) => {
      const res = await request('http://api/', { dispatcher: d, signal });
      await res.body.dump();
      return res.statusCode;
    },
    { rate: RATE, durationMs, deadlineMs: DEADLINE_MS, events },
  );
}

/** Every request answered 2xx: the outcomes are exactly `{ ok: sent }`. */
function expectNoFailure(result: OpenLoopResult): void {
  expect(result.outcomes).toEqual({ ok: result.sent });
  expect(result.sent).toBeGreaterThan(0);
}

/** Records the dispatcher's events. */
function watch(d: FailoverDispatcher): Array<{ event: string; origin?: string; tier?: number; up?: boolean; panic?: boolean }> {
  const seen: Array<{ event: string; origin?: string }> = [];
  for (const event of ['eject', 'uneject', 'health', 'panic']) d.on(event as never, ((e: object) => seen.push({ event, ...e })) as never);
  return seen;
}

describe('failover end to end (child-process upstreams, open-loop load)', { timeout: LONG ? 900_000 : 120_000 }, () => {
  it('kill -9 of one of three: no GET fails, and the dead host is ejected', async () => {
    const [a, b, c] = await upstreams(3);
    const d = dispatcher([[a, b, c] as Upstream[]]);
    const seen = watch(d);
    const result = await load(d, 6_000, [{ name: 'kill', atMs: 2_000, run: () => c?.kill('SIGKILL') }]);
    expectNoFailure(result);
    expect(seen.filter((e) => e.origin === c?.origin && (e.event === 'eject' || (e.event === 'health' && e.up === false)))).not.toEqual([]);
  });

  it('one of three answering 503: no GET fails; its readiness takes it out of rotation', async () => {
    const [a, b, c] = (await upstreams(3)) as [Upstream, Upstream, Upstream];
    const d = dispatcher([[a, b, c]]);
    const down = new Promise((resolve) => d.on('health' as never, ((e: { origin: string; up: boolean }) => !e.up && resolve(e)) as never));
    const result = await load(d, 6_000, [{ name: '503', atMs: 1_000, run: () => c.setMode('503') }]);
    expectNoFailure(result);
    expect(await down).toMatchObject({ origin: c.origin, up: false });
    expect((await c.stats()).byMode['503']).toBeGreaterThan(0); // it was really hit, and really answered 503
  });

  it('one of three stopped with SIGSTOP (a black hole): no GET fails', async () => {
    const [a, b, c] = (await upstreams(3)) as [Upstream, Upstream, Upstream];
    const d = dispatcher([[a, b, c]]);
    const seen = watch(d);
    const result = await load(d, 8_000, [{ name: 'stop', atMs: 2_000, run: () => c.pause() }]);
    c.resume();
    expectNoFailure(result);
    expect(seen.some((e) => e.origin === c.origin && (e.event === 'eject' || (e.event === 'health' && e.up === false)))).toBe(true);
  });

  it('the killed host restarted on its port is back in rotation and serves again', async () => {
    const [a, b, c] = (await upstreams(3)) as [Upstream, Upstream, Upstream];
    const d = dispatcher([[a, b, c]]);
    const result = await load(d, 9_000, [
      { name: 'kill', atMs: 1_500, run: () => c.kill('SIGKILL') },
      { name: 'restart', atMs: 3_500, run: () => c.restart() },
    ]);
    expectNoFailure(result);
    expect((await c.stats()).byMode.ok).toBeGreaterThan(0); // counters start at zero with the new process
    expect(d.endpoints().find((e) => e.origin === c.origin)?.up).toBe(true);
  });

  it('two of three down: the tier panics and says so; the survivor and retries keep GETs answered', async () => {
    const [a, b, c] = (await upstreams(3)) as [Upstream, Upstream, Upstream];
    const d = dispatcher([[a, b, c]]);
    const panic = new Promise((resolve) => d.on('panic' as never, ((e: { panic: boolean }) => e.panic && resolve(e)) as never));
    const result = await load(d, 8_000, [
      {
        name: 'kill two',
        atMs: 1_500,
        run: () => Promise.all([b.kill('SIGKILL'), c.kill('SIGKILL')]),
      },
    ]);
    expect(await panic).toEqual({ tier: 0, panic: true });
    expect(d.load().panic).toEqual([true]);
    expectNoFailure(result);
  });

  it('all primaries down: the backup tier takes every request; the primaries take back when healthy', async () => {
    const [a, b, c, backup] = (await upstreams(4)) as [Upstream, Upstream, Upstream, Upstream];
    const d = dispatcher([[a, b, c], [backup]], { mode: 'backup' });
    await load(d, 1_000);
    expect((await backup.stats()).total).toBe(0); // standby while the primaries are healthy
    await Promise.all([a.kill('SIGKILL'), b.kill('SIGKILL'), c.kill('SIGKILL')]);
    await until('the backup tier has all the traffic', async () => (d.load().loads[1] === 100 ? true : undefined));
    const before = (await backup.stats()).total;
    const onBackup = await load(d, 2_000);
    expectNoFailure(onBackup);
    expect((await backup.stats()).total - before).toBeGreaterThanOrEqual(onBackup.sent); // every one served by the backup
    await Promise.all([a.restart(), b.restart(), c.restart()]);
    await until('the primaries are back', async () => (d.load().loads[0] === 100 ? true : undefined));
    const settled = (await backup.stats()).total;
    expectNoFailure(await load(d, 2_000));
    expect((await backup.stats()).total).toBe(settled); // the primaries took everything back
  });

  it('drain: a host whose readiness says 503 gets no new requests once its check sees it', async () => {
    const [a, b, c] = (await upstreams(3)) as [Upstream, Upstream, Upstream];
    const d = dispatcher([[a, b, c]]);
    const drained = new Promise((resolve) =>
      d.on('health' as never, ((e: { origin: string; reason: string }) => e.reason === 'drain' && resolve(e)) as never),
    );
    const first = load(d, 8_000, [{ name: 'drain', atMs: 1_000, run: () => c.setMode('drain') }]);
    await drained;
    await new Promise((r) => setTimeout(r, 500)); // requests already sent to it finish
    const served = (await c.stats()).byMode.drain;
    expectNoFailure(await first);
    expect((await c.stats()).byMode.drain).toBe(served);
  });

  it('a host flapping between ok and 503 every 2 s: no GET fails', async () => {
    const [a, b, c] = (await upstreams(3)) as [Upstream, Upstream, Upstream];
    const d = dispatcher([[a, b, c]]);
    const flaps: LoadEvent[] = Array.from({ length: 5 }, (_, i) => ({
      name: `flap${i}`,
      atMs: 1_000 + i * 2_000,
      run: () => c.setMode(i % 2 === 0 ? '503' : 'ok'),
    }));
    expectNoFailure(await load(d, 11_000, flaps));
  });

  it(`1 % random errors on every host for ${FLAKY_MS / 1000} s: nothing is ejected and no GET fails`, async () => {
    const list = (await upstreams(3)) as [Upstream, Upstream, Upstream];
    await Promise.all(list.map((u) => u.setMode('flaky')));
    const d = dispatcher([list]);
    const seen = watch(d);
    const result = await load(d, FLAKY_MS);
    expectNoFailure(result);
    expect(seen.filter((e) => e.event === 'eject')).toEqual([]);
    const errors = (await Promise.all(list.map((u) => u.stats()))).reduce((n, s) => n + s.errors, 0);
    expect(errors).toBeGreaterThan(0); // the errors really happened, and were retried
  });
});
