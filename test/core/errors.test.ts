import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as ours from '../../src/core/errors.js';
import { BrokenCircuitError, IsolatedCircuitError, TimeoutError } from '../../src/policy/index.js';

/** A second copy of the errors module, as two versions of nines in one node_modules would load. */
async function secondCopy(): Promise<typeof ours> {
  const dir = mkdtempSync(join(tmpdir(), 'nines-errors-'));
  copyFileSync(new URL('../../src/core/errors.ts', import.meta.url), join(dir, 'errors.ts'));
  return (await import(pathToFileURL(join(dir, 'errors.ts')).href)) as typeof ours;
}

describe('error brand', () => {
  it('is recognised across two copies of the package, by class and by code', async () => {
    const other = await secondCopy();
    expect(other.NinesError).not.toBe(ours.NinesError);
    const theirs = new other.NinesError('NINES_TIMEOUT', 'late');
    expect(theirs instanceof ours.NinesError).toBe(true);
    expect(ours.isNinesError(theirs, 'NINES_TIMEOUT')).toBe(true);
    expect(ours.isNinesError(theirs, 'NINES_BULKHEAD_FULL')).toBe(false);
    const option = new other.InvalidOptionError('maxAttempts must be a number');
    expect(option instanceof ours.InvalidOptionError).toBe(true);
    expect(option instanceof ours.NinesError).toBe(true);
    expect(option instanceof TypeError).toBe(true);
    expect(ours.isNinesError(option, 'NINES_INVALID_OPTION')).toBe(true);
  });

  it('keeps subclasses apart: a timeout is not a broken circuit, an isolated circuit is one', () => {
    const timeout = new TimeoutError(100);
    expect(timeout instanceof ours.NinesError).toBe(true);
    expect(timeout instanceof TimeoutError).toBe(true);
    expect(timeout instanceof BrokenCircuitError).toBe(false);
    const isolated = new IsolatedCircuitError('db');
    expect(isolated instanceof BrokenCircuitError).toBe(true);
    expect(isolated instanceof IsolatedCircuitError).toBe(true);
    expect(new BrokenCircuitError('db', 5) instanceof IsolatedCircuitError).toBe(false);
  });

  it('is not claimed by look-alikes: a plain error with a nines code, or a non-error', () => {
    const fake = Object.assign(new Error('x'), { code: 'NINES_TIMEOUT' });
    expect(ours.isNinesError(fake)).toBe(false);
    expect(fake instanceof ours.NinesError).toBe(false);
    expect(ours.isNinesError(null)).toBe(false);
    expect(ours.isNinesError('NINES_TIMEOUT')).toBe(false);
    expect(Object.create(null) instanceof ours.NinesError).toBe(false);
  });
});

describe('the code list', () => {
  it('docs/errors.md documents every code of NinesErrorCode, and no other', () => {
    const source = readFileSync(new URL('../../src/core/errors.ts', import.meta.url), 'utf8');
    const union = source.slice(
      source.indexOf('export type NinesErrorCode'),
      source.indexOf(';', source.indexOf('export type NinesErrorCode')),
    );
    const declared = [...union.matchAll(/'(NINES_[A-Z_]+)'/g)].map((m) => m[1]).sort();
    const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...docs.matchAll(/^\| `(NINES_[A-Z_]+)`/gm)].map((m) => m[1]).sort();
    expect(declared.length).toBeGreaterThan(5);
    expect(documented).toEqual(declared);
  });

  it('src/ throws no bare Error or TypeError, except inside a health check, whose failure becomes its unhealthy result', () => {
    const found = spawnSync('grep', ['-rnE', 'throw new (Error|TypeError|RangeError|SyntaxError)\\(', 'src'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
    });
    expect(found.status, found.stderr).not.toBe(2);
    const bare = found.stdout.split('\n').filter((line) => line !== '' && !line.startsWith('src/health/checks/'));
    expect(bare).toEqual([]);
  });
});
