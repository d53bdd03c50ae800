import { describe, expect, it } from 'vitest';
import { PartialFailureError, PartialFailureHandler } from '../../../src/degrade/fallback/index.js';
import { createMetricsRegistry, fallbackMetrics } from '../../../src/metrics/index.js';
import { InvalidOptionError, isNinesError, TimeoutError, timeout } from '../../../src/policy/index.js';
import { clockAtStart } from './helpers.js';

const fails = (message: string) => async (): Promise<never> => {
  throw new Error(message);
};

describe('PartialFailureHandler', () => {
  it('succeeds with every value when every part does', async () => {
    const h = new PartialFailureHandler({ minSuccessRate: 1 });
    const report = await h.run({ user: async () => ({ id: 1 }), orders: () => [1, 2] });
    expect(report).toEqual({
      source: 'fresh',
      values: { user: { id: 1 }, orders: [1, 2] },
      succeeded: ['user', 'orders'],
      failures: [],
      total: 2,
      successRate: 1,
    });
  });

  it('at or above minSuccessRate: partial values, and which parts failed with their errors kept', async () => {
    const h = new PartialFailureHandler({ minSuccessRate: 0.5 });
    const down = new Error('recs down');
    const report = await h.run({
      a: () => 1,
      b: async () => {
        throw down;
      },
      c: () => 3,
      d: fails('ads down'),
    });
    expect(report.source).toBe('partial');
    expect(report.values).toEqual({ a: 1, c: 3 });
    expect(report.successRate).toBe(0.5);
    expect(report.failures.map((f) => f.part)).toEqual(['b', 'd']);
    expect(report.failures[0]?.error).toBe(down);
  });

  it('below minSuccessRate: PartialFailureError with the same report', async () => {
    const h = new PartialFailureHandler({ name: 'page', minSuccessRate: 0.75 });
    const error = (await h.run([() => 'x', fails('one'), () => 'z', fails('two')]).catch((e: unknown) => e)) as PartialFailureError;
    expect(error).toBeInstanceOf(PartialFailureError);
    expect(isNinesError(error, 'NINES_PARTIAL_FAILURE')).toBe(true);
    expect(error.message).toBe('page: 2 of 4 parts failed (success rate 0.5 < 0.75)');
    expect(error.report.values).toEqual(['x', undefined, 'z', undefined]);
    expect(error.report.failures.map((f) => [f.part, (f.error as Error).message])).toEqual([
      ['1', 'one'],
      ['3', 'two'],
    ]);
    expect((error.cause as Error).message).toBe('one');
  });

  it('minSuccessRate 0 always succeeds; no parts is a success rate of 1', async () => {
    const all = await new PartialFailureHandler({ minSuccessRate: 0 }).run([fails('a'), fails('b')]);
    expect(all.successRate).toBe(0);
    expect((await new PartialFailureHandler({ minSuccessRate: 1 }).run({})).successRate).toBe(1);
  });

  it('a per-part timeout through the policy fails only the slow part', async () => {
    const clock = clockAtStart();
    const h = new PartialFailureHandler({ minSuccessRate: 0.5, policy: timeout(100, { clock }) });
    const slow = ({ signal }: { signal: AbortSignal }) =>
      new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    const run = h.run({ fast: () => 'ok', slow });
    await clock.advance(100);
    const report = await run;
    expect(report.values).toEqual({ fast: 'ok' });
    expect(report.failures[0]?.error).toBeInstanceOf(TimeoutError);
  });

  it("the caller's signal aborts every part and the run at once", async () => {
    const h = new PartialFailureHandler({ minSuccessRate: 1 });
    const controller = new AbortController();
    const aborted: unknown[] = [];
    const part = ({ signal }: { signal: AbortSignal }) =>
      new Promise((_, reject) =>
        signal.addEventListener('abort', () => {
          aborted.push(signal.reason);
          reject(signal.reason);
        }),
      );
    const run = h.run([part, part], controller.signal);
    controller.abort(new Error('client left'));
    await expect(run).rejects.toThrow('client left');
    expect(aborted).toHaveLength(2);
    await expect(h.run([part], AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('counts runs as fresh, partial or failed', async () => {
    const registry = createMetricsRegistry();
    const h = new PartialFailureHandler({ name: 'home', minSuccessRate: 0.5, metrics: fallbackMetrics(registry) });
    await h.run([() => 1]);
    await h.run([() => 1, fails('x')]);
    await h.run([fails('x')]).catch(() => undefined);
    const text = await registry.metrics();
    for (const s of ['fresh', 'partial', 'failed']) expect(text).toContain(`nines_fallback_total{fallback="home",source="${s}"} 1`);
  });

  it('bad options and parts are refused with the name', async () => {
    expect(() => new PartialFailureHandler({ minSuccessRate: 1.5 })).toThrow(InvalidOptionError);
    expect(() => new PartialFailureHandler({ minSuccessRate: 0.5, policy: {} as never })).toThrow(/policy/);
    await expect(new PartialFailureHandler({ minSuccessRate: 1 }).run({ a: 'x' as never })).rejects.toThrow(/parts.a must be a function/);
  });
});
