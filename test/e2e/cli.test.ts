import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; bin: { nines: string } };
const bin = new URL(`../../${pkg.bin.nines}`, import.meta.url).pathname;

describe('nines CLI (built)', () => {
  it('prints its version and help from the bin that npm links', () => {
    const version = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(pkg.version);
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(help.stdout).toContain('Usage: nines');
  });

  it('exports the Prometheus rules of the bundled example', () => {
    const config = new URL('../../examples/nines.yaml', import.meta.url).pathname;
    const r = spawnSync(process.execPath, [bin, 'export', 'prometheus-rules', '--config', config], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('- alert: NinesErrorBudgetBurn');
    expect(r.stdout).toContain('record: nines_slo:burn_rate:max');
  });

  it('rejects an unknown command with a non-zero exit and says why', () => {
    const r = spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command|too many arguments/i);
  });
});
