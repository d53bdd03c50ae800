import { tmpdir } from 'node:os';
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
