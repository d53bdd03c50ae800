import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const run = (env: Record<string, string>, timeout: number, file = fixture('leak-child.ts')) =>
  spawnSync(process.execPath, ['--import', 'tsx', file], { env: { ...process.env, ...env }, timeout, encoding: 'utf8' });

describe('no leaked handles (real timers)', () => {
  it('a process that used every policy exits by itself as soon as its work is done', () => {
    const result = run({}, 8000); // the hang guard: a held process is killed (signal set)
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^\d+ fallbacks/);
    expect(Number.parseInt(result.stdout, 10)).toBeGreaterThan(0);
    // 30 s and 5 s deadlines were pending when the work ended: their timers must not hold the process
    expect(result.stdout).toMatch(/^0 timers hold the process$/m);
  });

  it('a pending backoff sleep or timeout keeps the process alive until it settles', () => {
    const result = run({}, 8000, fixture('waiting-child.ts'));
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('retried TimeoutError\n');
  });

  it('control: the same check catches a timer that holds the process open', () => {
    const result = run({ LEAK: '1' }, 2500);
    expect(result.signal).toBe('SIGTERM');
    expect(result.stdout).toMatch(/^1 timers hold the process$/m);
  });
});
