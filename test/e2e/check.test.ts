import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../health/checks/support.js';
import { listen } from '../support/http.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { bin: { nines: string } };
const bin = `${root}${pkg.bin.nines}`;
const dir = mkdtempSync(join(tmpdir(), 'nines-check-'));

/** Runs the built bin asynchronously (the loopback servers live in this process, so spawnSync would starve them). */
function nines(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

/**
 * Writes a config with these components to a temp file and returns its path. The defaults are far
 * above any loopback answer on a busy machine, so "healthy" never depends on the machine's speed;
 * a test about slowness sets its component's own `degradedAfter` below a delay the server adds.
 */
function config(name: string, components: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, `defaults:\n  interval: 1m\n  timeout: 30s\n  degradedAfter: 20s\ncomponents:\n${components}`);
  return path;
}

let server: Awaited<ReturnType<typeof listen>>;
let refused: number;
let up: string;

beforeAll(async () => {
  // `npm test` builds first; a lone run of this file builds only when the command is missing.
  if (!existsSync(`${root}dist/cli/check.js`)) {
    const { spawnSync } = await import('node:child_process');
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  }
  server = await listen((req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end('{"status":"UP"}'), 400);
    else if (req.url === '/hang')
      return; // never answers
    else res.end('{"status":"UP"}');
  });
  refused = await closedPort();
  up = `  - name: api\n    critical: true\n    check: { type: http, url: "${server.url}/" }\n    conditions: ["[BODY].status == UP"]\n  - name: port\n    check: { type: tcp, host: 127.0.0.1, port: ${server.port} }\n`;
}, 120_000);

afterAll(() => server.close());

describe('nines check (built)', () => {
  it('exits 0 when every component is healthy, printing a table, and exits (a handle left open would hang it past the test timeout)', async () => {
    const r = await nines('check', '--config', config('up', up));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^COMPONENT\s+STATUS\s+LATENCY\s+ERROR$/);
    expect(lines[1]).toMatch(/^api \*\s+healthy\s+\d+ ms$/);
    expect(lines[2]).toMatch(/^port\s+healthy\s+\d+ ms$/);
    expect(r.stdout).toContain('overall: healthy (2 healthy)');
    expect(r.stdout).not.toContain('\u001b['); // no colour when stdout is not a terminal
  });

  it('exits 2 when one component is down, naming why', async () => {
    const down = `${up}  - name: gone\n    check: { type: tcp, host: 127.0.0.1, port: ${refused} }\n`;
    const r = await nines('check', '-c', config('down', down));
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/gone\s+unhealthy\s+\d+ ms\s+.*ECONNREFUSED/);
  });

  it('exits 1 when one component is degraded (slow), and --verbose shows details', async () => {
    const slow = `${up}  - name: slow\n    degradedAfter: 200ms\n    check: { type: http, url: "${server.url}/slow" }\n`; // answers after 400 ms
    const r = await nines('check', '-c', config('slow', slow), '--verbose');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/slow\s+degraded\s+\d+ ms\s+slow: \d+ ms > 200 ms/);
    expect(r.stdout).toContain('"statusCode":200');
  });

  it('--json prints the results and the overall status', async () => {
    const down = `${up}  - name: gone\n    check: { type: tcp, host: 127.0.0.1, port: ${refused} }\n`;
    const r = await nines('check', '-c', config('json', down), '--json');
    expect(r.status).toBe(2);
    const parsed = JSON.parse(r.stdout) as { status: string; components: Array<{ name: string; status: string; critical: boolean }> };
    expect(parsed.status).toBe('unhealthy');
    expect(parsed.components.map((c) => [c.name, c.status, c.critical])).toEqual([
      ['api', 'healthy', true],
      ['port', 'healthy', false],
      ['gone', 'unhealthy', false],
    ]);
  });

  it('times out a hung component (error `timeout`) and still exits, though the server never answers', async () => {
    const hung = `  - name: hung\n    timeout: 300ms\n    degradedAfter: 100ms\n    check: { type: http, url: "${server.url}/hang" }\n`;
    const r = await nines('check', '-c', config('hung', hung), '--json');
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout).components[0]).toMatchObject({ status: 'unhealthy', error: 'timeout' });
  });

  it('exits 2 for a bad config, listing its problems like validate', async () => {
    const r = await nines('check', '-c', config('bad', '  - name: Bad Name\n    check: { type: smtp }\n'));
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/components\[0\]\.name: /);
    expect(r.stderr).toMatch(/components\[0\]\.check.*unknown check type/);
  });
});
