import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { blockAt, runBlock, shellBlocks } from './support/runbooks.js';

const env = { PATH: process.env.PATH };
const doc = (...lines: string[]) => lines.join('\n');

describe('runbook blocks', () => {
  it('finds exec and no-exec shell blocks with their expectations, and skips other languages', () => {
    const blocks = shellBlocks(
      doc(
        '# Runbook',
        '<!-- expect: hello -->',
        '<!-- expect: world -->',
        '```sh exec',
        'echo hello world',
        '```',
        '```yaml',
        'a: 1',
        '```',
        '```sh no-exec',
        'kubectl get pods',
        '```',
      ),
    );
    expect(blocks).toEqual([
      { line: 4, mode: 'exec', script: 'echo hello world', expect: ['hello', 'world'] },
      { line: 10, mode: 'no-exec', script: 'kubectl get pods', expect: [] },
    ]);
  });

  it('refuses a shell block with neither marker, naming its line', () => {
    expect(() => shellBlocks(doc('text', '```sh', 'nines serve', '```'), 'x.md')).toThrow(
      'x.md:2: a shell block without `exec` or `no-exec`',
    );
  });

  it('reports a block that fails as a failure, and one that passes as passed', async () => {
    const blocks = shellBlocks(
      doc(
        '```sh exec',
        'echo before',
        'false',
        'echo after',
        '```',
        '```sh exec',
        'true',
        '```',
        '```sh exec',
        'ls /nonexistent | cat',
        '```',
      ),
    );
    const cwd = tmpdir();
    const failed = await runBlock(blockAt(blocks, 0), { cwd, env });
    expect(failed.failure).toBe('exited with 1');
    // -e: the block stops at the failing command
    expect(failed.stdout).toBe('before\n');
    expect((await runBlock(blockAt(blocks, 1), { cwd, env })).failure).toBeUndefined();
    // pipefail: a failure early in a pipe is not hidden by the last command
    expect((await runBlock(blockAt(blocks, 2), { cwd, env })).failure).toBe('exited with 2');
  });

  it('reports a block whose stdout lacks what the runbook says it prints', async () => {
    const block = blockAt(shellBlocks(doc('<!-- expect: status: ok -->', '```sh exec', 'echo "status: degraded"', '```')), 0);
    const run = await runBlock(block, { cwd: tmpdir(), env });
    expect(run.code).toBe(0);
    expect(run.failure).toBe('stdout lacks "status: ok"');
  });

  it('fails a block that uses an unset variable (bash -u), so a missing NINES_* is caught', async () => {
    const block = blockAt(shellBlocks(doc('```sh exec', 'echo "$NINES_NOT_SET"', '```')), 0);
    expect((await runBlock(block, { cwd: tmpdir(), env })).failure).toBe('exited with 1');
  });
});

const RUNBOOKS = fileURLToPath(new URL('../docs/runbooks/', import.meta.url));
/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
const anchors = (file: string) => new Set([...readFileSync(file, 'utf8').matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] ?? '')));

describe('runbook links', () => {
  it('point at files and headings that exist, so a renamed section breaks the test, not the reader', () => {
    const broken: string[] = [];
    for (const name of readdirSync(RUNBOOKS).filter((f) => f.endsWith('.md'))) {
      const file = join(RUNBOOKS, name);
      for (const [, target = ''] of readFileSync(file, 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [path = '', anchor] = target.split('#');
        const linked = path === '' ? file : join(dirname(file), path);
        if (!existsSync(linked)) broken.push(`${name}: ${target} (no file)`);
        else if (anchor !== undefined && linked.endsWith('.md') && !anchors(linked).has(anchor))
          broken.push(`${name}: ${target} (no heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
