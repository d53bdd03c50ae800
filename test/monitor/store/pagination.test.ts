/** Pages of checks by a cursor unique per row: checks of one millisecond neither split nor repeat. */
import { sql } from 'kysely';
import { describe, expect, test } from 'vitest';
import { migrate } from '../../../src/monitor/store/migrations.js';
import type { ProbeCursor, ProbeRecord, Store } from '../../../src/monitor/store/types.js';
import { backends, batch, useStores } from './backends.js';

const T0 = Date.UTC(2025, 0, 1);

/** Every check of `component`, following `next` from `start` in pages of `limit`. */
async function readAll(store: Store, component: string, limit: number, start?: number): Promise<ProbeRecord[]> {
  const out: ProbeRecord[] = [];
  let before: number | ProbeCursor | undefined = start;
  for (;;) {
    const page = await store.checks(component, { limit, ...(before === undefined ? {} : { before }) });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    out.push(...page.items);
    if (page.next === null) return out;
    before = page.next;
  }
}

describe.each(backends)('$name store, paging checks', (backend) => {
  const it = test.skipIf(backend.skip);
  const stores = useStores(backend);

  it('covers 1,000 checks of one millisecond in pages of 7, each exactly once, newest written first', async () => {
    const store = await stores.open();
    // durationMs numbers the rows: 1,000 at T0 between a few older and newer ones, over two batches
    const at = (time: number, n: number): ProbeRecord => ({ component: 'api', time, durationMs: n, status: 'healthy' });
    const older = [at(T0 - 2, 2000), at(T0 - 1, 2001)];
    const same = Array.from({ length: 1_000 }, (_, i) => at(T0, i));
    const newer = [at(T0 + 1, 2002)];
    await store.write(batch({ checks: [...older, ...same.slice(0, 400)] }));
    await store.write(batch({ checks: [...same.slice(400), ...newer] }));
    await store.write(batch({ checks: [at(T0, 5000)].map((c) => ({ ...c, component: 'other' })) }));
    const all = await readAll(store, 'api', 7);
    // time descending; within a millisecond, the later written first
    expect(all.map((c) => c.durationMs)).toEqual([2002, ...same.map((c) => c.durationMs).reverse(), 2001, 2000]);
    expect(new Set(all.map((c) => c.durationMs)).size).toBe(1_003);
    // a time as `before` still means "started before it"
    expect((await readAll(store, 'api', 7, T0)).map((c) => c.durationMs)).toEqual([2001, 2000]);
    expect((await readAll(store, 'api', 7, T0 + 1)).length).toBe(1_002);
    expect(await store.checks('api', { limit: 1_003 })).toMatchObject({ next: null });
  });

  it('gives every check stored before row ids its own id on upgrade, keeping them all', async () => {
    const old = await stores.raw();
    await migrate(old, '0002_incident_error');
    await sql`insert into components (name) values ('api')`.execute(old.db);
    for (let i = 0; i < 30; i++) {
      await sql`insert into checks (component_id, time, duration_ms, status, error) values (1, ${T0 + (i % 3)}, ${i}, 0, null)`.execute(
        old.db,
      );
    }
    await old.db.destroy();
    const store = await stores.open();
    const all = await readAll(store, 'api', 4);
    expect(all.map((c) => c.time)).toEqual([...Array(10).fill(T0 + 2), ...Array(10).fill(T0 + 1), ...Array(10).fill(T0)]);
    expect(all.map((c) => c.durationMs).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    await store.write(batch({ checks: [{ component: 'api', time: T0 + 2, durationMs: 99, status: 'healthy' }] }));
    expect((await store.checks('api', { limit: 1 })).items[0]?.durationMs).toBe(99); // new ids follow the old ones
  });
});
