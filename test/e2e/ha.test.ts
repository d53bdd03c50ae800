/**
 * Three real `nines serve` processes with `ha:` on one PostgreSQL schema share 12 components
 * (issue #20): each component is checked by one instance, on its grid; the others show its status
 * from the store; a `kill -9` and a SIGTERM hand the instance's components to the rest. Times are
 * the stored checks' (one machine, one clock); the takeover figures are printed, the targets are
 * `npm run test:chaos`'s to hold (no wall-clock bound is asserted here).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstSlot } from '../../src/monitor/scheduler.js';
import { bin, ensureBuilt, exitOf, freePort, startServing, until } from '../support/e2e.js';
import { dropSchema, hasPostgres, pgUrl, uniqueName } from '../support/services.js';
import { startUpstreams, type Upstream } from '../support/upstream.js';

const COMPONENTS = Array.from({ length: 12 }, (_, i) => `svc-${i}`);
const INTERVAL = 1000;

describe.runIf(await hasPostgres())('nines serve with ha: three instances on one PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nines-ha-'));
  const schema = uniqueName('e2e_ha');
  const db = new pg.Pool({ connectionString: pgUrl, max: 2 });
  const procs = new Map<string, Awaited<ReturnType<typeof startServing>>>();
  const bases = new Map<string, string>();
  // the target in a process of its own, so a stall of this one fails no check
  let target: Upstream | undefined;
  let origin = '';

  beforeAll(async () => {
    ensureBuilt();
    [target] = await startUpstreams(1);
    origin = target?.origin ?? '';
  });
  afterAll(async () => {
    for (const s of procs.values()) {
      s.proc.kill('SIGKILL');
      await exitOf(s.proc);
    }
    await target?.close();
    await db.end();
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  async function start(name: string): Promise<void> {
    const port = await freePort();
    const config = join(dir, `${name}.yaml`);
    const components = COMPONENTS.map(
      (c) => `  - { name: ${c}, check: { type: http, url: '${origin}/${c}' }, interval: 1s, timeout: 900ms, degradedAfter: 800ms }`,
    ).join('\n');
    writeFileSync(
      config,
      `server: { port: ${port} }
storage: '${pgUrl}?schema=${schema}'
ha: { instance: ${name}, heartbeat: 500ms, leaseTtl: 3s, renewDeadline: 2s }
components:
${components}
`,
    );
    procs.set(name, await startServing([bin, 'serve', '--config', config], { timeoutMs: 60_000 }));
    bases.set(name, `http://127.0.0.1:${port}`);
  }

  const metric = async (name: string, metricName: string): Promise<number | undefined> => {
    const text = await (await fetch(`${bases.get(name)}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${metricName} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };
  const owners = async () =>
    new Map(
      (await db.query(`SELECT component, owner FROM ${schema}.nines_ha_leases WHERE expires_at > now()`)).rows.map((r) => [
        String(r.component),
        r.owner === null ? undefined : String(r.owner),
      ]),
    );
  /** Waits until each of `names` is leased to one of `to`. */
  const leasedTo = (label: string, names: readonly string[], to: readonly string[], timeoutMs = 60_000) =>
    until(
      label,
      async () => {
        const o = await owners();
        return names.every((n) => to.includes(o.get(n) ?? '')) ? true : undefined;
      },
      timeoutMs,
    );
  /** Checks stored per component after `since` (epoch ms). */
  const checksSince = async (since: number) =>
    (
      await db.query(
        `SELECT c.name, k.time::float8 AS time FROM ${schema}.checks k JOIN ${schema}.components c ON c.id = k.component_id WHERE k.time > $1 ORDER BY k.time`,
        [since],
      )
    ).rows.map((r) => ({ name: String(r.name), time: Number(r.time) }));
  /** Checks of one component in one slot of its grid: two means it was checked twice. */
  const duplicates = async () => {
    const seen = new Map<string, number>();
    for (const { name, time } of await checksSince(0)) {
      const slot = Math.floor((time - firstSlot(name, INTERVAL, 0)) / INTERVAL);
      const key = `${name}@${slot}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
  };
  /** Every component has a check after `since`, or undefined; the first such check of each. */
  const allCheckedAfter = async (since: number, names: readonly string[]) => {
    const first = new Map<string, number>();
    for (const { name, time } of await checksSince(since)) if (!first.has(name)) first.set(name, time);
    return names.every((n) => first.has(n)) ? first : undefined;
  };

  it('shares the components: each is leased to one instance, all are checked, none twice', async () => {
    await Promise.all(['a', 'b', 'c'].map(start));
    const held = await until(
      'every component and job leased',
      async () => {
        const o = await owners();
        return [...COMPONENTS, 'nines:alerts', 'nines:backups'].every((c) => o.get(c) !== undefined) ? o : undefined;
      },
      60_000,
    );
    const share = (n: string) => COMPONENTS.filter((c) => held.get(c) === n).length;
    expect(share('a') + share('b') + share('c')).toBe(COMPONENTS.length);
    for (const n of ['a', 'b', 'c']) expect(share(n), `share of ${n}`).toBeGreaterThan(0);
    // each instance reports its share, and is ready
    for (const n of ['a', 'b', 'c']) {
      await until(`${n}'s owned gauge`, async () => ((await metric(n, 'nines_ha_owned_components')) === share(n) ? true : undefined));
      expect(await metric(n, 'nines_ha_ready')).toBe(1);
      // ready once its components have results (readiness is 503 while a critical one is unknown)
      await until(`${n} ready`, async () => ((await fetch(`${bases.get(n)}/readiness`)).status === 200 ? true : undefined));
    }
    const startedAt = Date.now();
    await until('every component checked', () => allCheckedAfter(startedAt, COMPONENTS), 30_000);
    expect(await duplicates()).toEqual([]);
  });

  it('shows on every instance the status of the components the others check', async () => {
    for (const n of ['a', 'b', 'c']) {
      const statuses = await until(`${n} to show every component`, async () => {
        const body = (await (await fetch(`${bases.get(n)}/api/components`)).json()) as {
          components: Array<{ name: string; status: string }>;
        };
        return body.components.every((c) => c.status === 'healthy') ? body.components : undefined;
      });
      expect(statuses.map((c) => c.name).sort()).toEqual([...COMPONENTS].sort());
    }
  });

  it('gives a killed instance its components to the others, which go on checking them', async () => {
    const before = await owners();
    const orphans = COMPONENTS.filter((c) => before.get(c) === 'b');
    const b = procs.get('b');
    b?.proc.kill('SIGKILL');
    if (b !== undefined) await exitOf(b.proc);
    procs.delete('b');
    const killedAt = Date.now();
    await leasedTo("b's components leased to a or c", orphans, ['a', 'c']);
    const first = await until("b's components checked again", () => allCheckedAfter(killedAt, orphans), 60_000);
    const takeover = Math.max(...[...first.values()].map((t) => t - killedAt));
    console.log(`ha e2e: kill -9 of b (${orphans.length} components): every one checked again ${takeover} ms after (leaseTtl 3 s)`);
    expect(await duplicates()).toEqual([]);
    // the time no instance held them is unobserved: a gap each, ending after the kill; no incident
    await until("the new owners' gaps flushed", async () => {
      const { rows } = await db.query(
        `SELECT DISTINCT c.name FROM ${schema}.gaps g JOIN ${schema}.components c ON c.id = g.component_id WHERE g.to_ms > $1`,
        [killedAt],
      );
      return orphans.every((o) => rows.some((r) => r.name === o)) ? true : undefined;
    });
    expect((await db.query(`SELECT component_id FROM ${schema}.incidents`)).rows).toEqual([]);
  });

  it('takes the components of an instance stopped with SIGSTOP; woken, it writes nothing under its old leases', async () => {
    const before = await owners();
    const frozen = COMPONENTS.filter((c) => before.get(c) === 'c');
    const c = procs.get('c');
    c?.proc.kill('SIGSTOP');
    const stoppedAt = Date.now();
    try {
      await leasedTo("the frozen c's components leased to a", frozen, ['a']);
      await until("c's components checked by a", () => allCheckedAfter(stoppedAt, frozen), 60_000);
    } finally {
      c?.proc.kill('SIGCONT');
    }
    // woken: past its renew deadline it checks nothing until it renews, then takes its share back
    const wokenAt = Date.now();
    await leasedTo('c holding its share again', frozen, ['c']);
    await until("c's components checked after it woke", () => allCheckedAfter(wokenAt, frozen), 60_000);
    expect(await duplicates()).toEqual([]);
    expect(await metric('c', 'nines_ha_duplicate_checks_total')).toBe(0);
    console.log(
      `ha e2e: SIGSTOP of c (${frozen.length} components): rows it had buffered, left out as stale when it woke: ${await metric('c', 'nines_ha_stale_writes_total')}`,
    );
    expect((await db.query(`SELECT component_id FROM ${schema}.incidents`)).rows).toEqual([]);
  });

  it('hands over at once on SIGTERM: the leases are released, not left to expire', async () => {
    const before = await owners();
    const handed = COMPONENTS.filter((c) => before.get(c) === 'c');
    const c = procs.get('c');
    c?.proc.kill('SIGTERM');
    const code = c === undefined ? null : await exitOf(c.proc);
    procs.delete('c');
    expect(code).toBe(0);
    // released on the way out, not left to expire: no lease is c's, its instance row is gone
    const left = await db.query(`SELECT component FROM ${schema}.nines_ha_leases WHERE owner = 'c'`);
    expect(left.rows).toEqual([]);
    const instances = (await db.query(`SELECT instance FROM ${schema}.nines_ha_instances`)).rows.map((r) => String(r.instance));
    expect(instances).not.toContain('c');
    const stoppedAt = Date.now();
    await leasedTo("c's components leased to a", [...COMPONENTS, 'nines:alerts', 'nines:backups'], ['a'], 30_000);
    const first = await until("c's components checked by a", () => allCheckedAfter(stoppedAt, handed), 30_000);
    const handover = Math.max(...[...first.values()].map((t) => t - stoppedAt));
    console.log(`ha e2e: SIGTERM of c (${handed.length} components): every one checked again within ${handover} ms of its exit`);
    expect(await duplicates()).toEqual([]);
    await until("a's owned gauge at all", async () =>
      (await metric('a', 'nines_ha_owned_components')) === COMPONENTS.length ? true : undefined,
    );
    // every check was scheduled, so each is stored with its slot, and no write met a stored slot
    const unslotted = await db.query(`SELECT count(*)::int AS n FROM ${schema}.checks WHERE scheduled_ms IS NULL`);
    expect(unslotted.rows[0].n).toBe(0);
    expect(await metric('a', 'nines_ha_duplicate_checks_total')).toBe(0);
    console.log(`ha e2e: rows left out as stale by a: ${await metric('a', 'nines_ha_stale_writes_total')}`);
  });

  it('refuses ha on SQLite storage with exit 2 and the reason, starting nothing', async () => {
    const config = join(dir, 'sqlite.yaml');
    writeFileSync(
      config,
      `storage: 'sqlite:${join(dir, 'x.db')}'
ha: { instance: a }
components:
  - { name: web, check: { type: http, url: '${origin}/' } }
`,
    );
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [bin, 'serve', '--config', config], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('ha: needs PostgreSQL storage');
  });
});
