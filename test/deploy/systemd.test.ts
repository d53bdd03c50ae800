import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SERVE_SHUTDOWN, serveShutdownBudgetMs } from '../../src/cli/serve-shutdown.js';
import { root } from '../support/e2e.js';
import { durationMs, imageCommand, read } from './files.js';

const analyze = '/usr/bin/systemd-analyze';
const unitText = read('deploy/systemd/nines.service');
const dir = mkdtempSync(join(tmpdir(), 'nines-systemd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every value of `key=` in the unit, in order. */
const values = (key: string) => [...unitText.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1] ?? '');

/** The unit as installed here: `verify` needs ExecStart's binary and script to exist, so they point at this node and checkout. */
function installedHere(text = unitText): string {
  const path = join(dir, 'nines.service');
  writeFileSync(path, text.replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/nines/node_modules/nines/', root));
  return path;
}

describe.skipIf(!existsSync(analyze) && !process.env.CI)('deploy/systemd/nines.service', () => {
  it('passes systemd-analyze verify with nothing to say', () => {
    const run = spawnSync(analyze, ['verify', installedHere()], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    // and verify does complain about a misspelled setting, so silence means something
    const typo = spawnSync(analyze, ['verify', installedHere(unitText.replace('ProtectHome=', 'ProtectHomes='))], { encoding: 'utf8' });
    expect(typo.stderr).toContain("Unknown key 'ProtectHomes'");
  });

  it('scores an exposure below 2.0 in systemd-analyze security', () => {
    const out = execFileSync(analyze, ['security', '--offline=true', '--no-pager', installedHere()], { encoding: 'utf8' });
    const score = Number(/Overall exposure level for nines\.service: ([\d.]+)/.exec(out)?.[1]);
    console.log(`systemd-analyze security: ${score}`);
    expect(score).toBeLessThan(2);
  });

  it("runs the image's command, and gives it longer to stop than nines' own shutdown can take", () => {
    const [node, ...args] = imageCommand();
    const start = values('ExecStart')[0]?.split(' ') ?? [];
    expect(start[0]).toBe(`/usr/bin/${node}`);
    expect(start.slice(1)).toEqual(args.map((arg) => (arg.startsWith('dist/') ? `/opt/nines/node_modules/nines/${arg}` : arg)));
    expect(values('KillSignal')).toEqual(['SIGTERM']);
    const stop = durationMs(values('TimeoutStopSec')[0] ?? '90s');
    expect(stop).toBeGreaterThan(SERVE_SHUTDOWN.drainDelayMs + SERVE_SHUTDOWN.timeoutMs);
    expect(stop).toBeGreaterThan(serveShutdownBudgetMs({}));
  });

  it('reloads by SIGHUP (test/deploy/entrypoint.test.ts shows serve reloading on it) and never sets MemoryDenyWriteExecute (V8 JITs)', () => {
    expect(values('ExecReload').at(-1)).toBe('/bin/kill -HUP $MAINPID');
    expect(values('MemoryDenyWriteExecute')).toEqual([]);
    expect(values('Restart')).toEqual(['on-failure']);
    expect(values('StateDirectory')).toEqual(['nines']);
  });
});
