import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, ensureBuilt, exitOf, freePort, startServing, until } from '../support/e2e.js';

const EXITING = 'exiting so the supervisor restarts it';

/** Log lines of pino's JSON output (the listening line and other text are skipped). */
function logLines(output: string): Array<{ msg: string; [key: string]: unknown }> {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string });
}

// A heap ratio every process is past: liveness fails at every evaluation, from the start.
describe('nines serve: the liveness watchdog (real process)', () => {
  let target: Server;
  let targetPort: number;
  let dir: string;

  /** A config file serving on a free port with `liveness` as server.liveness; returns its path and base URL. */
  const configWith = async (name: string, liveness: string) => {
    const port = await freePort();
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      `server: { host: 127.0.0.1, port: ${port}, liveness: ${liveness} }
storage: sqlite:${join(dir, `${name}.db`)}
components:
  - name: target
    interval: 100ms
    timeout: 90ms
    degradedAfter: 80ms
    check: { type: http, url: "http://127.0.0.1:${targetPort}/" }
`,
    );
    return { file, base: `http://127.0.0.1:${port}` };
  };

  beforeAll(async () => {
    ensureBuilt();
    target = createServer((_req, res) => res.end('UP'));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    targetPort = (target.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'nines-liveness-'));
  });
  afterAll(async () => {
    await new Promise((r) => target.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits with code 1 after the graceful stop once liveness has failed for exitAfter, logging why once', async () => {
    const { file, base } = await configWith('exit', '{ maxHeapRatio: 0.000001, exitAfter: 1s }');
    // a drain delay keeps it serving (readiness false) a while after the watchdog fires
    const { proc, output } = await startServing([bin, 'serve', '--config', file], {
      env: { NINES_LOG_LEVEL: 'info', NINES_DRAIN_DELAY_MS: '3000' },
    });
    const exited = exitOf(proc);
    const liveness = await fetch(`${base}/liveness`);
    expect(liveness.status).toBe(503);
    expect(await liveness.text()).toMatch(/^heap \d+\.\d % of its limit$/);

    expect(await exited).toBe(1);
    const lines = logLines(output());
    const why = lines.filter((l) => l.msg.includes(EXITING));
    expect(why).toHaveLength(1);
    expect(why[0]).toMatchObject({ level: 50, exitAfter: 1000, problems: [expect.stringMatching(/^heap /)] });
    expect(why[0]?.msg).toMatch(/^liveness has failed for 1s \(heap \d+\.\d % of its limit\): exiting so the supervisor restarts it$/);
    // the normal stop ran to its end, nothing cut: 1 is the watchdog's code, not a forced stop's
    expect(lines.find((l) => l.msg === 'shutdown started: draining')).toMatchObject({ reason: 'liveness' });
    expect(lines.find((l) => l.msg === 'shutdown complete')).toMatchObject({ reason: 'liveness', forced: false, cutRequests: 0 });
  }, 60_000);

  it('with exitAfter off (the default) keeps running while /liveness fails, and exits 0 on SIGTERM', async () => {
    const { file, base } = await configWith('off', '{ maxHeapRatio: 0.000001 }');
    const { proc, output } = await startServing([bin, 'serve', '--config', file]);
    const exited = exitOf(proc);
    expect((await fetch(`${base}/liveness`)).status).toBe(503);
    // 30 checks at 100 ms: the process has run for 3 s of its own schedule, three times the other test's exitAfter
    await until(
      'thirty checks',
      async () => {
        const page = (await (await fetch(`${base}/api/components/target/checks?limit=200`)).json()) as { items: unknown[] };
        return page.items.length >= 30 ? true : undefined;
      },
      60_000,
    );
    expect(proc.exitCode).toBeNull();
    expect((await fetch(`${base}/liveness`)).status).toBe(503);
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output()).not.toContain(EXITING);
  }, 90_000);

  it('refuses a bad server.liveness at its path with exit code 2', async () => {
    const { file } = await configWith('bad', '{ maxHeapRatio: 0, exitAfter: -1 }');
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [bin, 'serve', '--config', file], (_error, _stdout, stderr) =>
        resolve({ code: child.exitCode, stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('server.liveness.maxHeapRatio: must be more than 0');
    expect(result.stderr).toContain('server.liveness.exitAfter: expected a duration like 30s, 5m, 7d or a number of ms >= 0');
  }, 30_000);
});
