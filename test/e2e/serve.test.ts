import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, ensureBuilt, freePort, until } from '../support/e2e.js';

const INTERVAL = 100;

type Incident = { id: number; start: string; end: string | null; active: boolean; durationSeconds: number };
type Check = { timeMs: number; status: string };

describe('nines serve (real process, loopback target, 100 ms interval)', () => {
  const world = { up: true };
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
  const incidents = () => get<{ items: Incident[] }>('/api/incidents?limit=10').then((p) => p.items);
  const checks = () => get<{ items: Check[] }>('/api/components/target/checks?limit=200').then((p) => p.items.slice().reverse());

  beforeAll(async () => {
    ensureBuilt();
    target = createServer((_req, res) => res.writeHead(world.up ? 200 : 503).end(world.up ? 'UP' : 'DOWN'));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const targetPort = (target.address() as AddressInfo).port;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    dir = mkdtempSync(join(tmpdir(), 'nines-serve-'));
    config = join(dir, 'nines.yaml');
    writeFileSync(
      config,
      `server: { host: 127.0.0.1, port: ${port} }
storage: sqlite:${join(dir, 'nines.db')}
defaults: { interval: ${INTERVAL}ms, timeout: 80ms, degradedAfter: 60ms, failuresToOpen: 3, successesToResolve: 2 }
components:
  - name: target
    critical: true
    check: { type: http, url: http://127.0.0.1:${targetPort}/health }
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

  it('opens an incident at the first failed check and resolves it at the first passing one; API and /metrics agree', async () => {
    await start();
    await until('a healthy result', async () =>
      (await get<{ status: string }>('/api/components/target')).status === 'healthy' ? true : undefined,
    );
    world.up = false;
    const downAt = Date.now();
    const open = await until('an open incident', async () => (await incidents()).find((i) => i.active));
    const history = await checks();
    const firstFailed = history.find((c) => c.status === 'unhealthy');
    expect(Date.parse(open.start)).toBe(firstFailed?.timeMs);
    // the incident opened on the 3rd consecutive failure: the stored streak before it holds at least 3
    expect(history.filter((c) => c.status === 'unhealthy').length).toBeGreaterThanOrEqual(3);
    world.up = true;
    const upAt = Date.now();
    const done = await until('the incident resolved', async () => (await incidents()).find((i) => i.id === open.id && !i.active));
    const after = await checks();
    const firstPass = after.find((c) => c.timeMs > (firstFailed?.timeMs ?? 0) && c.status !== 'unhealthy');
    expect(Date.parse(done.end ?? '')).toBe(firstPass?.timeMs);
    // downtime matches the time the target was down, within one interval (+ the check's time) at each end
    expect(Math.abs(done.durationSeconds * 1000 - (upAt - downAt))).toBeLessThan(2 * INTERVAL + 80);

    const detail = await get<{ figures: Record<string, { downtimeSeconds: number; availability: number }> }>('/api/components/target');
    const hour = detail.figures['1h'];
    expect(hour?.downtimeSeconds).toBeCloseTo(done.durationSeconds, 6);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const ratio = Number(/nines_availability_ratio\{component="target",window="1h"\} ([\d.e-]+)/.exec(metrics)?.[1]);
    expect(ratio).toBeGreaterThan(0);
    expect(Math.abs(ratio - (hour?.availability ?? 0))).toBeLessThan(0.02); // time moved between the two reads
    expect(metrics).toMatch(/nines_incidents_active\{component="target"\} 0/);
    expect(Number(/nines_schedule_lag_seconds_count (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(3); // one per run
    expect(metrics).toMatch(/nines_component_flapping\{component="target"\} [01]/);

    // nines report reads the same store with the same code: over the same closed window (the
    // incident with a margin), the API's custom window and the report give identical figures
    const from = Date.parse(open.start) - 500;
    const to = Date.parse(done.end ?? '') + 100;
    await until('the window to close', async () => (Date.now() > to + 1000 ? true : undefined));
    const custom = (
      await get<{ figures: { custom: { downtimeSeconds: number; uptimeSeconds: number } } }>(`/api/components/target?from=${from}&to=${to}`)
    ).figures.custom;
    const json = execFileSync(process.execPath, [bin, 'report', '--config', config, '--from', String(from), '--to', String(to), '--json'], {
      encoding: 'utf8',
    });
    const reported = JSON.parse(json) as {
      components: Array<{ name: string; figures: { downMs: number; upMs: number; incidentsStarted: number } }>;
    };
    const target = reported.components.find((c) => c.name === 'target');
    expect((target?.figures.downMs ?? 0) / 1000).toBeCloseTo(custom.downtimeSeconds, 6);
    expect((target?.figures.upMs ?? 0) / 1000).toBeCloseTo(custom.uptimeSeconds, 6);
    expect(custom.downtimeSeconds).toBeCloseTo(done.durationSeconds, 6);
    expect(target?.figures.incidentsStarted).toBe(1);
    const text = execFileSync(process.execPath, [bin, 'report', '--config', config, '--window', '1h'], { encoding: 'utf8' });
    expect(text).toMatch(/^target\s+\d+\.\d{3} %/m);
    expect(text).toMatch(/^target-slo\s+99 %/m);
  });

  it('keeps an open incident across kill -9 and resolves it after the restart', async () => {
    world.up = false;
    const open = await until('an open incident', async () => (await incidents()).find((i) => i.active));
    await new Promise((r) => setTimeout(r, 1100)); // let the incident reach the store (flush every second)
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
  }, 15_000);

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
    expect(list.components.map((c) => c.name).sort()).toEqual(['second', 'target']);
    proc.kill('SIGTERM');
    expect(await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)))).toBe(0);
    child = undefined;
  }, 15_000);
});
