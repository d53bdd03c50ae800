/** The monitor's write buffer on a real SQLite store: what it holds, what it drops, what it writes. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/monitor/store/open.js';
import type { ComponentState, Store } from '../../src/monitor/store/types.js';
import { WriteBuffer } from '../../src/monitor/write-buffer.js';

const T0 = Date.UTC(2025, 0, 1);
const idle = { openSince: undefined, failures: 0, failingSince: undefined, passes: 0, passingSince: undefined };
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function sqlite(): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'nines-buffer-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openStore(`sqlite:${join(dir, 'nines.db')}`);
  cleanup.push(() => store.close());
  await store.migrate();
  return store;
}

function buffer(store: Store, max = 100) {
  const seen = { dropped: [] as number[], rejected: [] as string[], outages: 0 };
  const state = (component: string): ComponentState => ({ component, firstCheckAt: T0, lastCheckAt: T0 + 60_000, tracker: idle });
  const b = new WriteBuffer({
    store,
    maxBufferedChecks: max,
    stateOf: state,
    onDropped: (n) => seen.dropped.push(n),
    onRejected: (row) => seen.rejected.push(`${row.kind}:${row.component}`),
    onOutage: () => seen.outages++,
  });
  return { b, seen };
}

const check = (i: number, status: 'healthy' | 'unhealthy' = 'healthy') => ({
  component: 'api',
  time: T0 + i * 1000,
  durationMs: 3,
  status,
});

describe('WriteBuffer', () => {
  it('writes checks, incidents, gaps and the state of every component it saw, in one flush', async () => {
    const store = await sqlite();
    const { b, seen } = buffer(store);
    for (let i = 0; i < 10; i++) b.check(check(i, i >= 4 && i < 7 ? 'unhealthy' : 'healthy'));
    b.opened('api', T0 + 4000, 'refused');
    b.resolved('api', T0 + 4000, T0 + 7000);
    b.gap('api', { from: T0 + 20_000, to: T0 + 30_000 });
    expect(b.oldestUnwritten(T0 + 5000)).toBe(T0);
    await b.flush();
    expect(b.oldestUnwritten(T0 + 5000)).toBe(T0 + 5000);
    expect((await store.checks('api', { limit: 100 })).items).toHaveLength(10);
    const timeline = await store.timeline('api', T0, T0 + 60_000);
    expect(timeline.incidents.map((i) => [i.start, i.end])).toEqual([[T0 + 4000, T0 + 7000]]);
    expect(timeline.gaps).toEqual([{ from: T0 + 20_000, to: T0 + 30_000 }]);
    expect((await store.states()).map((s) => s.component)).toEqual(['api']);
    expect(seen).toEqual({ dropped: [], rejected: [], outages: 0 });
  });

  it('past its cap drops the oldest raw checks down to 90 % of it, and never an incident', async () => {
    const store = await sqlite();
    const { b, seen } = buffer(store, 100);
    b.opened('api', T0, 'refused');
    for (let i = 0; i <= 100; i++) b.check(check(i));
    expect(seen.dropped).toEqual([11]);
    expect(b.oldestUnwritten(Number.POSITIVE_INFINITY)).toBe(T0 + 11_000);
    await b.flush();
    const stored = (await store.checks('api', { limit: 1000 })).items.map((c) => c.time);
    expect(stored).toHaveLength(90);
    expect(Math.min(...stored)).toBe(T0 + 11_000);
    expect((await store.timeline('api', T0, T0 + 200_000)).incidents).toHaveLength(1);
  });

  it('a flush called while one is in flight waits for a write that holds what came before the call', async () => {
    const store = await sqlite();
    const { b } = buffer(store);
    b.check(check(0));
    const first = b.flush();
    b.check(check(1));
    const second = b.flush();
    const third = b.flush();
    expect(third).toBe(second);
    await second;
    expect((await store.checks('api', { limit: 10 })).items).toHaveLength(2);
    await first;
  });
});
