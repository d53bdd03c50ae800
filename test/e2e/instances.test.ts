/**
 * Two real `nines serve` processes on one PostgreSQL (their own schema, `?schema=`): a flag or a
 * degradation level changed through the API of one is in force in the other, whose audit log
 * holds the change and its author. How soon is `bench:flags`' to measure; here only that it is.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, ensureBuilt, exitOf, freePort, startServing, until } from '../support/e2e.js';
import { dropSchema, hasPostgres, pgUrl, uniqueName } from '../support/services.js';

const TOKEN = 'e2e-token-0123456789abcdef';

describe.runIf(await hasPostgres())('two nines serve instances on one PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nines-instances-'));
  const schema = uniqueName('e2e_inst');
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f();
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  /** Starts one instance on its own port; both share the history, the flags and the level. */
  async function instance(name: string): Promise<string> {
    const port = await freePort();
    const config = join(dir, `${name}.yaml`);
    writeFileSync(
      config,
      `server: { port: ${port}, token: '\${TOKEN}' }
storage: '${pgUrl}?schema=${schema}'
components:
  - { name: self-${name}, check: { type: http, url: 'http://127.0.0.1:${port}/livez' }, interval: 1s, timeout: 900ms, degradedAfter: 800ms }
flags:
  checkout-v2: { enabled: false, description: new checkout }
  search: { minLevel: full }
`,
    );
    const serving = await startServing([bin, 'serve', '--config', config], { timeoutMs: 60_000, env: { TOKEN } });
    cleanup.push(async () => {
      serving.proc.kill('SIGTERM');
      await exitOf(serving.proc);
    });
    return `http://127.0.0.1:${port}`;
  }

  const send = (base: string, method: string, path: string, body: unknown, by: string) =>
    fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'x-nines-by': by,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const get = async (base: string, path: string) =>
    (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as Promise<Record<string, unknown>>;
  type Flag = { name: string; enabled: boolean; live: boolean };
  const flag = async (base: string, name: string) => ((await get(base, '/api/flags')).flags as Flag[]).find((f) => f.name === name);

  it('a flag and a level set through one are in force in the other, with their audit records', async () => {
    ensureBuilt();
    const a = await instance('a');
    const b = await instance('b');
    expect(await flag(b, 'checkout-v2')).toMatchObject({ enabled: false, live: false });

    const put = await send(a, 'PUT', '/api/flags/checkout-v2', { enabled: true, description: 'new checkout' }, 'ada');
    expect(put.status).toBe(200);
    await until('b to serve the flag on', async () => ((await flag(b, 'checkout-v2'))?.enabled === true ? true : undefined));
    const flagAudit = (await get(b, '/api/flags/audit')).entries as Array<Record<string, unknown>>;
    expect(flagAudit[0]).toMatchObject({ by: 'ada', flag: 'checkout-v2', before: { enabled: false }, after: { enabled: true } });

    const level = await send(b, 'PUT', '/api/degradation', { level: 'degraded', reason: 'INC-42 payments slow' }, 'bob');
    expect(level.status).toBe(200);
    await until('a to run degraded', async () => ((await get(a, '/api/degradation')).level === 'degraded' ? true : undefined));
    expect(await get(a, '/api/degradation')).toMatchObject({ reason: 'INC-42 payments slow', source: 'manual' });
    expect((await flag(a, 'search'))?.live).toBe(false); // minLevel full, so off on both
    const health = await get(a, '/health');
    expect(health.degradation).toMatchObject({ level: 'degraded', reason: 'INC-42 payments slow', source: 'manual' });
    const levelAudit = (await get(a, '/api/degradation/audit')).entries as Array<Record<string, unknown>>;
    expect(levelAudit[0]).toMatchObject({ by: 'bob', from: 'full', to: 'degraded', source: 'manual' });

    expect((await send(a, 'DELETE', '/api/degradation', undefined, 'ada')).status).toBe(200);
    await until('b back at full', async () => ((await get(b, '/api/degradation')).level === 'full' ? true : undefined));
    expect((await flag(b, 'search'))?.live).toBe(true);
  });
});
