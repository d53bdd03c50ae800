import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/index.js';
import { Quorum, type QuorumRule, tally } from '../../../src/monitor/ha/quorum.js';
import type { Vote } from '../../../src/monitor/ownership.js';
import { createProbe } from '../../../src/monitor/probe.js';
import { type AddressTarget, startAddressTarget } from '../../support/address-target.js';
import { hasPostgres } from '../../support/services.js';
import { Cluster } from './cluster.js';

const pgUp = await hasPostgres();

describe('tally', () => {
  const two: QuorumRule = { k: 2, whenInsufficient: 'open' };
  const v = (location: string, failed: boolean) => ({ location, failed });

  it('counts distinct failing locations: a location fails when any of its instances saw the failure', () => {
    expect(tally([v('a', true), v('b', false), v('c', false)], two, 3, false)).toEqual({
      down: false,
      failing: ['a'],
      of: 3,
      insufficient: false,
    });
    expect(tally([v('a', true), v('b', false), v('b', true)], two, 2, false)).toMatchObject({ down: true, failing: ['a', 'b'], of: 2 });
  });

  it('waits until k failed or every expected location answered, unless final', () => {
    expect(tally([v('a', true)], two, 3, false)).toBeUndefined();
    expect(tally([v('a', true), v('b', false)], two, 3, false)).toBeUndefined();
    expect(tally([v('a', true), v('b', true)], two, 3, false)).toMatchObject({ down: true, of: 2 }); // k reached: no need to wait
    expect(tally([v('a', true), v('b', false)], two, 3, true)).toMatchObject({ down: false, failing: ['a'], of: 2 });
  });

  it('fewer than k answers: open counts the failure when every answer failed; hold never does', () => {
    const alone = [v('a', true)];
    expect(tally(alone, two, 3, true)).toEqual({ down: true, failing: ['a'], of: 1, insufficient: true });
    expect(tally(alone, { k: 2, whenInsufficient: 'hold' }, 3, true)).toEqual({ down: false, failing: ['a'], of: 1, insufficient: true });
    expect(tally([v('a', false)], two, 1, true)).toMatchObject({ down: false, failing: [], insufficient: true });
  });
});

describe.skipIf(!pgUp)('Quorum on PostgreSQL, voting through real probes from their own source addresses', () => {
  let cluster: Cluster;
  let target: AddressTarget;
  const quorums: Quorum[] = [];
  const errors: Error[] = [];

  beforeEach(async () => {
    cluster = new Cluster();
    target = await startAddressTarget();
    errors.length = 0;
  });
  afterEach(async () => {
    for (const q of quorums.splice(0)) await q.stop();
    await cluster.close();
    await target.close();
  });

  /** The http check of `api` on the target, probed from `source`. */
  function probeFrom(source: string): (component: string) => Promise<Vote> | undefined {
    const parsed = parseConfig(
      `components: [{ name: api, timeout: 900ms, degradedAfter: 800ms, check: { type: http, url: "${target.url}/" } }]\n`,
      { env: {} },
    );
    if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    const probe = createProbe(parsed.config.components[0] as (typeof parsed.config.components)[number], { sourceAddress: source });
    return (component) => (component === 'api' ? probe().then((r) => ({ failed: r.status === 'unhealthy', error: r.error })) : undefined);
  }

  /** Starts `instance` in `location` (a live instance row, through its lease manager) with a quorum probing from `source`. */
  async function member(
    instance: string,
    location: string,
    source: string,
    options: Partial<QuorumRule> & { confirmTimeout?: number; probe?: (c: string) => Promise<Vote> | undefined } = {},
  ): Promise<Quorum> {
    await cluster.start(instance, { location }, undefined, []);
    const quorum = new Quorum({
      pool: cluster.pools.get(instance) as never,
      schema: cluster.schema,
      instance,
      location,
      k: options.k ?? 2,
      whenInsufficient: options.whenInsufficient ?? 'open',
      // long: a round that ends before it did so because every location answered or k failed
      confirmTimeout: options.confirmTimeout ?? 60_000,
      probe: options.probe ?? probeFrom(source),
      onError: (error) => errors.push(error),
    });
    await quorum.start();
    quorums.push(quorum);
    return quorum;
  }

  const votes = async () => {
    const { rows } = await cluster.admin.query(
      `SELECT v.instance, v.location, v.failed, v.error FROM "${cluster.schema}".nines_ha_votes v ORDER BY v.instance`,
    );
    return rows;
  };

  it('one failing path: the other two locations pass, so it is not down (1 of 3 failing)', async () => {
    const a = await member('a', 'zone-a', '127.0.0.2');
    await member('b', 'zone-b', '127.0.0.3');
    await member('c', 'zone-c', '127.0.0.4');
    target.failing.add('127.0.0.2');
    const verdict = await a.confirm('api', { failed: true, error: 'HTTP 503' }, 'open');
    expect(verdict).toEqual({ down: false, failing: ['zone-a'], of: 3, insufficient: false });
    expect(target.seen.get('127.0.0.3')).toBe(1);
    expect(target.seen.get('127.0.0.4')).toBe(1);
    expect(await votes()).toEqual([
      { instance: 'a', location: 'zone-a', failed: true, error: 'HTTP 503' },
      { instance: 'b', location: 'zone-b', failed: false, error: null },
      { instance: 'c', location: 'zone-c', failed: false, error: null },
    ]);
    expect(errors).toEqual([]);
  });

  it('a real outage: every path fails, and the round ends as soon as k locations failed', async () => {
    const a = await member('a', 'zone-a', '127.0.0.2');
    await member('b', 'zone-b', '127.0.0.3');
    await member('c', 'zone-c', '127.0.0.4');
    for (const ip of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) target.failing.add(ip);
    const verdict = await a.confirm('api', { failed: true }, 'open');
    expect(verdict.down).toBe(true);
    expect(verdict.failing.length).toBeGreaterThanOrEqual(2);
    expect(verdict.failing).toContain('zone-a');
    expect((await votes()).filter((v) => v.failed === false)).toEqual([]);
  });

  it('a resolution round: fewer than k failing, so not down any more', async () => {
    const a = await member('a', 'zone-a', '127.0.0.2');
    await member('b', 'zone-b', '127.0.0.3');
    await member('c', 'zone-c', '127.0.0.4');
    target.failing.add('127.0.0.4');
    expect(await a.confirm('api', { failed: false }, 'resolve')).toEqual({ down: false, failing: ['zone-c'], of: 3, insufficient: false });
  });

  it('instances in the owner’s location do not vote; two in another location count as one location', async () => {
    const a = await member('a', 'zone-a', '127.0.0.2');
    await member('a2', 'zone-a', '127.0.0.5');
    await member('b', 'zone-b', '127.0.0.3');
    await member('b2', 'zone-b', '127.0.0.6');
    target.failing.add('127.0.0.2');
    target.failing.add('127.0.0.5');
    const verdict = await a.confirm('api', { failed: true }, 'open');
    expect(verdict).toMatchObject({ down: false, failing: ['zone-a'], of: 2 });
    expect(target.seen.get('127.0.0.5')).toBeUndefined(); // same location as the owner: never asked
    expect(target.seen.get('127.0.0.3') ?? 0).toBeLessThanOrEqual(1);
  });

  it('alone in its location: open decides on its own check, hold keeps it from opening', async () => {
    const open = await member('a', 'zone-a', '127.0.0.2');
    expect(await open.confirm('api', { failed: true }, 'open')).toEqual({ down: true, failing: ['zone-a'], of: 1, insufficient: true });
    const hold = await member('h', 'zone-a', '127.0.0.2', { whenInsufficient: 'hold' });
    expect(await hold.confirm('api', { failed: true }, 'open')).toMatchObject({ down: false, insufficient: true });
  });

  it('a location that does not answer by confirmTimeout is left out; its late vote is not stored', async () => {
    let release: (v: Vote) => void = () => {};
    const late = new Promise<Vote>((resolve) => {
      release = resolve;
    });
    const a = await member('a', 'zone-a', '127.0.0.2', { confirmTimeout: 1_000 });
    await member('b', 'zone-b', '127.0.0.3', { probe: () => late });
    await member('c', 'zone-c', '127.0.0.4');
    target.failing.add('127.0.0.2');
    const verdict = await a.confirm('api', { failed: true }, 'open');
    expect(verdict).toEqual({ down: false, failing: ['zone-a'], of: 2, insufficient: false });
    release({ failed: true });
    // the late vote's insert finds the round past its deadline: poll until b's attempt has run
    await new Promise((r) => setTimeout(r, 200));
    expect((await votes()).map((v) => v.instance)).toEqual(['a', 'c']);
  });
});
