/** What a policy hands to the function it runs. */
export interface ExecuteContext {
  /** Aborted when the caller gives up or a timeout expires; pass it on to I/O. */
  readonly signal: AbortSignal;
  /** 1 for the first call, 2 for the first retry, and so on. */
  readonly attempt: number;
}

/** The function a policy runs; it may be sync or async. */
export type PolicyFn<T> = (context: ExecuteContext) => T | PromiseLike<T>;

/** The one interface every policy and every composition shares. */
export interface Policy {
  /** Runs `fn` under this policy; `signal` lets the caller abort. */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T>;
  /** Runs `fn` with an existing context; used by {@link compose} to thread `attempt` through. */
  run<T>(fn: PolicyFn<T>, context: ExecuteContext): Promise<T>;
}

/** How a call ended, as seen by `shouldHandle`, `retryOn` and `fallback`'s `on`. */
export type Outcome<T = unknown> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** Decides whether an outcome is a failure the policy should act on. */
export type OutcomePredicate = (outcome: Outcome) => boolean;

const neverController = new AbortController();

/** A signal that never aborts; shared so a call without a signal allocates nothing. */
export const neverAbortedSignal: AbortSignal = neverController.signal;

/** The context of a first call made without a signal; shared, frozen. */
export const rootContext: ExecuteContext = Object.freeze({ signal: neverAbortedSignal, attempt: 1 });

/** Builds the context for `execute(fn, signal)`. */
export function contextFor(signal: AbortSignal | undefined): ExecuteContext {
  return signal === undefined ? rootContext : { signal, attempt: 1 };
}

/** Base class giving every policy `execute` on top of its `run`. */
export abstract class BasePolicy implements Policy {
  /** Runs `fn` under this policy; `signal` lets the caller abort. */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
    return this.run(fn, contextFor(signal));
  }

  /** Runs `fn` in an existing context. */
  abstract run<T>(fn: PolicyFn<T>, context: ExecuteContext): Promise<T>;
}
