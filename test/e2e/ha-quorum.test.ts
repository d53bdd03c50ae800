/**
 * Three real `nines serve` processes with `ha.quorum` (k = 2) on one PostgreSQL schema, each in its
 * own location and probing from its own loopback address (127.0.0.2, .3, .4), against a target in
 * a process of its own that fails requests by client address (issue #20 §2). One failing path
 * opens no incident and shows the components as partial on every instance; a failure seen from
 * every path opens one per component, from the first failed check, and a recovery resolves them.
 * How long an opening took is printed; its bound is `npm run test:chaos`'s to hold.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AddressTargetProcess, startAddressTargetProcess } from '../support/address-target.js';
import { bin, ensureBuilt, exitOf, freePort, startServing, until } from '../support/e2e.js';
import { dropSchema, hasPostgres, pgUrl, uniqueName } from '../support/services.js';

const COMPONENTS = Array.from({ length: 6 }, (_, i) => `svc-${i}`);
const INSTANCES = { a: '127.0.0.2', b: '127.0.0.3', c: '127.0.0.4' } as const;
type Name = keyof typeof INSTANCES;

interface ApiComponent {
  name: string;
  status: string;
  incidentSince: string | null;
  locations: { failing: string[]; failingCount: number; of: number } | null;
}

describe.runIf(await hasPostgres())('nines serve with ha.quorum: outages confirmed from several locations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nines-haq-'));
  const schema = uniqueName('e2e_haq');
  const db = new pg.Pool({ connectionString: pgUrl, max: 2 });
  const procs = new Map<Name, Awaited<ReturnType<typeof startServing>>>();
  const bases = new Map<Name, string>();
  let target: AddressTargetProcess | undefined;

  beforeAll(async () => {
    ensureBuilt();
    target = await startAddressTargetProcess();
    await Promise.all((Object.keys(INSTANCES) as Name[]).map(start));
  }, 120_000);
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

  async function start(name: Name): Promise<void> {
    const port = await freePort();
    const config = join(dir, `${name}.yaml`);
    writeFileSync(
      config,
      `server: { port: ${port} }
storage: '${pgUrl}?schema=${schema}'
ha:
  instance: ${name}
  location: zone-${name}
  sourceAddress: ${INSTANCES[name]}
  heartbeat: 500ms
  leaseTtl: 3s
  renewDeadline: 2s
  quorum: { k: 2, confirmTimeout: 3s }
defaults: { interval: 1s, timeout: 900ms, degradedAfter: 800ms, failuresToOpen: 2, successesToResolve: 2 }
components:
${COMPONENTS.map((c) => `  - { name: ${c}, check: { type: http, url: '${target?.url}/${c}' } }`).join('\n')}
`,
    );
    procs.set(name, await startServing([bin, 'serve', '--config', config], { timeoutMs: 60_000 }));
    bases.set(name, `http://127.0.0.1:${port}`);
  }

  const components = async (name: Name) =>
    ((await (await fetch(`${bases.get(name)}/api/components`)).json()) as { components: ApiComponent[] }).components;
  const owners = async () =>
    new Map(
      (await db.query(`SELECT component, owner FROM ${schema}.nines_ha_leases WHERE expires_at > now()`)).rows.map((r) => [
        String(r.component),
        String(r.owner),
      ]),
    );
  const incidents = async () =>
    (
      await db.query(
        `SELECT c.name, i.start_ms::float8 AS start, i.end_ms::float8 AS "end" FROM ${schema}.incidents i JOIN ${schema}.components c ON c.id = i.component_id ORDER BY c.name`,
      )
    ).rows as Array<{ name: string; start: number; end: number | null }>;
  const rounds = async (name: Name, outcome: string) => {
    const text = await (await fetch(`${bases.get(name)}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`nines_ha_quorum_rounds_total{kind="open",outcome="${outcome}"}`));
    return Number(line?.split(' ')[1] ?? Number.NaN);
  };

  it('shares the components and checks them healthy from every path', async () => {
    await until(
      'every component leased and healthy on every instance',
      async () => {
        const o = await owners();
        if (!COMPONENTS.every((c) => o.has(c))) return undefined;
        for (const n of procs.keys()) if (!(await components(n)).every((c) => c.status === 'healthy')) return undefined;
        return true;
      },
      60_000,
    );
    // each instance probed from its own address: the target saw only those
    const from = Object.keys((await target?.seen()) ?? {});
    expect(from.length).toBeGreaterThan(0);
    for (const ip of from) expect(Object.values(INSTANCES)).toContain(ip);
  });

  it('one failing path (zone-a’s) opens no incident and shows its components as partial, 1 of 3, on every instance', async () => {
    const o = await owners();
    const ofA = COMPONENTS.filter((c) => o.get(c) === 'a');
    expect(ofA.length, 'a owns some components').toBeGreaterThan(0);
    await target?.paths({ failing: [INSTANCES.a] });
    for (const n of procs.keys()) {
      await until(
        `${n} to show a's components as partial`,
        async () => {
          const list = await components(n);
          return ofA.every((name) => {
            const c = list.find((x) => x.name === name);
            return c?.status === 'partial' && c.locations?.failingCount === 1 && c.locations.of === 3;
          })
            ? true
            : undefined;
        },
        30_000,
      );
    }
    const page = await (await fetch(`${bases.get('b')}/`)).text();
    expect(page).toContain('1 of 3 locations failing');
    expect(page).toContain('Partial outage');
    // a few more rounds held back, still no incident
    const held = await rounds('a', 'held');
    await until('more rounds held back', async () => ((await rounds('a', 'held')) >= held + ofA.length ? true : undefined), 30_000);
    expect(await incidents()).toEqual([]);
    await target?.paths({});
    await until(
      'healthy again everywhere',
      async () => ((await components('b')).every((c) => c.status === 'healthy') ? true : undefined),
      30_000,
    );
    expect(await incidents()).toEqual([]);
  });

  it('a failure from every path opens one incident per component from its first failed check, and the recovery resolves them', async () => {
    const failedAt = Date.now();
    await target?.paths({ failing: Object.values(INSTANCES) });
    const opened = await until(
      'an incident open for every component',
      async () => {
        const list = await incidents();
        return COMPONENTS.every((c) => list.some((i) => i.name === c && i.end === null)) ? list : undefined;
      },
      30_000,
    );
    const openedAt = Date.now();
    // each starts at the first failed check of its streak: a failure stored at the start, a pass just before it
    for (const i of opened) {
      const { rows } = await db.query(
        `SELECT k.status FROM ${schema}.checks k JOIN ${schema}.components c ON c.id = k.component_id
         WHERE c.name = $1 AND k.time <= $2 ORDER BY k.time DESC LIMIT 2`,
        [i.name, i.start],
      );
      expect(
        rows.map((r) => Number(r.status) === 2),
        `${i.name}: the check at its start failed, the one before passed`,
      ).toEqual([true, false]);
    }
    const starts = opened.map((i) => i.start);
    console.log(
      `ha quorum e2e: incidents open for all ${COMPONENTS.length} components ${openedAt - Math.min(...starts)} ms after the first failed check, ${openedAt - failedAt} ms after the paths failed (bound per component (2-1)×1s+0.9s+1s)`,
    );
    await target?.paths({});
    await until('every incident resolved', async () => ((await incidents()).every((i) => i.end !== null) ? true : undefined), 30_000);
    expect((await incidents()).length).toBe(COMPONENTS.length);
  });
});
