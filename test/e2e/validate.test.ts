import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { bin: { nines: string } };
const bin = `${root}${pkg.bin.nines}`;
// Without the environment: the example must validate with no variable set.
const env = { PATH: process.env.PATH ?? '' };

function nines(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { cwd: root, env, encoding: 'utf8' });
}

function ninesIn(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { cwd, env, encoding: 'utf8' });
}

describe('nines validate (built)', () => {
  beforeAll(() => {
    // `npm test` builds first; a lone run of this file builds only when the command is missing.
    if (!existsSync(`${root}dist/cli/validate.js`)) spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  }, 120_000);

  it('accepts examples/nines.yaml: exit 0 and a one-line summary', () => {
    const r = nines('validate', '--config', 'examples/nines.yaml');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('config OK: 4 components, 1 SLO\n');
    expect(r.status).toBe(0);
  });

  it('lists every problem of a broken file as path: message on stderr, exit 2', () => {
    const file = 'test/fixtures/config/many-problems.yaml';
    const r = nines('validate', '-c', file);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const expected = readFileSync(`${root}test/fixtures/config/many-problems.expected.txt`, 'utf8').trim().split('\n');
    expect(r.stderr.trim().split('\n')).toEqual(expected);
  });

  it('reports a missing file as one problem, and reads ./nines.yaml by default', () => {
    const r = ninesIn(mkdtempSync(join(tmpdir(), 'nines-validate-')), 'validate');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('./nines.yaml: cannot read: ENOENT\n');
  });

  it('names an unset variable without leaking anything', () => {
    const r = nines('validate', '-c', 'test/fixtures/config/unset-env.yaml');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('server.token: environment variable NINES_TOKEN is not set');
  });
});
