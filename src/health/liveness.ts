import { getHeapStatistics } from 'node:v8';
import type { EventLoopLag } from './event-loop-lag.js';

/** What makes a process not alive, whoever serves the probe. */
export interface ProcessLimits {
  /** Longest event-loop block (ms) allowed since the last probe. */
  maxDelayMs: number;
  /** Largest share of the heap limit in use. */
  maxHeapRatio: number;
}

/** The process-level reasons to fail liveness; starts a new event-loop window. */
export function processProblems(loop: EventLoopLag, limits: ProcessLimits): string[] {
  const problems: string[] = [];
  const maxDelay = loop.maxMs;
  loop.reset();
  if (maxDelay > limits.maxDelayMs) problems.push(`event loop blocked for ${Math.round(maxDelay)} ms`);
  const heap = getHeapStatistics();
  const ratio = heap.used_heap_size / heap.heap_size_limit;
  if (ratio > limits.maxHeapRatio) problems.push(`heap ${(ratio * 100).toFixed(1)} % of its limit`);
  return problems;
}

/** Liveness as text: `ok`, the problems joined, or Kubernetes-style lines with `verbose`. */
export function livenessText(problems: readonly string[], verbose: boolean): { ok: boolean; body: string } {
  const ok = problems.length === 0;
  if (!verbose) return { ok, body: ok ? 'ok' : problems.join('; ') };
  return { ok, body: [...problems.map((p) => `[-]${p}`), `liveness check ${ok ? 'passed' : 'failed'}`].join('\n') };
}
