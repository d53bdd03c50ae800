import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { createMetricsRegistry, queueMetrics } from '../../src/metrics/index.js';
import { QueueManager } from '../../src/ratelimit/queue/index.js';
import { gate } from '../ratelimit/queue/helpers.js';

describe('queueMetrics', () => {
  it('reports depth, running tasks, wait and run times and one outcome per task', async () => {
    const registry = createMetricsRegistry();
    const clock = new ManualClock();
    const queue = new QueueManager({
      name: 'mail',
      concurrency: 1,
      maxQueue: 2,
      waitTimeout: 500,
      runTimeout: 1000,
      clock,
      metrics: queueMetrics(registry),
    });
    const first = gate();
    const results = [
      queue.add(() => first.promise), // runs 300 ms
      queue.add(() => {
        throw new Error('x'); // waits 300 ms, fails
      }),
      queue.add(() => new Promise(() => undefined)), // waits 300 ms, times out after 1000 ms of running
      queue.add(() => undefined), // refused: full
    ];
    for (const r of results) r.catch(() => undefined);
    const text = async () => registry.metrics();
    expect(await text()).toContain('nines_queue_depth{name="mail"} 2');
    expect(await text()).toContain('nines_queue_running{name="mail"} 1');
    await clock.advance(300);
    first.open();
    await clock.advance(1000);
    const out = await text();
    expect(out).toContain('nines_queue_tasks_total{name="mail",outcome="completed"} 1');
    expect(out).toContain('nines_queue_tasks_total{name="mail",outcome="failed"} 1');
    expect(out).toContain('nines_queue_tasks_total{name="mail",outcome="run_timeout"} 1');
    expect(out).toContain('nines_queue_tasks_total{name="mail",outcome="rejected"} 1');
    expect(out).toContain('nines_queue_tasks_total{name="mail",outcome="wait_timeout"} 0');
    expect(out).toContain('nines_queue_wait_duration_seconds_count{name="mail"} 3');
    expect(out).toContain('nines_queue_wait_duration_seconds_sum{name="mail"} 0.6');
    expect(out).toContain('nines_queue_run_duration_seconds_count{name="mail"} 2'); // the timed-out one has not returned
    expect(out).toContain('nines_queue_run_duration_seconds_sum{name="mail"} 0.3');
    expect(out).toContain('nines_queue_depth{name="mail"} 0');
    expect(out).toContain('nines_queue_running{name="mail"} 1'); // still holds its slot
  });
});
