/**
 * The HA monitor under chaos (issue #20 §3): three, then four, real `nines serve` processes on one
 * PostgreSQL schema, each in its own location and probing from its own loopback address, against
 * a target process that fails requests by client address or by path. A seeded driver acts every
 * 15–30 s: `kill -9` and restart, `SIGSTOP` for 20 s, SIGTERM and restart, `pg_terminate_backend`
 * of one instance's sessions, a fourth instance added or removed. Then, calm: a failure of one
 * path (k = 2 of 3: no incident, partial), a real outage of some components, every instance
 * stopped for a while, and a single instance for the CPU baseline. Assertions are SQL over the
 * stored results (a trigger audits every stored check against the lease at its commit) and the
 * metrics.
 *
 * `npm test` runs it shortened (60 components, about two minutes) and asserts what must hold
 * whatever the machine's speed. `npm run test:chaos` runs it in full (300 components at 1 s, 10
 * minutes of chaos) and asserts the issue's timing targets too, printing them as one JSON line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstSlot } from '../../src/monitor/scheduler.js';
import { type AddressTargetProcess, startAddressTargetProcess } from '../support/address-target.js';
import { bin, ensureBuilt, exitOf, freePort, startServing, until } from '../support/e2e.js';
import { random } from '../support/random.js';
import { dropSchema, hasPostgres, pgUrl, uniqueName } from '../support/services.js';

const FULL = process.env.NINES_CHAOS === 'full';
const N = FULL ? 300 : 60;
const CHAOS_MS = FULL ? 10 * 60_000 : 0; // shortened: each action once, in one order
/** A killed instance comes back after this: past leaseTtl + a heartbeat, so the others take its share first. */
const RESTART_AFTER_KILL_MS = 15_000;
const STOPPED_MS = FULL ? 60_000 : 12_000;
const BASELINE_MS = FULL ? 60_000 : 12_000;
const SIGSTOP_MS = 20_000;
const INTERVAL = 1_000;
const TIMEOUT = 900;
const FAILURES_TO_OPEN = 3;
// the defaults: the issue's 12 s after a kill -9 is leaseTtl + a heartbeat
const HEARTBEAT = 2_000;
const LEASE_TTL = 10_000;
const SEED = Number(process.env.NINES_CHAOS_SEED ?? 20);
const COMPONENTS = Array.from({ length: N }, (_, i) => `c${String(i).padStart(3, '0')}`);
const ADDRESS = { a: '127.0.0.2', b: '127.0.0.3', c: '127.0.0.4', d: '127.0.0.5' } as const;
type Name = keyof typeof ADDRESS;
type Action = 'kill9' | 'sigstop' | 'sigterm' | 'pgterm' | 'add' | 'remove';

interface Proc {
  proc: Awaited<ReturnType<typeof startServing>>['proc'];
  output: () => string;
  base: string;
}

/** CPU time (user + system) of `pid` in ms, from /proc (Linux; clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

describe.runIf(await hasPostgres())('the HA monitor under chaos', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nines-chaos-'));
  const schema = uniqueName('chaos');
  const single = uniqueName('chaos1');
  const db = new pg.Pool({ connectionString: pgUrl, max: 3 });
  const procs = new Map<Name, Proc>();
  const rand = random(SEED);
  let target: AddressTargetProcess;
  /** Highest value of each counter seen per process (a killed process takes its counters with it). */
  const counters = new Map<string, number>();
  const events: Array<{ action: Action; instance: Name; at: number; orphans: string[] }> = [];
  const figures: Record<string, unknown> = {};
  let sampling: ReturnType<typeof setInterval> | undefined;

  beforeAll(async () => {
    ensureBuilt();
    target = await startAddressTargetProcess();
  });
  afterAll(async () => {
    clearInterval(sampling);
    for (const p of procs.values()) {
      p.proc.kill('SIGCONT');
      p.proc.kill('SIGKILL');
      await exitOf(p.proc);
    }
    await target?.close();
    await db.end();
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(schema);
    await dropSchema(single);
    console.log(`ha chaos: ${JSON.stringify({ full: FULL, components: N, seed: SEED, ...figures })}`);
  });

  function configFor(name: Name | 'single'): string {
    const ha =
      name === 'single'
        ? ''
        : `ha:
  instance: ${name}
  location: zone-${name}
  sourceAddress: ${ADDRESS[name]}
  heartbeat: ${HEARTBEAT}ms
  leaseTtl: ${LEASE_TTL}ms
  quorum: { k: 2, confirmTimeout: 3s }
`;
    const storage = name === 'single' ? `${pgUrl}?schema=${single}` : `${pgUrl}?schema=${schema}&application_name=nines-${name}`;
    return `server: { port: PORT }
storage: '${storage}'
${ha}defaults: { interval: ${INTERVAL}ms, timeout: ${TIMEOUT}ms, degradedAfter: 800ms, failuresToOpen: ${FAILURES_TO_OPEN}, successesToResolve: 2 }
components:
${COMPONENTS.map((c) => `  - { name: ${c}, check: { type: http, url: '${target.url}/${c}' } }`).join('\n')}
`;
  }

  async function start(name: Name): Promise<void> {
    const port = await freePort();
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, configFor(name).replace('PORT', String(port)));
    // the default drain: a SIGTERM hands over at the start of it, not after
    const served = await startServing([bin, 'serve', '--config', file], {
      timeoutMs: 90_000,
      env: { NINES_DRAIN_DELAY_MS: '5000', NINES_LOG_LEVEL: 'info' },
    });
    procs.set(name, { ...served, base: `http://127.0.0.1:${port}` });
  }

  async function stop(name: Name, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const p = procs.get(name);
    if (p === undefined) return;
    await sample(name); // its counters, before they go
    p.proc.kill(signal);
    await exitOf(p.proc);
    procs.delete(name);
  }

  const metricsOf = async (name: Name) => {
    const p = procs.get(name);
    if (p === undefined) return undefined;
    return (await fetch(`${p.base}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
  };
  const value = (text: string, metric: string) => {
    let sum = 0;
    for (const line of text.split('\n')) if (line.startsWith(metric)) sum += Number(line.split(' ').at(-1));
    return sum;
  };
  async function sample(name: Name): Promise<void> {
    const text = await metricsOf(name).catch(() => undefined);
    const pid = procs.get(name)?.proc.pid;
    if (text === undefined) return;
    for (const metric of ['nines_ha_duplicate_checks_total', 'nines_ha_stale_writes_total', 'nines_ha_errors_total']) {
      const key = `${metric}@${pid}`;
      counters.set(key, Math.max(counters.get(key) ?? 0, value(text, metric)));
    }
  }
  const total = (metric: string) => [...counters].filter(([k]) => k.startsWith(`${metric}@`)).reduce((s, [, v]) => s + v, 0);

  const owners = async () =>
    new Map(
      (await db.query(`SELECT component, owner FROM "${schema}".nines_ha_leases WHERE owner IS NOT NULL AND expires_at > now()`)).rows.map(
        (r) => [String(r.component), String(r.owner)],
      ),
    );
  /** Resolves once every component is leased to one of `live` and checked since `since`. */
  const settled = async (label: string, live: readonly Name[], since = Date.now()) => {
    await until(
      label,
      async () => {
        const o = await owners();
        if (!COMPONENTS.every((c) => live.includes((o.get(c) ?? '') as Name))) return undefined;
        const { rows } = await db.query(`SELECT count(DISTINCT component_id)::int AS n FROM "${schema}".checks WHERE time > $1`, [since]);
        return rows[0].n === N ? true : undefined;
      },
      120_000,
    );
  };
  /** First stored check after `at` of each of `names`. */
  const firstChecks = async (names: readonly string[], at: number) => {
    const { rows } = await db.query(
      `SELECT c.name, min(k.time)::float8 AS first FROM "${schema}".checks k JOIN "${schema}".components c ON c.id = k.component_id
       WHERE k.time > $1 AND c.name = ANY($2::text[]) GROUP BY c.name`,
      [at, names],
    );
    return new Map(rows.map((r) => [String(r.name), Number(r.first)]));
  };

  /** Installs an audit: every stored check whose writer (application_name) did not hold its lease at commit is recorded. */
  async function audit(): Promise<void> {
    await db.query(`
      CREATE TABLE "${schema}".chaos_violations (component_id integer, time bigint, writer text, owner text);
      CREATE FUNCTION "${schema}".chaos_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE holder text;
      BEGIN
        IF NEW.scheduled_ms IS NULL THEN RETURN NEW; END IF;
        SELECT l.owner INTO holder FROM "${schema}".nines_ha_leases l JOIN "${schema}".components c ON c.name = l.component
          WHERE c.id = NEW.component_id AND l.expires_at > now();
        IF holder IS DISTINCT FROM substr(current_setting('application_name'), 7) THEN
          INSERT INTO "${schema}".chaos_violations VALUES (NEW.component_id, NEW.time, current_setting('application_name'), holder);
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER chaos_audit AFTER INSERT ON "${schema}".checks FOR EACH ROW EXECUTE FUNCTION "${schema}".chaos_audit();`);
  }

  it('three instances share the components, each within ±10 % of its share', async () => {
    await start('a'); // migrates the schema alone, then the others join
    await until('the schema', async () => ((await db.query(`SELECT to_regclass('"${schema}".checks') AS t`)).rows[0].t ? true : undefined));
    await audit();
    await Promise.all((['b', 'c'] as const).map(start));
    await settled('three instances holding and checking everything', ['a', 'b', 'c']);
    const shares = countShares(await owners(), ['a', 'b', 'c']);
    figures.shares3 = shares;
    for (const s of Object.values(shares)) expect(Math.abs(s - N / 3)).toBeLessThanOrEqual((N / 3) * 0.1);
    sampling = setInterval(() => {
      for (const name of procs.keys()) void sample(name);
    }, 2_000);
  }, 180_000);

  it(
    `survives ${FULL ? `${CHAOS_MS / 1000} s of seeded chaos` : 'each chaos action once'}: every orphan checked again, no slot twice, nothing written without the lease`,
    async () => {
      const end = Date.now() + CHAOS_MS;
      const cycle: Action[] = ['kill9', 'sigterm', 'pgterm', 'sigstop', 'add', 'remove'];
      let queue: Action[] = FULL ? [] : ['add', 'kill9', 'sigterm', 'pgterm', 'sigstop', 'remove'];
      while (FULL ? Date.now() < end : queue.length > 0) {
        await sleep(FULL ? 15_000 + Math.floor(rand() * 15_000) : 5_000);
        if (queue.length === 0) queue = shuffle(cycle, rand);
        const action = queue.shift() as Action;
        const running = [...procs.keys()];
        const victim = running[Math.floor(rand() * running.length)] as Name;
        const before = await owners();
        const orphans = COMPONENTS.filter((c) => before.get(c) === victim);
        const at = Date.now();
        switch (action) {
          case 'kill9':
            await stop(victim, 'SIGKILL');
            events.push({ action, instance: victim, at, orphans });
            await sleep(RESTART_AFTER_KILL_MS);
            await start(victim);
            break;
          case 'sigterm':
            await stop(victim, 'SIGTERM');
            events.push({ action, instance: victim, at, orphans });
            await start(victim);
            break;
          case 'sigstop': {
            const p = procs.get(victim);
            p?.proc.kill('SIGSTOP');
            events.push({ action, instance: victim, at, orphans });
            await sleep(SIGSTOP_MS);
            p?.proc.kill('SIGCONT');
            break;
          }
          case 'pgterm': {
            const { rows } = await db.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
              `nines-${victim}`,
            ]);
            expect(rows.length, `${victim} had sessions to end`).toBeGreaterThan(0);
            events.push({ action, instance: victim, at, orphans: [] });
            break;
          }
          case 'add':
            if (!procs.has('d')) {
              await start('d');
              events.push({ action, instance: 'd', at, orphans: [] });
            }
            break;
          case 'remove':
            if (procs.has('d')) {
              const ofD = COMPONENTS.filter((c) => before.get(c) === 'd');
              await stop('d', 'SIGTERM');
              events.push({ action, instance: 'd', at, orphans: ofD });
            }
            break;
        }
      }
      if (!procs.has('d')) await start('d');
      await settled('four instances holding and checking everything', ['a', 'b', 'c', 'd']);
      figures.actions = events.map((e) => `${e.action}:${e.instance}`);

      // every orphan of a kill -9 or a SIGTERM was checked again, and how soon
      const takeovers: Record<string, number[]> = { kill9: [], sigterm: [], remove: [] };
      for (const e of events) {
        if (e.orphans.length === 0 || !(e.action in takeovers)) continue;
        const first = await firstChecks(e.orphans, e.at);
        expect([...first.keys()].sort(), `${e.action} of ${e.instance}: every orphan checked again`).toEqual([...e.orphans].sort());
        takeovers[e.action]?.push(Math.max(...[...first.values()].map((t) => t - e.at)));
      }
      figures.takeoverMs = takeovers;
      if (FULL) {
        for (const ms of takeovers.kill9 ?? []) expect(ms, 'kill -9: orphans checked within 12 s').toBeLessThanOrEqual(12_000);
        for (const ms of [...(takeovers.sigterm ?? []), ...(takeovers.remove ?? [])])
          expect(ms, 'SIGTERM: orphans checked within 3 s').toBeLessThanOrEqual(3_000);
      }

      // no component checked twice in one slot of its grid, none stored by an instance without its lease
      const { rows: twice } = await db.query(
        `SELECT c.name, k.time::float8 AS time FROM "${schema}".checks k JOIN "${schema}".components c ON c.id = k.component_id ORDER BY k.time`,
      );
      const slots = new Map<string, number>();
      for (const r of twice) {
        const key = `${r.name}@${Math.floor((Number(r.time) - firstSlot(String(r.name), INTERVAL, 0)) / INTERVAL)}`;
        slots.set(key, (slots.get(key) ?? 0) + 1);
      }
      const duplicates = [...slots].filter(([, n]) => n > 1).map(([k]) => k);
      figures.checksStored = twice.length;
      figures.duplicateSlots = duplicates.length;
      expect(duplicates).toEqual([]);
      const { rows: violations } = await db.query(`SELECT * FROM "${schema}".chaos_violations`);
      figures.writtenWithoutLease = violations.length;
      expect(violations).toEqual([]);
      for (const name of procs.keys()) await sample(name);
      figures.duplicateMetric = total('nines_ha_duplicate_checks_total');
      figures.staleLeftOut = total('nines_ha_stale_writes_total');
      expect(figures.duplicateMetric).toBe(0);
      // the chaos opened no incident: no target failed
      expect((await db.query(`SELECT count(*)::int AS n FROM "${schema}".incidents`)).rows[0].n).toBe(0);

      const shares = countShares(await owners(), ['a', 'b', 'c', 'd']);
      figures.shares4 = shares;
      for (const s of Object.values(shares)) expect(Math.abs(s - N / 4)).toBeLessThanOrEqual((N / 4) * 0.1);
    },
    CHAOS_MS + 300_000,
  );

  it('one failing path with k = 2: no incident, its owner’s components partial', async () => {
    const o = await owners();
    const ofA = COMPONENTS.filter((c) => o.get(c) === 'a');
    const from = Date.now();
    await target.paths({ failing: [ADDRESS.a] });
    await until(
      "a's components partial on b",
      async () => {
        const body = (await (await fetch(`${procs.get('b')?.base}/api/components`)).json()) as {
          components: Array<{ name: string; status: string; locations: { failingCount: number; of: number } | null }>;
        };
        return ofA.every((n) => body.components.find((c) => c.name === n)?.status === 'partial') ? true : undefined;
      },
      60_000,
    );
    await sleep(FULL ? 30_000 : 8_000);
    await target.paths({});
    // its streak ends with the first pass: an outage right after would otherwise start at this failure
    await until(
      "a's components healthy again",
      async () => {
        const body = (await (await fetch(`${procs.get('b')?.base}/api/components`)).json()) as {
          components: Array<{ name: string; status: string }>;
        };
        return ofA.every((n) => body.components.find((c) => c.name === n)?.status === 'healthy') ? true : undefined;
      },
      60_000,
    );
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM "${schema}".incidents WHERE start_ms >= $1`, [from]);
    figures.onePathIncidents = rows[0].n;
    expect(rows[0].n).toBe(0);
  }, 180_000);

  it('a real outage opens its incident within (failuresToOpen − 1) × interval + timeout + 1 s of the first failure', async () => {
    const out = COMPONENTS.slice(0, 10);
    const from = Date.now();
    await target.paths({ down: out.map((c) => `/${c}`) });
    await until(
      'an incident open for every component down',
      async () => {
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM "${schema}".incidents i JOIN "${schema}".components c ON c.id = i.component_id
           WHERE i.end_ms IS NULL AND c.name = ANY($1::text[])`,
          [out],
        );
        return rows[0].n === out.length ? true : undefined;
      },
      60_000,
    );
    // when each opened, from its owner's log line; its start is the first failed check
    const opened = new Map<string, number>();
    const lines = [...procs.values()].flatMap((p) => p.output().split('\n'));
    for (const line of lines) {
      const at = line.indexOf('{"level"');
      if (at < 0 || !line.includes('"incident opened"')) continue;
      const entry = JSON.parse(line.slice(at)) as { component: string; start: number; time: number };
      if (out.includes(entry.component) && entry.start >= from - INTERVAL) opened.set(entry.component, entry.time - entry.start);
    }
    const missing = out.filter((c) => !opened.has(c));
    expect(missing, lines.filter((l) => missing.some((c) => l.includes(`"${c}"`))).join('\n')).toEqual([]);
    const bound = (FAILURES_TO_OPEN - 1) * INTERVAL + TIMEOUT + 1_000;
    const delays = [...opened.values()].sort((x, y) => x - y);
    figures.outageOpenMs = { median: delays[delays.length >> 1], max: delays.at(-1), target: bound };
    if (FULL) for (const ms of delays) expect(ms).toBeLessThanOrEqual(bound);
    await target.paths({});
    await until(
      'every outage incident resolved',
      async () => {
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM "${schema}".incidents WHERE end_ms IS NULL`);
        return rows[0].n === 0 ? true : undefined;
      },
      60_000,
    );
  }, 180_000);

  it(
    'every instance stopped leaves that time unobserved; CPU per check is compared with a single instance',
    async () => {
      // CPU per stored check of the four, over a calm stretch, unscraped as the single one is
      clearInterval(sampling);
      const span = FULL ? 60_000 : 15_000;
      const pids = [...procs.values()].map((p) => p.proc.pid);
      const cpu0 = pids.reduce<number>((s, pid) => s + cpuMs(pid), 0);
      const t0 = Date.now();
      await sleep(span);
      const cpu1 = pids.reduce<number>((s, pid) => s + cpuMs(pid), 0);
      const { rows: ha } = await db.query(`SELECT count(*)::int AS n FROM "${schema}".checks WHERE time >= $1 AND time < $2`, [
        t0,
        Date.now() - TIMEOUT,
      ]);
      const perCheckHa = (cpu1 - cpu0) / ha[0].n;

      // every instance at once: from the last exit on, nobody checks
      await Promise.all([...procs.keys()].map((name) => stop(name, 'SIGTERM')));
      const stoppedAt = Date.now();
      // the single instance checks the same components meanwhile, on a schema of its own
      const port = await freePort();
      const file = join(dir, 'single.yaml');
      writeFileSync(file, configFor('single').replace('PORT', String(port)));
      const one = await startServing([bin, 'serve', '--config', file], { timeoutMs: 90_000 });
      await sleep(5_000); // past its start
      const c0 = cpuMs(one.proc.pid);
      const s0 = Date.now();
      await sleep(BASELINE_MS);
      const c1 = cpuMs(one.proc.pid);
      const { rows: solo } = await db.query(`SELECT count(*)::int AS n FROM "${single}".checks WHERE time >= $1 AND time < $2`, [
        s0,
        Date.now() - TIMEOUT,
      ]);
      one.proc.kill('SIGKILL');
      await exitOf(one.proc);
      const perCheckOne = (c1 - c0) / solo[0].n;
      figures.cpuPerCheckUs = {
        ha: Math.round(perCheckHa * 1000),
        single: Math.round(perCheckOne * 1000),
        ratio: perCheckHa / perCheckOne,
        target: 1.1,
      };
      if (FULL) expect(perCheckHa / perCheckOne).toBeLessThanOrEqual(1.1);

      await sleep(Math.max(0, STOPPED_MS - (Date.now() - stoppedAt)));
      const restartedAt = Date.now();
      await Promise.all((['a', 'b', 'c', 'd'] as const).map(start));
      await settled('back after the stop', ['a', 'b', 'c', 'd'], restartedAt);
      // the stop is a gap of every component: from its last check's staleness to its next check
      const { rows: gaps } = await db.query(
        `SELECT count(DISTINCT g.component_id)::int AS n FROM "${schema}".gaps g WHERE g.from_ms <= $1 AND g.to_ms >= $2`,
        [stoppedAt + INTERVAL + TIMEOUT + 1_000, restartedAt],
      );
      expect(gaps[0].n).toBe(N);
      const base = procs.get('a')?.base;
      for (const name of COMPONENTS.slice(0, 5)) {
        const q = `from=${new Date(stoppedAt - 10_000).toISOString()}&to=${new Date(restartedAt + 1_000).toISOString()}`;
        const body = (await (await fetch(`${base}/api/components/${name}?${q}`)).json()) as {
          figures: Record<string, { unobservedSeconds: number; downtimeSeconds: number }>;
        };
        const custom = body.figures.custom;
        const { rows: incidents } = await db.query(
          `SELECT i.start_ms::float8 AS start, i.end_ms::float8 AS "end" FROM "${schema}".incidents i
           JOIN "${schema}".components c ON c.id = i.component_id WHERE c.name = $1`,
          [name],
        );
        expect(custom?.downtimeSeconds, JSON.stringify({ stoppedAt, restartedAt, incidents, custom })).toBe(0);
        expect(custom?.unobservedSeconds).toBeGreaterThanOrEqual((restartedAt - stoppedAt - INTERVAL - TIMEOUT - 1_000) / 1000);
        expect(body.figures['1h']?.unobservedSeconds).toBeGreaterThanOrEqual(custom?.unobservedSeconds ?? 0);
      }
      figures.stoppedMs = restartedAt - stoppedAt;
    },
    300_000 + STOPPED_MS + BASELINE_MS,
  );
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

function countShares(owners: Map<string, string>, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const c of COMPONENTS) {
    const o = owners.get(c);
    if (o !== undefined) out[o] = (out[o] ?? 0) + 1;
  }
  return out;
}

function shuffle<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
