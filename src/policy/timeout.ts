import { abortReason } from '../core/abort.js';
import { type Clock, systemClock } from '../core/clock.js';
import { InvalidOptionError, NinesError } from '../core/errors.js';
import { checkNumber } from '../core/validate.js';
import { Deadline, DeadlineList } from './deadline-list.js';
import { BasePolicy, type ExecuteContext, neverAbortedSignal, type PolicyFn } from './policy.js';

/** Thrown when a call outlives its timeout. */
export class TimeoutError extends NinesError {
  /** The limit that was exceeded, in ms. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number, options?: { cause?: unknown }) {
    super('NINES_TIMEOUT', `operation timed out after ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

/** Options of {@link timeout}. */
export interface TimeoutOptions {
  /**
   * `cooperative` (default): at the deadline abort the signal and wait for `fn` to stop; if it then
   * throws, throw TimeoutError. `aggressive`: also reject at the deadline without waiting.
   */
  strategy?: 'cooperative' | 'aggressive';
  /** Source of time. Default {@link systemClock}. */
  clock?: Clock;
}

/**
 * The context handed to `fn`: its AbortController is made only if `fn` reads `signal`,
 * so a timeout that nothing hits costs neither a controller nor a timer.
 */
class TimeoutCall extends Deadline implements ExecuteContext {
  readonly attempt: number;
  timedOut = false;
  #controller: AbortController | undefined;
  #onParentAbort: (() => void) | undefined;
  #aborted: { reason: unknown } | undefined;

  constructor(
    private readonly parent: ExecuteContext,
    private readonly ms: number,
    private readonly onExpire: ((error: TimeoutError) => void) | undefined,
  ) {
    super();
    this.attempt = parent.attempt;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      const parent = this.parent.signal;
      if (this.timedOut) controller.abort(new TimeoutError(this.ms));
      else if (this.#aborted) controller.abort(this.#aborted.reason);
      else if (parent.aborted) controller.abort(abortReason(parent));
      else if (parent !== neverAbortedSignal) {
        this.#onParentAbort = () => controller.abort(abortReason(parent));
        parent.addEventListener('abort', this.#onParentAbort, { once: true });
      }
    }
    return this.#controller.signal;
  }

  expire(): void {
    this.timedOut = true;
    const error = new TimeoutError(this.ms);
    this.#controller?.abort(error);
    this.onExpire?.(error);
  }

  /** Aborts the inner signal now (the caller gave up); a signal read later is born aborted. */
  abort(reason: unknown): void {
    this.#aborted = { reason };
    this.#controller?.abort(reason);
  }

  dispose(): void {
    if (this.#onParentAbort) this.parent.signal.removeEventListener('abort', this.#onParentAbort);
  }
}

/** Limits how long a call may take; see {@link timeout}. */
export class TimeoutPolicy extends BasePolicy {
  readonly #deadlines: DeadlineList;
  readonly #aggressive: boolean;

  /** `ms` is the limit; see {@link TimeoutOptions}. */
  constructor(
    readonly ms: number,
    options: TimeoutOptions = {},
  ) {
    super();
    checkNumber('timeout', ms);
    const strategy = options.strategy ?? 'cooperative';
    if (strategy !== 'cooperative' && strategy !== 'aggressive') {
      throw new InvalidOptionError(`strategy must be 'cooperative' or 'aggressive', got ${String(strategy)}`);
    }
    this.#aggressive = strategy === 'aggressive';
    this.#deadlines = new DeadlineList(options.clock ?? systemClock);
  }

  /** Runs `fn` in an existing context (used by `compose` to pass `signal` and `attempt` through). */
  run<T>(fn: PolicyFn<T>, context: ExecuteContext): Promise<T> {
    return this.#aggressive ? this.#runAggressive(fn, context) : this.#runCooperative(fn, context);
  }

  async #runCooperative<T>(fn: PolicyFn<T>, context: ExecuteContext): Promise<T> {
    const call = new TimeoutCall(context, this.ms, undefined);
    this.#deadlines.add(call, this.ms);
    try {
      return await fn(call);
    } catch (error) {
      throw call.timedOut && !(error instanceof TimeoutError) ? new TimeoutError(this.ms, { cause: error }) : error;
    } finally {
      this.#deadlines.remove(call);
      call.dispose();
    }
  }

  #runAggressive<T>(fn: PolicyFn<T>, context: ExecuteContext): Promise<T> {
    const parent = context.signal;
    if (parent.aborted) return Promise.reject(abortReason(parent));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const call: TimeoutCall = new TimeoutCall(context, this.ms, (error) => finish(reject, error));
      const onAbort =
        parent === neverAbortedSignal
          ? undefined
          : () => {
              // abort fn's signal here: finish() removes the call's own parent listener before it would fire
              call.abort(abortReason(parent));
              finish(reject, abortReason(parent));
            };
      if (onAbort) parent.addEventListener('abort', onAbort, { once: true });
      const finish = <V>(settle: (v: V) => void, v: V) => {
        if (settled) return;
        settled = true;
        this.#deadlines.remove(call);
        call.dispose();
        if (onAbort) parent.removeEventListener('abort', onAbort);
        settle(v);
      };
      this.#deadlines.add(call, this.ms);
      try {
        Promise.resolve(fn(call)).then(
          (value) => finish(resolve, value),
          (error) => finish(reject, error),
        );
      } catch (error) {
        finish(reject, error);
      }
    });
  }
}

/** A timeout of `ms` milliseconds. */
export function timeout(ms: number, options?: TimeoutOptions): TimeoutPolicy {
  return new TimeoutPolicy(ms, options);
}
