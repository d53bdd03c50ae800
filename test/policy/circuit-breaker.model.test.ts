import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrokenCircuitError, CircuitBreaker, type CircuitState, ManualClock } from '../../src/policy/index.js';

type Step = { kind: 'ok' } | { kind: 'fail' } | { kind: 'advance'; ms: number };

const steps = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.constant<Step>({ kind: 'ok' }) },
    { weight: 4, arbitrary: fc.constant<Step>({ kind: 'fail' }) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 3000 }).map<Step>((ms) => ({ kind: 'advance', ms })) },
  ),
  { maxLength: 80 },
);

/** A deliberately plain reference of the breaker's rules, one call at a time. */
class Model {
  state: CircuitState = 'closed';
  now = 0;
  openUntil = 0;
  halfOpenSuccesses = 0;
  outcomes: boolean[] = []; // true = failed (window modes)
  consecutive = 0;
  lastFailure = Number.NEGATIVE_INFINITY;

  constructor(
    readonly o: {
      mode: 'consecutive' | 'count';
      threshold: number;
      resetTimeout: number;
      size: number;
      rate: number;
      minimum: number;
      openDuration: number;
      successThreshold: number;
    },
  ) {}

  /** Returns true when the call is rejected. */
  call(failed: boolean): boolean {
    if (this.state === 'open' && this.now >= this.openUntil) {
      this.state = 'half-open';
      this.halfOpenSuccesses = 0;
    }
    if (this.state === 'open') return true;
    if (this.state === 'half-open') {
      if (failed) this.open();
      else if (++this.halfOpenSuccesses >= this.o.successThreshold) this.close();
      return false;
    }
    if (this.o.mode === 'consecutive') {
      if (!failed) this.consecutive = 0;
      else {
        if (this.now - this.lastFailure >= this.o.resetTimeout) this.consecutive = 0;
        this.lastFailure = this.now;
        if (++this.consecutive >= this.o.threshold) this.open();
      }
    } else {
      this.outcomes.push(failed);
      if (this.outcomes.length > this.o.size) this.outcomes.shift();
      const failures = this.outcomes.filter(Boolean).length;
      if (failed && this.outcomes.length >= this.o.minimum && (failures * 100) / this.outcomes.length >= this.o.rate) this.open();
    }
    return false;
  }

  open() {
    this.state = 'open';
    this.openUntil = this.now + this.o.openDuration;
  }

  close() {
    this.state = 'closed';
    this.consecutive = 0;
    this.outcomes = [];
  }
}

describe('CircuitBreaker against a reference model', () => {
  for (const mode of ['consecutive', 'count'] as const) {
    it(`${mode} mode agrees with the model on every random sequence`, async () => {
      await fc.assert(
        fc.asyncProperty(
          steps,
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 10, max: 100 }),
          fc.integer({ min: 1, max: 3 }),
          async (script, threshold, size, rate, successThreshold) => {
            const o = { mode, threshold, resetTimeout: 2000, size, rate, minimum: Math.min(size, 3), openDuration: 1500, successThreshold };
            const model = new Model(o);
            const clock = new ManualClock();
            const breaker = new CircuitBreaker({
              mode,
              failureThreshold: threshold,
              resetTimeout: o.resetTimeout,
              windowSize: size,
              failureRateThreshold: rate,
              minimumThroughput: o.minimum,
              openDuration: o.openDuration,
              successThreshold,
              clock,
            });
            for (const step of script) {
              if (step.kind === 'advance') {
                model.now += step.ms;
                await clock.advance(step.ms);
                continue;
              }
              const failed = step.kind === 'fail';
              const expectRejected = model.call(failed);
              const result = await breaker
                .execute(() => {
                  if (failed) throw new Error('x');
                  return 1;
                })
                .then(
                  () => 'ok',
                  (e) => (e instanceof BrokenCircuitError ? 'rejected' : 'failed'),
                );
              expect(result === 'rejected').toBe(expectRejected);
              expect(breaker.state).toBe(model.state === 'open' && model.now >= model.openUntil ? 'half-open' : model.state);
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});
