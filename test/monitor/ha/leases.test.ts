import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { fenceGuard, type LeaseLost, LeaseManager, type LeasePool } from '../../../src/monitor/ha/index.js';
import { Rendezvous } from '../../../src/monitor/ha/rendezvous.js';
import { hasPostgres } from '../../support/services.js';
import { Cluster, components, shares } from './cluster.js';

const pgUp = await hasPostgres();

describe('LeaseManager options', () => {
  // only validation runs: nothing is sent to this pool
  const pool = { connect: async () => ({}), query: async () => ({ rows: [] }) } as unknown as LeasePool;
  const base = { pool, instance: 'a', location: 'here', components: ['x'] };

  it('refuses a renew deadline at or past the lease ttl, and a heartbeat at or past the deadline', () => {
    expect(() => new LeaseManager({ ...base, leaseTtl: 5_000, renewDeadline: 5_000 })).toThrow(
      /renewDeadline must be below leaseTtl .* got 5000 >= 5000/,
    );
    expect(() => new LeaseManager({ ...base, leaseTtl: 5_000, renewDeadline: 9_000 })).toThrow(/renewDeadline must be below leaseTtl/);
    expect(() => new LeaseManager({ ...base, heartbeat: 7_000 })).toThrow(/heartbeat must be below renewDeadline .* got 7000 >= 7000/);
    expect(() => new LeaseManager({ ...base, heartbeat: 0 })).toThrow(/heartbeat must be a number >= 1/);
  });

  it('refuses a missing pool, instance or location, and a schema that is no plain identifier', () => {
    expect(() => new LeaseManager({ ...base, pool: undefined as unknown as LeasePool })).toThrow(/pool must be a pg.Pool/);
    expect(() => new LeaseManager({ ...base, instance: '' })).toThrow(/instance must be a non-empty string/);
    expect(() => new LeaseManager({ ...base, location: undefined as unknown as string })).toThrow(/location must be/);
    expect(() => new LeaseManager({ ...base, schema: 'a"; drop' })).toThrow(/schema must match/);
  });
});

describe('rendezvous', () => {
  it('gives each component one owner, the same whatever the order of the instances', () => {
    const hrw = new Rendezvous();
    for (const c of components) expect(hrw.owner(['ha-c', 'ha-a', 'ha-b'], c)).toBe(hrw.owner(['ha-a', 'ha-b', 'ha-c'], c));
    const all = ['ha-a', 'ha-b', 'ha-c'].flatMap((i) => hrw.share(i, ['ha-a', 'ha-b', 'ha-c'], components));
    expect(all.sort()).toEqual([...components].sort());
  });
});

describe.runIf(pgUp)('LeaseManager on PostgreSQL', () => {
  let cluster: Cluster;
  afterEach(async () => {
    await cluster?.close();
  });

  it('three instances split 300 components within ±10 %; a fourth takes a quarter, and few move between the others', async () => {
    cluster = new Cluster();
    for (const name of ['ha-a', 'ha-b', 'ha-c']) await cluster.start(name);
    const three = await cluster.settled(['ha-a', 'ha-b', 'ha-c']);
    const split = shares(three);
    console.log('share of 300 among three:', split);
    for (const name of ['ha-a', 'ha-b', 'ha-c']) {
      expect(split[name]).toBeGreaterThanOrEqual(90);
      expect(split[name]).toBeLessThanOrEqual(110);
    }
    expect(three.size).toBe(300);
    expect(cluster.doubleOwned()).toEqual([]);

    await cluster.start('ha-d');
    const four = await cluster.settled(['ha-a', 'ha-b', 'ha-c', 'ha-d']);
    const moved = components.filter((c) => four.get(c)?.owner !== three.get(c)?.owner);
    const between = moved.filter((c) => four.get(c)?.owner !== 'ha-d');
    console.log(`a fourth joins: ${moved.length} of 300 moved (${between.length} between the others); shares`, shares(four));
    for (const name of ['ha-a', 'ha-b', 'ha-c', 'ha-d']) {
      expect(shares(four)[name]).toBeGreaterThanOrEqual(68); // 75 ± 10 %
      expect(shares(four)[name]).toBeLessThanOrEqual(82);
    }
    // the newcomer's share, plus the few the bounds move between the others
    expect(moved.length - between.length).toBe(shares(four)['ha-d']);
    expect(between.length).toBeLessThanOrEqual(15);
    // a component moved by a release is taken with the next fence; the others keep theirs
    for (const c of components) expect(four.get(c)?.fence).toBe((three.get(c)?.fence ?? 0) + (moved.includes(c) ? 1 : 0));
    expect(cluster.doubleOwned()).toEqual([]);
  });

  it('a restart under the same name takes its leases at once, each with the next fence; the earlier process, woken, holds none', async () => {
    cluster = new Cluster();
    const list = components.slice(0, 20);
    const before = await cluster.start('ha-a', { heartbeat: 200, leaseTtl: 5_000, renewDeadline: 3_000 }, undefined, list);
    const oldPool = cluster.pools.get('ha-a');
    const first = await cluster.settled(['ha-a'], list);
    // a second process named ha-a (the first is, say, frozen): its leases are not left to expire
    const after = await cluster.start('ha-a', { heartbeat: 200, leaseTtl: 5_000, renewDeadline: 3_000 }, undefined, list);
    try {
      const second = await until(async () => {
        const leases = await cluster.leases();
        return list.every((c) => leases.get(c)?.fence === (first.get(c)?.fence ?? 0) + 1) ? leases : undefined;
      });
      for (const c of list) expect(second.get(c)?.owner).toBe('ha-a');
      expect(after.owned()).toEqual([...list].sort());
      // the first one's next renewal finds the leases another process's: it owns nothing
      await before.heartbeat();
      expect(before.owned()).toEqual([]);
      for (const c of list) expect(before.fence(c)).toBeUndefined();
    } finally {
      await before.stop();
      await oldPool?.end();
    }
  });

  it('stop() releases at once: the others take its components with the next fence, told by NOTIFY', async () => {
    cluster = new Cluster();
    // the defaults: 2 s heartbeats and a 10 s lease; the release and NOTIFY move the components
    for (const name of ['ha-a', 'ha-b', 'ha-c']) await cluster.start(name);
    const before = await cluster.settled(['ha-a', 'ha-b', 'ha-c']);
    const b = cluster.managers.get('ha-b') as LeaseManager;
    const lost: LeaseLost[] = [];
    b.on('lost', (e) => lost.push(e));
    const held = b.owned();
    const stopAt = Date.now();
    await b.stop();
    expect(b.owned()).toEqual([]);
    expect(b.ready).toBe(false);
    expect(lost.length).toBe(held.length);
    expect(lost.every((e) => e.reason === 'stopped')).toBe(true);
    const { rows } = await cluster.admin.query(
      `SELECT count(*)::int AS n FROM "${cluster.schema}".nines_ha_instances WHERE instance = 'ha-b'`,
    );
    expect(rows[0].n).toBe(0);
    const after = await cluster.settled(['ha-a', 'ha-c']);
    console.log(`stop: ${held.length} components taken over ${Date.now() - stopAt} ms after stop() began (heartbeat 2000, leaseTtl 10000)`);
    for (const c of held) {
      expect(after.get(c)?.owner).not.toBe('ha-b');
      expect(after.get(c)?.fence).toBe((before.get(c)?.fence ?? 0) + 1);
    }
    expect(cluster.doubleOwned()).toEqual([]);
  });

  it('a crashed instance: its leases expire after leaseTtl on PostgreSQL and are taken with the next fence', async () => {
    cluster = new Cluster();
    const timing = { heartbeat: 200, leaseTtl: 2_000, renewDeadline: 1_400 };
    await cluster.start('ha-a', timing);
    await cluster.start('ha-b', timing);
    // its clock never moves: after its sessions are cut it neither heartbeats nor listens again
    await cluster.start('ha-c', timing, new ManualClock(0));
    const before = await cluster.settled(['ha-a', 'ha-b', 'ha-c']);
    const victim = [...before].filter(([, l]) => l.owner === 'ha-c').map(([c]) => c);
    expect(victim.length).toBeGreaterThan(0);
    const cutAt = Date.now();
    expect(await cluster.terminate('ha-c')).toBeGreaterThan(0);
    cluster.managers.delete('ha-c'); // a crashed process answers nothing (its stale in-memory view stays behind)
    const after = await cluster.settled(['ha-a', 'ha-b']);
    console.log(`crash: ${victim.length} components taken over ${Date.now() - cutAt} ms after the sessions were cut (leaseTtl 2000)`);
    for (const c of victim) {
      expect(['ha-a', 'ha-b']).toContain(after.get(c)?.owner);
      expect(after.get(c)?.fence).toBe((before.get(c)?.fence ?? 0) + 1);
    }
    for (const [c, l] of before) if (l.owner !== 'ha-c') expect(after.get(c)).toEqual(l); // the survivors kept theirs
  });

  it('a stalled instance stops owning at renewDeadline on its own clock, while PostgreSQL still holds its lease', async () => {
    cluster = new Cluster();
    const clock = new ManualClock(0);
    await cluster.start('ha-a');
    const v = await cluster.start('ha-v', {}, clock);
    await cluster.settled(['ha-a', 'ha-v']);
    const held = v.owned();
    const fences = new Map(held.map((c) => [c, v.fence(c)]));
    const readiness: boolean[] = [];
    v.on('ready', (r) => readiness.push(r));
    const lost: LeaseLost[] = [];
    v.on('lost', (e) => lost.push(e));

    // a partition: its next heartbeat waits on a row lock held from outside
    const blocker = await cluster.admin.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM "${cluster.schema}".nines_ha_instances WHERE instance = 'ha-v' FOR UPDATE`);
    const stalled = v.heartbeat();
    await clock.advance(6_999);
    expect(v.owns(held[0] as string)).toBe(true);
    await clock.advance(1);
    expect(held.some((c) => v.owns(c))).toBe(false);
    expect(v.fence(held[0] as string)).toBeUndefined();
    expect(v.ready).toBe(false);
    expect(readiness).toEqual([false]);
    expect(lost.map((e) => e.reason)).toEqual(held.map(() => 'deadline'));
    // ... before anyone may take over: its leases are still unexpired on PostgreSQL's clock
    const leases = await cluster.leases();
    expect(held.every((c) => leases.get(c)?.owner === 'ha-v')).toBe(true);

    await blocker.query('ROLLBACK');
    blocker.release();
    await stalled;
    await cluster.settled(['ha-a', 'ha-v']);
    expect(v.ready).toBe(true);
    expect(readiness).toEqual([false, true]);
    for (const c of held) expect(v.fence(c)).toBe(fences.get(c)); // nobody took them: the same fences
  });

  it('heartbeats at once on a NOTIFY, and listens again after its listening session was cut', async () => {
    cluster = new Cluster();
    const clock = new ManualClock(0);
    // its own timer would heartbeat only after 60 s of manual time, which never pass
    const a = await cluster.start('ha-a', { heartbeat: 60_000, leaseTtl: 600_000, renewDeadline: 500_000 }, clock);
    const errors: Error[] = [];
    a.on('error', (e) => errors.push(e));
    expect(await cluster.terminate('ha-a', true)).toBe(1);
    while (errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await clock.advance(500); // the reconnect delay
    while (!(await cluster.listening('ha-a'))) await new Promise((resolve) => setTimeout(resolve, 20));
    // the join's NOTIFY makes ha-a release ha-b's share, whose own NOTIFY then lets ha-b claim it
    await cluster.start('ha-b', { heartbeat: 60_000, leaseTtl: 600_000, renewDeadline: 500_000 }, clock);
    const leases = await cluster.settled(['ha-a', 'ha-b']);
    expect(Object.keys(shares(leases)).sort()).toEqual(['ha-a', 'ha-b']);
  });

  it('instances that start together create the tables once and converge', async () => {
    cluster = new Cluster();
    await Promise.all(['ha-a', 'ha-b', 'ha-c'].map((name) => cluster.start(name)));
    expect((await cluster.settled(['ha-a', 'ha-b', 'ha-c'])).size).toBe(300);
    expect(cluster.doubleOwned()).toEqual([]);
  });

  it('setComponents moves the share at once: a removed component is released, a new one claimed', async () => {
    cluster = new Cluster();
    const list = components.slice(0, 20);
    await cluster.start('ha-a', {}, undefined, list);
    await cluster.start('ha-b', {}, undefined, list);
    await cluster.settled(['ha-a', 'ha-b'], list);
    const next = [...list.slice(5), 'new-1', 'new-2'];
    for (const m of cluster.managers.values()) m.setComponents(next);
    const leases = await cluster.settled(['ha-a', 'ha-b'], next);
    for (const c of list.slice(0, 5)) expect(leases.has(c)).toBe(false);
  });

  it('the fence guard refuses the write of a stale owner and lets the current one write', async () => {
    cluster = new Cluster();
    const a = await cluster.start('ha-a', {}, undefined, ['web']);
    await cluster.settled(['ha-a'], ['web']);
    const fence = a.fence('web') as number;
    const results = `"${cluster.schema}".results`;
    await cluster.admin.query(`CREATE TABLE ${results} (component text, writer text, fence bigint)`);
    const write = (owner: string, f: number) =>
      cluster.admin.query(`INSERT INTO ${results} SELECT $1, $2, $3 WHERE ${fenceGuard(cluster.schema, 1)}`, ['web', owner, f]);
    expect((await write('ha-a', fence)).rowCount).toBe(1);
    expect((await write('ha-a', fence + 1)).rowCount).toBe(0); // a fence it never held
    const b = await cluster.start('ha-b', {}, undefined, ['web']);
    await a.stop();
    await cluster.settled(['ha-b'], ['web']);
    expect(b.fence('web')).toBe(fence + 1);
    expect((await write('ha-a', fence)).rowCount).toBe(0); // the old owner, its fence now stale
    expect((await write('ha-b', fence)).rowCount).toBe(0); // the new owner with the old fence
    expect((await write('ha-b', fence + 1)).rowCount).toBe(1);
    const { rows } = await cluster.admin.query(`SELECT writer, fence FROM ${results} ORDER BY fence`);
    expect(rows.map((r) => [r.writer, Number(r.fence)])).toEqual([
      ['ha-a', fence],
      ['ha-b', fence + 1],
    ]);
  });
});

/** Polls `fn` every 20 ms until it gives something; the test's own timeout is the only deadline. */
async function until<T>(fn: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
