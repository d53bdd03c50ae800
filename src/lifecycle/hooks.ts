import type { Clock } from '../core/clock.js';

/** A cleanup step run after the servers stopped: close pools, flush logs. `signal` aborts at the hook's timeout. */
export type ShutdownHookFn = (signal: AbortSignal) => unknown;

/** A registered hook. */
export interface ShutdownHook {
  readonly name: string;
  readonly fn: ShutdownHookFn;
  readonly timeout: number;
}

/** How one hook ended. */
export interface HookResult {
  /** The name given to `addHook`. */
  name: string;
  /** True when the hook resolved within its timeout. */
  ok: boolean;
  /** How long it ran (until it settled or timed out). */
  ms: number;
  /** Why it failed: the error's message, or that it timed out. */
  error?: string;
}

/** Runs `hook` under its own timeout; never throws, so one broken hook cannot stop the others. */
export async function runHook(hook: ShutdownHook, clock: Clock): Promise<HookResult> {
  const started = clock.now();
  const controller = new AbortController();
  let timer: { clear(): void } | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = clock.setTimeout(() => {
        const error = new Error(`timed out after ${hook.timeout} ms`);
        controller.abort(error);
        reject(error);
      }, hook.timeout);
      // A sync throw becomes a rejection instead of escaping the loop over hooks.
      Promise.resolve()
        .then(() => hook.fn(controller.signal))
        .then(() => resolve(), reject);
    });
    return { name: hook.name, ok: true, ms: clock.now() - started };
  } catch (error) {
    return { name: hook.name, ok: false, ms: clock.now() - started, error: error instanceof Error ? error.message : String(error) };
  } finally {
    timer?.clear();
  }
}
