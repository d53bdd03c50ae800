// Smoke test of bench/failover.ts: one short run end to end, checked for its accounting, not its speed.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const BENCH = fileURLToPath(new URL('../../bench/failover.ts', import.meta.url));

describe('bench:failover --quick', () => {
  it('runs one scenario and prints one JSON line whose counts add up', async () => {
    const env = {
      ...process.env,
      BENCH_ONLY: '^BalancedPool/kill$',
      BENCH_DURATION: '0.5',
      BENCH_RATE: '200',
      BENCH_NINES: '/nonexistent/failover.js',
    };
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BENCH, '--quick'], { env });
    expect(stderr).toContain('nines: FailoverDispatcher not built yet, skipped');
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0] as string);
    expect(out.bench).toBe('failover');
    expect(out.results).toHaveLength(1);
    const [run] = out.results;
    expect(run).toMatchObject({ implementation: 'BalancedPool', scenario: 'kill', sent: 100 });
    const failed = Object.values(run.failedByCode as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(run.ok + failed).toBe(run.sent);
    // The killed host was counted (a number, not absent), whatever BalancedPool did with it.
    expect(typeof run.badAttempts).toBe('number');
    expect(run.afterFirstFailureWorstRound).toBeLessThanOrEqual(run.badAttempts); // a part of them
    expect(out.targets.BalancedPool.attemptsAfterFirstFailureKill.measured).toBe(run.afterFirstFailureWorstRound);
    expect(out.targets.BalancedPool.failedGetsKill.limit).toBe(0);
  });
});
