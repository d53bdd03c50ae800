/**
 * Measures how long the event loop was blocked, as the drift of an unref'd interval timer.
 * perf_hooks.monitorEventLoopDelay skips its first interval after enable()/reset(), so a block
 * that starts right after a liveness probe resets it would go unseen; the drift of our own timer
 * sees it, for one timer tick per `resolutionMs`.
 */
export class EventLoopLag {
  readonly #resolution: number;
  #timer: NodeJS.Timeout | undefined;
  #last = 0;
  #max = 0;
  #users = 0;

  /** Samples every `resolutionMs` (default 20) while at least one user has called {@link start}. */
  constructor(resolutionMs = 20) {
    this.#resolution = resolutionMs;
  }

  /** Starts sampling (reference-counted); the timer never keeps the process alive. */
  start(): void {
    if (this.#users++ > 0) return;
    this.#last = performance.now();
    this.#max = 0;
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#max = Math.max(this.#max, now - this.#last - this.#resolution);
      this.#last = now;
    }, this.#resolution);
    this.#timer.unref();
  }

  /** Stops sampling when the last user stops. */
  stop(): void {
    if (this.#users === 0 || --this.#users > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Longest block (ms) since the last {@link reset}, the stretch still running included. */
  get maxMs(): number {
    return Math.max(this.#max, this.currentMs);
  }

  /** How long (ms) the loop has been blocked right now: how late the sampling timer is; 0 when on time or stopped. */
  get currentMs(): number {
    return this.#timer === undefined ? 0 : Math.max(0, performance.now() - this.#last - this.#resolution);
  }

  /** Starts a new measuring window; a block already reported by {@link maxMs} is not counted again. */
  reset(): void {
    this.#max = 0;
    if (this.#timer !== undefined) this.#last = performance.now();
  }
}
