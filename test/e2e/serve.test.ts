import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, ensureBuilt, exitOf, freePort, startServing, until } from '../support/e2e.js';

const INTERVAL = 100;
/**
 * `steady` is checked every 2 s with a 1.9 s timeout: a result vouches for it for 3.9 s, so only a
 * check starting and ending more than 1.9 s late could change, after the scrape, what the scrape's
 * instant looked like (a check still running then lands later and closes the gap /metrics saw
 * open: what `?at=` means, docs/monitor.md). `target`'s 100 ms interval would allow 80 ms.
 */
const STEADY = 'interval: 2s, timeout: 1900ms, degradedAfter: 1800ms, failuresToOpen: 1, successesToResolve: 1';

/**
 * design.md §3 over stored checks, written out here as the reference: an incident starts at the
 * first failure of a run of 3 and ends at the first pass of a run of 2 (the test's config).
 */
function incidentRule(history: Array<{ timeMs: number; status: string }>): { start?: number; end?: number } {
  let start: number | undefined;
  let runStart = 0;
  let run = 0;
  for (const c of history) {
    const failed = c.status === 'unhealthy';
    if (failed === (start === undefined)) {
      if (run++ === 0) runStart = c.timeMs;
    } else run = 0;
    if (start === undefined && run === 3) {
      start = runStart;
      run = 0;
    } else if (start !== undefined && run === 2) return { start, end: runStart };
  }
  return { start };
}

type Incident = { id: number; start: string; end: string | null; active: boolean; durationSeconds: number };
type Check = { timeMs: number; status: string };

describe('nines serve (real process, loopback target, 100 ms interval)', () => {
  const world = { up: true, steadyUp: false };
  let target: Server;
  let dir: string;
  let config: string;
  let base: string;
  let child: ChildProcess | undefined;

  const start = async () => {
    const proc = spawn(process.execPath, [bin, 'serve', '--config', config], {
      env: { ...process.env, NINES_DRAIN_DELAY_MS: '0', NINES_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    await until('the listening line', async () => {
      const out = proc.stdout?.read()?.toString() as string | undefined;
      return out?.includes('status and API at') ? true : undefined;
    });
    return proc;
  };
  const get = async <T>(path: string) => (await (await fetch(base + path)).json()) as T;
  const incidents = () => get<{ items: Incident[] }>('/api/incidents?component=target&limit=10').then((p) => p.items);
  const checks = () => get<{ items: Check[] }>('/api/components/target/checks?limit=200').then((p) => p.items.slice().reverse());

  beforeAll(async () => {
    ensureBuilt();
    target = createServer((req, res) => {
      const up = req.url === '/steady' ? world.steadyUp : world.up;
      res.writeHead(up ? 200 : 503).end(up ? 'UP' : 'DOWN');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const targetPort = (target.address() as AddressInfo).port;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    dir = mkdtempSync(join(tmpdir(), 'nines-serve-'));
    config = join(dir, 'nines.yaml');
    writeFileSync(
      config,
      // reads unlimited: the test polls the API every 25 ms, faster than the default allows
      `server: { host: 127.0.0.1, port: ${port}, rateLimit: { reads: { enabled: false } } }
storage: sqlite:${join(dir, 'nines.db')}
defaults: { interval: ${INTERVAL}ms, timeout: 80ms, degradedAfter: 60ms, failuresToOpen: 3, successesToResolve: 2 }
components:
  - name: target
    critical: true
    check: { type: http, url: http://127.0.0.1:${targetPort}/health }
  - { name: steady, ${STEADY}, check: { type: http, url: "http://127.0.0.1:${targetPort}/steady" } }
slos:
  - { name: target-slo, component: target, objective: 99, window: 1h }
`,
    );
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await new Promise<void>((r) => target.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens an incident at the first failed check and resolves it at the first passing one; API, /metrics and report agree', async () => {
    await start();
    // steady: down at its first check (an incident from its first result), up from the next one
    await until('steady down', async () =>
      (await get<{ status: string }>('/api/components/steady')).status === 'unhealthy' ? true : undefined,
    );
    world.steadyUp = true;
    await until('a healthy result', async () =>
      (await get<{ status: string }>('/api/components/target')).status === 'healthy' ? true : undefined,
    );
    world.up = false;
    const open = await until('an open incident', async () => (await incidents()).find((i) => i.active));
    const history = await checks();
    // the first failed check of the run of 3 that opened it (under load a check can time out before)
    expect(Date.parse(open.start)).toBe(incidentRule(history).start);
    // the incident opened on the 3rd consecutive failure: the stored streak before it holds at least 3
    expect(history.filter((c) => c.status === 'unhealthy').length).toBeGreaterThanOrEqual(3);
    world.up = true;
    const done = await until('the incident resolved', async () => (await incidents()).find((i) => i.id === open.id && !i.active));
    const rule = incidentRule(await checks());
    expect(Date.parse(open.start)).toBe(rule.start);
    expect(Date.parse(done.end ?? '')).toBe(rule.end);
    // its duration is what the stored checks decided: first failure to first pass of the resolving run, to the ms
    expect(done.durationSeconds * 1000).toBe((rule.end ?? 0) - (rule.start ?? 0));

    type Figures = { downtimeSeconds: number; uptimeSeconds: number; unobservedSeconds: number; availability: number };
    const detail = await get<{ figures: Record<string, Figures> }>('/api/components/target');
    const hour = detail.figures['1h'];
    const during = (await get<{ figures: { custom: Figures } }>(`/api/components/target?from=${open.start}&to=${done.end}`)).figures.custom;
    // the closed incident lies wholly inside the last hour: the same downtime in both windows; inside
    // it, every observed ms was down (time the monitor itself stalled is unobserved, not down)
    expect(hour?.downtimeSeconds).toBe(during.downtimeSeconds);
    expect(during.uptimeSeconds).toBe(0);
    expect(during.downtimeSeconds + during.unobservedSeconds).toBeCloseTo(done.durationSeconds, 9);

    // /metrics and the API at ONE instant: the scrape says when it evaluated, the API evaluates there
    await until('steady resolved', async () => {
      const list = await get<{ items: Incident[] }>('/api/incidents?component=steady');
      return list.items.length === 1 && !list.items[0]?.active ? true : undefined;
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const at = Math.round(Number(/^nines_figures_evaluated_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]) * 1000);
    const steady = await get<{ evaluatedAt: string; figures: Record<string, Figures> }>(`/api/components/steady?at=${at}`);
    expect(steady.evaluatedAt).toBe(new Date(at).toISOString());
    for (const window of ['1h', '24h', '7d', '30d']) {
      const scraped = Number(
        new RegExp(`^nines_availability_ratio\\{component="steady",window="${window}"\\} (\\S+)$`, 'm').exec(metrics)?.[1],
      );
      expect(scraped, window).toBe(steady.figures[window]?.availability);
    }
    expect(steady.figures['1h']?.availability).toBeGreaterThan(0); // its first second was down: not a trivial 1
    expect(steady.figures['1h']?.availability).toBeLessThan(1);
    expect(metrics).toMatch(/nines_incidents_active\{component="target"\} 0/);
    expect(Number(/nines_schedule_lag_seconds_count (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(3); // one per run
    expect(metrics).toMatch(/nines_component_flapping\{component="target"\} [01]/);

    // nines report reads the same store with the same code: over the same closed window (the
    // incident with a margin), the API's custom window and the report give identical figures
    const from = Date.parse(open.start) - 500;
    const to = Date.parse(done.end ?? '') + 100;
    // a stored check after the window (the checks route flushes first): the report's last check is past it, so
    // it sees no gap still open inside the window
    await until('a stored check after the window', async () => ((await checks()).some((c) => c.timeMs > to) ? true : undefined));
    const custom = (await get<{ figures: { custom: Figures } }>(`/api/components/target?from=${from}&to=${to}`)).figures.custom;
    const json = execFileSync(process.execPath, [bin, 'report', '--config', config, '--from', String(from), '--to', String(to), '--json'], {
      encoding: 'utf8',
    });
    const reported = JSON.parse(json) as {
      components: Array<{ name: string; figures: { downMs: number; upMs: number; availability: number; incidentsStarted: number } }>;
    };
    const target = reported.components.find((c) => c.name === 'target');
    expect((target?.figures.downMs ?? 0) / 1000).toBe(custom.downtimeSeconds);
    expect((target?.figures.upMs ?? 0) / 1000).toBe(custom.uptimeSeconds);
    expect(target?.figures.availability).toBe(custom.availability);
    expect(custom.downtimeSeconds).toBe(during.downtimeSeconds);
    expect(target?.figures.incidentsStarted).toBe(1);
    const text = execFileSync(process.execPath, [bin, 'report', '--config', config, '--window', '1h'], { encoding: 'utf8' });
    expect(text).toMatch(/^target\s+\d+\.\d{3} %/m);
    expect(text).toMatch(/^target-slo\s+99 %/m);
  }, 60_000);

  it('keeps an open incident across kill -9 and resolves it after the restart', async () => {
    world.up = false;
    // the incidents route flushes before it reads the store: an incident it lists is stored
    const open = await until('an open incident', async () => (await incidents()).find((i) => i.active));
    child?.kill('SIGKILL');
    await new Promise((r) => child?.once('exit', r));
    await start();
    const again = (await incidents()).find((i) => i.active);
    expect(again?.id).toBe(open.id);
    expect(again?.start).toBe(open.start);
    world.up = true;
    const done = await until('the incident resolved after the restart', async () =>
      (await incidents()).find((i) => i.id === open.id && !i.active),
    );
    expect(done.end).not.toBeNull();
    const detail = await get<{ figures: Record<string, { unobservedSeconds: number }> }>('/api/components/target');
    // the all-time window starts at the first check, so its only unobserved time is the restart's gap
    expect(detail.figures.all?.unobservedSeconds).toBeGreaterThan(0);
    child?.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child?.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    child = undefined;
  }, 60_000);

  it('restarts after SIGTERM with its history, and SIGHUP adds a component without losing it', async () => {
    const proc = await start();
    const before = await incidents();
    expect(before.length).toBeGreaterThanOrEqual(2); // both earlier incidents are still there
    expect(before.every((i) => !i.active)).toBe(true);
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace(
        'slos:',
        `  - name: second\n    check: { type: tcp, host: 127.0.0.1, port: ${(target.address() as AddressInfo).port} }\nslos:`,
      ),
    );
    proc.kill('SIGHUP');
    const second = await until('the added component has a result', async () => {
      const list = await get<{ components: Array<{ name: string; status: string }> }>('/api/components');
      return list.components.find((c) => c.name === 'second' && c.status === 'healthy');
    });
    expect(second.name).toBe('second');
    expect((await incidents()).length).toBe(before.length); // history stays
    writeFileSync(config, 'components: []\n'); // a broken config is refused; the running one stays
    proc.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 300));
    const list = await get<{ components: Array<{ name: string }> }>('/api/components');
    expect(list.components.map((c) => c.name).sort()).toEqual(['second', 'steady', 'target']);
    proc.kill('SIGTERM');
    expect(await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)))).toBe(0);
    child = undefined;
  }, 60_000);
});

describe('nines serve rate limits (real process)', () => {
  it('limits reads and writes per client, through a trusted proxy, never /metrics or the endpoints, and counts it all', async () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'nines-limits-'));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const config = join(dir, 'nines.yaml');
    // windows of an hour: no stall of the machine can slide a window between two requests of the test
    writeFileSync(
      config,
      `server:
  host: 127.0.0.1
  port: ${port}
  token: test-token-0123456789-abcdef
  rateLimit: { trustProxy: loopback, reads: { limit: 3, window: 1h }, writes: { limit: 2, window: 1h } }
storage: sqlite:${join(dir, 'nines.db')}
components:
  - { name: web, check: { type: tcp, host: 127.0.0.1, port: ${await freePort()} } }
`,
    );
    const serving = await startServing([bin, 'serve', '--config', config]);
    try {
      const from = (client: string, path: string, init: RequestInit = {}) =>
        fetch(base + path, { ...init, headers: { 'x-forwarded-for': client, ...init.headers } });
      for (const path of ['/', '/badge/web/status.svg', '/api/components']) {
        const res = await from('203.0.113.7', path);
        expect(res.status, path).toBe(200);
        expect(res.headers.get('ratelimit-policy')).toBe('"reads";q=3;w=3600');
      }
      const refused = await from('203.0.113.7', '/feed.xml');
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await refused.json()) as { status: number }).status).toBe(429);
      expect((await from('203.0.113.8', '/feed.xml')).status).toBe(200); // another client behind the proxy
      for (const path of ['/metrics', '/livez', '/readyz', '/health'])
        for (let i = 0; i < 4; i++) expect((await from('203.0.113.7', path)).status, path).not.toBe(429);

      const post = () =>
        from('198.51.100.1', '/api/components/web/check', { method: 'POST', headers: { authorization: 'Bearer wrong-token-0123456789' } });
      expect([(await post()).status, (await post()).status, (await post()).status]).toEqual([401, 401, 429]);

      const metrics = await (await fetch(`${base}/metrics`)).text();
      const count = (limiter: string, decision: string) =>
        Number(
          new RegExp(`^nines_rate_limit_decisions_total\\{limiter="${limiter}",decision="${decision}"\\} (\\d+)$`, 'm').exec(metrics)?.[1],
        );
      expect([count('serve_reads', 'allowed'), count('serve_reads', 'rejected')]).toEqual([4, 1]);
      expect([count('serve_writes', 'allowed'), count('serve_writes', 'rejected')]).toEqual([2, 1]);
      expect([count('serve_public_writes', 'allowed'), count('serve_public_writes', 'rejected')]).toEqual([0, 0]);
    } finally {
      serving.proc.kill('SIGTERM');
      await exitOf(serving.proc);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
