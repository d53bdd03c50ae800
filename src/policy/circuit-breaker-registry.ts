import { CircuitBreaker, type CircuitBreakerOptions, type CircuitBreakerStats } from './circuit-breaker.js';

/** Named breakers shared across a process, so every caller of one dependency trips the same breaker. */
export class CircuitBreakerRegistry {
  readonly #breakers = new Map<string, CircuitBreaker>();

  /** `defaults` apply to every breaker the registry creates (clock, metrics, thresholds). */
  constructor(private readonly defaults: Omit<CircuitBreakerOptions, 'name' | 'snapshot'> = {}) {}

  /** The breaker called `name`, created with `options` (over the defaults) on first use. */
  getOrCreate(name: string, options: Omit<CircuitBreakerOptions, 'name'> = {}): CircuitBreaker {
    let breaker = this.#breakers.get(name);
    if (breaker === undefined) {
      breaker = new CircuitBreaker({ ...this.defaults, ...options, name });
      this.#breakers.set(name, breaker);
    }
    return breaker;
  }

  /** The breaker called `name`, if any. */
  get(name: string): CircuitBreaker | undefined {
    return this.#breakers.get(name);
  }

  /** Figures of every breaker, sorted by name. */
  list(): CircuitBreakerStats[] {
    return [...this.#breakers.values()].map((b) => b.stats()).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Closes every breaker. */
  resetAll(): void {
    for (const breaker of this.#breakers.values()) breaker.reset();
  }
}
