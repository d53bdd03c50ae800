/** A listener registration; call it to stop listening. */
export type Unsubscribe = () => void;

type Listeners<E> = { [K in keyof E]?: Array<(event: E[K]) => void> };

/**
 * A tiny typed event emitter. Policies check {@link Events.listening} before building an
 * event object, so an event nobody listens to costs one property read.
 */
export class Events<E extends object> {
  /** Listeners per event name; `undefined` when none. */
  protected readonly listeners: Listeners<E> = {};

  /** Calls `listener` on every `event` until the returned function is called. */
  on<K extends keyof E>(event: K, listener: (event: E[K]) => void): Unsubscribe {
    const list = this.listeners[event] ?? [];
    this.listeners[event] = [...list, listener];
    return () => {
      const current = this.listeners[event]?.filter((l) => l !== listener);
      this.listeners[event] = current && current.length > 0 ? current : undefined;
    };
  }

  /** True when at least one listener waits for `event`. */
  listening<K extends keyof E>(event: K): boolean {
    return this.listeners[event] !== undefined;
  }

  /** Delivers `payload`; a listener that throws is reported as a process warning, never to the caller. */
  emit<K extends keyof E>(event: K, payload: E[K]): void {
    const list = this.listeners[event];
    if (list === undefined) return;
    for (const listener of list) {
      try {
        listener(payload);
      } catch (error) {
        reportListenerError(error);
      }
    }
  }
}

/** Reports an error thrown by user code called from a policy (a listener, a predicate) as a process warning. */
export function reportListenerError(error: unknown): void {
  process.emitWarning(error instanceof Error ? error : new Error(String(error)), 'NinesListenerError');
}
