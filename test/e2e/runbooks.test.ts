/**
 * Runs every `exec` block of docs/runbooks/*.md with bash against a real `nines serve` in a temp
 * directory (docs/runbooks/README.md: the convention and the variables), so a runbook cannot drift
 * from the CLI, the API or the metric names.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry, policyMetrics } from '../../src/metrics/index.js';
import { CircuitBreaker } from '../../src/policy/index.js';
import { bin, ensureBuilt, freePort, root, startServing, until } from '../support/e2e.js';
import { blockAt, type RunbookBlock, runBlock, shellBlocks } from '../support/runbooks.js';
import { dropSchema, hasPostgres, pgUrl, uniqueName } from '../support/services.js';

const RUNBOOKS = join(root, 'docs/runbooks');
const files = readdirSync(RUNBOOKS)
  .filter((f) => f.endsWith('.md'))
  .sort();
const runbooks = files.map((file) => ({ file, blocks: shellBlocks(readFileSync(join(RUNBOOKS, file), 'utf8'), file) }));
/** Blocks that cannot run here (a cluster, root, another machine): few, or the runbooks are untested prose. */
const MAX_NO_EXEC = 4;
/** The V8 flags of the `nines` shebang: a runbook checks that the process runs with them. */
const V8_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=50'];
/** Blocks that use PostgreSQL (scaling.md's move, disaster-recovery.md's B) need it; without it (and without CI) they skip. */
const postgres = await hasPostgres();
const PG_VARIABLES = ['NINES_PG_URL', 'NINES_APP_DB_URL'];
const schema = uniqueName('runbooks');
/** The application database of disaster-recovery.md's B, and the copy its restore makes. */
const appDb = uniqueName('runbooks_app');
const APP_ROWS = 100;
const appUrl = () => {
  const url = new URL(pgUrl);
  url.pathname = `/${appDb}`;
  return url.href;
};

/** Runs `sql` on the test's PostgreSQL (the `test` database), or on `database` there. */
async function onPostgres(sql: string, database?: string): Promise<void> {
  const { default: pg } = await import('pg');
  const url = new URL(pgUrl);
  if (database !== undefined) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.href });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A loopback server on port 0; resolves with its base URL. */
async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('runbooks (every exec block, against a real nines serve)', () => {
  const env: NodeJS.ProcessEnv = {};
  const servers: Server[] = [];
  let dir: string;
  let serve: ChildProcess | undefined;

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'nines-runbooks-'));
    // the services nines watches: one up, one down (an open incident), one flapping
    let calls = 0;
    const targets = createServer((req, res) => {
      const up = req.url === '/up' || (req.url === '/flap' && calls++ % 2 === 0);
      res.writeHead(up ? 200 : 503).end(up ? 'UP' : 'DOWN');
    });
    // a service using nines' policies, its breaker to the payment provider held open
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const breaker = new CircuitBreaker({ name: 'payments', failureThreshold: 3, metrics: policyMetrics(registry) });
    for (let i = 0; i < 3; i++) await breaker.execute(() => Promise.reject(new Error('provider down'))).catch(() => {});
    const service = createServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
    });
    servers.push(targets, service);
    const targetsUrl = await listen(targets);
    const serviceUrl = await listen(service);

    if (postgres) {
      await onPostgres(`create database "${appDb}"`);
      await onPostgres(
        `create table orders (id int primary key, total numeric not null); insert into orders select g, g * 1.5 from generate_series(1, ${APP_ROWS}) g`,
        appDb,
      );
    }
    const port = await freePort();
    mkdirSync(join(dir, 'etc'));
    mkdirSync(join(dir, 'data'));
    mkdirSync(join(dir, 'bin'));
    const config = join(dir, 'etc/nines.yaml');
    writeFileSync(
      config,
      // reads unlimited: the test polls the API while the blocks run; timeouts generous for a busy machine
      `server: { host: 127.0.0.1, port: ${port}, token: "\${NINES_TOKEN}", rateLimit: { reads: { enabled: false } } }
storage: sqlite:\${NINES_DATA}/nines.db
defaults: { interval: 1s, timeout: 900ms, degradedAfter: 800ms, failuresToOpen: 2, successesToResolve: 2, flapThreshold: 3, flapWindow: 1m }
components:
  - { name: api, critical: true, check: { type: http, url: "${targetsUrl}/up" } }
  - { name: payments, check: { type: http, url: "${targetsUrl}/down" } }
  - { name: search, check: { type: http, url: "${targetsUrl}/flap" } }
slos:
  - { name: api-availability, component: api, objective: 99.9, window: 1h }
alerts:
  rules:
    - { name: payments-breaker, type: breaker, breaker: payments, for: 5m }
    - { name: stale-backups, type: backup, olderThan: 26h, severity: page }
backup:
  repository: \${NINES_DATA}/backups
  encryption: { keyEnv: NINES_BACKUP_KEY }
  targets:
    store: { type: sqlite, path: "\${NINES_DATA}/nines.db" }
    config: { type: files, path: "\${NINES_CONFIG_DIR}" }
    app: { type: postgres, url: "\${NINES_APP_DB_URL:-postgres://postgres@127.0.0.1:5432/unused}" }
`,
    );
    // `nines` on PATH, as `npm install -g nines` puts it, running this checkout's build
    const shim = join(dir, 'bin/nines');
    writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" ${V8_FLAGS.join(' ')} "${bin}" "$@"\n`);
    chmodSync(shim, 0o755);
    Object.assign(env, {
      PATH: `${join(dir, 'bin')}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? dir,
      LANG: 'C.UTF-8',
      NINES_URL: `http://127.0.0.1:${port}`,
      NINES_TOKEN: 'runbook-token-0123456789',
      NINES_CONFIG: config,
      NINES_CONFIG_DIR: join(dir, 'etc'),
      NINES_DATA: join(dir, 'data'),
      NINES_SPARE_PORT: String(await freePort()),
      NINES_BACKUP_KEY: 'ab'.repeat(32),
      NINES_SERVICE_URL: serviceUrl,
      ...(postgres ? { NINES_PG_URL: `${pgUrl}?schema=${schema}`, NINES_APP_DB_URL: appUrl() } : {}),
    });
    const started = await startServing([...V8_FLAGS, bin, 'serve', '--config', config], {
      cwd: dir,
      env: { ...env, NINES_LOG_LEVEL: 'warn' },
      // a hang guard: a start on a machine busy with other suites has taken over 30 s
      timeoutMs: 120_000,
    });
    serve = started.proc;
    env.NINES_PID = String(started.proc.pid);
    // what the runbooks read: an open incident on payments, search flapping
    const get = async (path: string) => (await fetch(`${env.NINES_URL}${path}`)).json() as Promise<Record<string, unknown>>;
    await until(
      'an open incident and a flapping component',
      async () => {
        const { components } = (await get('/api/components')) as {
          components: Array<{ name: string; flapping: boolean; incidentSince: string | null }>;
        };
        const by = new Map(components.map((c) => [c.name, c]));
        return by.get('payments')?.incidentSince && by.get('search')?.flapping ? true : undefined;
      },
      120_000,
    );
  }, 300_000);

  afterAll(async () => {
    serve?.kill('SIGKILL');
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    rmSync(dir, { recursive: true, force: true });
    if (postgres) {
      await dropSchema(schema);
      for (const db of [appDb, `${appDb}_restored`]) await onPostgres(`drop database if exists "${db}" with (force)`);
    }
  });

  const run = (block: RunbookBlock, cwd: string) => runBlock(block, { cwd, env, timeoutMs: 90_000 });

  for (const { file, blocks } of runbooks) {
    describe(file, () => {
      const cwd = () => {
        const work = join(dir, 'work', file.replace(/\.md$/, ''));
        mkdirSync(work, { recursive: true });
        return work;
      };
      it(`has at most ${MAX_NO_EXEC} blocks that are not executed`, () => {
        expect(blocks.filter((b) => b.mode === 'no-exec').length).toBeLessThanOrEqual(MAX_NO_EXEC);
      });
      // in order: a later block may use what an earlier one made (a backup, a restored file)
      for (const block of blocks.filter((b) => b.mode === 'exec')) {
        it.skipIf(!postgres && PG_VARIABLES.some((v) => block.script.includes(v)))(
          `${file}:${block.line}`,
          async () => {
            const work = cwd();
            const result = await run(block, work);
            expect(
              result.failure,
              `${file}:${block.line} ${result.failure}\n--- script\n${block.script}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
            ).toBeUndefined();
          },
          120_000,
        );
      }
    });
  }

  it('reports a block that fails against the same server as a failure (the runner is not a rubber stamp)', async () => {
    const selfCheck = shellBlocks(
      [
        '```sh exec',
        'nines backup verify no-such-backup --config "$NINES_CONFIG"',
        '```',
        '<!-- expect: "status":"healthy" -->',
        '```sh exec',
        'curl -fsS "$NINES_URL/api/components/payments"',
        '```',
      ].join('\n'),
    );
    expect((await run(blockAt(selfCheck, 0), dir)).failure).toMatch(/^exited with [12]$/);
    const payments = await run(blockAt(selfCheck, 1), dir);
    expect(payments.code).toBe(0);
    expect(payments.failure).toBe('stdout lacks "\\"status\\":\\"healthy\\""');
  });

  it('runs at least one block of every runbook', () => {
    expect(files).toEqual(
      expect.arrayContaining(['README.md', 'disaster-recovery.md', 'incident-response.md', 'scaling.md', 'troubleshooting.md']),
    );
    for (const { file, blocks } of runbooks)
      if (file !== 'README.md')
        expect(
          blocks.some((b) => b.mode === 'exec'),
          file,
        ).toBe(true);
  });
});
