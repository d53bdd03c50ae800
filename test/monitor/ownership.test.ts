/** The monitor probes only the components its Ownership gives it, and only those can be overdue. */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Monitor } from '../../src/monitor/monitor.js';
import type { ProbeResult } from '../../src/monitor/probe.js';
import { openStore, type Store } from '../../src/monitor/store/index.js';
import { ManualClock } from '../../src/policy/index.js';

const YAML = `
components:
  - { name: a, interval: 1s, timeout: 500ms, degradedAfter: 200ms, check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: b, interval: 1s, timeout: 500ms, degradedAfter: 200ms, check: { type: tcp, host: 127.0.0.1, port: 1 } }
`;

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

describe('Monitor ownership', () => {
  it('probes only owned components; one another instance owns is never overdue here, one it owns and that hangs is', async () => {
    const parsed = parseConfig(YAML, { env: {} });
    if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    const clock = new ManualClock(Date.UTC(2025, 0, 1));
    const store = await openStore('sqlite::memory:');
    stores.push(store);
    const mine = new Set(['a']);
    const probed: string[] = [];
    const stuck: Array<() => void> = [];
    const monitor = new Monitor({
      config: parsed.config,
      store,
      clock,
      ownership: { owns: (name) => mine.has(name) },
      probe: (c) => async (): Promise<ProbeResult> => {
        probed.push(c.name);
        // a owns a probe that never settles after its first run: its schedule is stuck
        const result: ProbeResult = { name: c.name, time: clock.now(), durationMs: 2, status: 'healthy' };
        if (c.name === 'a' && probed.filter((n) => n === 'a').length > 1)
          return new Promise((resolve) => stuck.push(() => resolve(result)));
        return result;
      },
    });
    await monitor.start();
    await clock.advance(10_000);
    expect(new Set(probed)).toEqual(new Set(['a']));
    expect(monitor.overdue()).toEqual(['a']);
    // b's lease comes here: it is probed from its next slot on, and is not overdue
    mine.add('b');
    await clock.advance(2_000);
    expect(probed).toContain('b');
    expect(monitor.overdue()).toEqual(['a']);
    for (const release of stuck) release();
    await monitor.stop();
  });
});
