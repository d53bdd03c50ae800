/**
 * The promise of graceful shutdown, measured: a real server in a child process, real load from
 * autocannon, a real SIGTERM in the middle. No request that reached the server may be dropped.
 */
import { Agent } from 'node:http';
import { describe, expect, it } from 'vitest';
import { type Child, startChild } from './child.js';
import { get } from './helpers.js';
import { runLoad } from './load.js';

const DRAIN_DELAY = 500;
const TIMEOUT = 2_000;
/** How long after the instance says "draining" the balancer takes it out, well inside DRAIN_DELAY. */
const BALANCER_NOTICES_AFTER = 150;

async function zeroLossRun(keepAlive: boolean) {
  const child = await startChild({ DRAIN_DELAY: String(DRAIN_DELAY), TIMEOUT: String(TIMEOUT) });
  const load = runLoad({ port: child.port, connections: 20, duration: 5, keepAlive });
  child.onLog('shutdown started', () => {
    load.drainStarted();
    setTimeout(() => load.stopNewConnections(), BALANCER_NOTICES_AFTER);
  });

  await new Promise((resolve) => setTimeout(resolve, 900));
  // Slow requests (900 ms) that are still running when the listener closes at DRAIN_DELAY.
  const agent = new Agent({ keepAlive: true });
  const slow = Array.from({ length: 3 }, () => get(child.port, '/?ms=900', agent));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const signalledAt = Date.now();
  child.process.kill('SIGTERM');

  const [{ result, stats }, slowReplies, exit] = await Promise.all([load.done, Promise.all(slow), child.exited]);
  return { child, result, stats, slowReplies, exit, exitMs: exit.at - signalledAt };
}

/** Exit 0, unforced: the in-flight requests ended before the timeout (a hang would hit the test's own timeout). */
function expectCleanExit(child: Child, exit: { code: number | null }) {
  expect(child.otherStderr).toEqual([]);
  expect(exit.code).toBe(0);
  const complete = child.logs.find((l) => l.msg === 'shutdown complete');
  expect(complete).toMatchObject({ level: 30, reason: 'SIGTERM', forced: false, cutRequests: 0 });
}

describe('zero loss under load (child process, autocannon, SIGTERM mid-run)', () => {
  for (const keepAlive of [true, false]) {
    it(`every accepted request gets a 2xx, ${keepAlive ? 'keep-alive connections' : 'a new connection per request'}`, async () => {
      const { child, result, stats, slowReplies, exit, exitMs } = await zeroLossRun(keepAlive);
      const served = child.stdout.find((l) => typeof l.served === 'number')?.served;
      process.stderr.write(
        `[zero-loss ${keepAlive ? 'keep-alive' : 'new connection per request'}] sent=${stats.sent} 2xx=${stats.ok2xx} ` +
          `non2xx=${result.non2xx} errors=${result.errors} timeouts=${result.timeouts} refused=${stats.refused} lost=${stats.lost} ` +
          `connections=${stats.connections} (while draining: ${stats.connectionsWhileDraining}) responsesWhileDraining=${stats.responsesWhileDraining} ` +
          `slow=${slowReplies.map((r) => r.status).join(',')} server-served=${served} exit=${exit.code} in ${exitMs} ms\n`,
      );

      expect(stats.sent).toBeGreaterThan(500);
      expect(stats.ok2xx).toBe(stats.sent); // every request written got a 2xx...
      expect(result['2xx']).toBe(stats.ok2xx);
      expect(result.non2xx).toBe(0);
      expect(result.errors).toBe(0); // ...no socket error, no timeout...
      expect(result.timeouts).toBe(0);
      expect(stats).toMatchObject({ lost: 0, refused: 0, abandoned: 0, errorCodes: [] });
      expect(stats.responsesWhileDraining).toBeGreaterThan(0); // ...including those served during the drain,
      expect(stats.connectionsWhileDraining).toBeGreaterThan(0); // on new connections too
      // Requests still running when the listener closed finished, told to close their connection.
      expect(slowReplies).toEqual(Array(3).fill({ status: 200, connection: 'close', body: 'ok' }));
      expect(served).toBe(stats.ok2xx + 3); // the server's count agrees with the client's
      expect(child.logs.find((l) => String(l.msg).startsWith('listeners closed'))?.inFlight).toBeGreaterThanOrEqual(3);
      expectCleanExit(child, exit);
    });
  }

  it('forced path: handlers that outlive the timeout are cut, logged, and the exit code is 1', async () => {
    const child = await startChild({ DRAIN_DELAY: '300', TIMEOUT: '1000' });
    const load = runLoad({ port: child.port, path: '/?ms=3000', connections: 10, duration: 5, keepAlive: true });
    child.onLog('shutdown started', () => setTimeout(() => load.stopNewConnections(), BALANCER_NOTICES_AFTER));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const signalledAt = Date.now();
    child.process.kill('SIGTERM');

    const [{ result, stats }, exit] = await Promise.all([load.done, child.exited]);
    const exitMs = exit.at - signalledAt;
    const cutLog = child.logs.find((l) => String(l.msg).startsWith('shutdown timeout'));
    process.stderr.write(
      `[forced] sent=${stats.sent} 2xx=${stats.ok2xx} lost=${stats.lost} errors=${result.errors} cut=${cutLog?.cutRequests} exit=${exit.code} in ${exitMs} ms\n`,
    );

    expect(exit.code).toBe(1);
    expect(stats.ok2xx).toBe(0); // cut before any 3 s handler finished

    expect(cutLog).toMatchObject({ level: 40, timeout: 1000, cutRequests: 10 });
    const cut = cutLog?.cut as { method: string; url: string; ageMs: number }[];
    expect(cut).toHaveLength(10);
    for (const request of cut) {
      expect(request).toMatchObject({ method: 'GET', url: '/' });
      // a lower bound timers guarantee (they never fire early; load only delays them): not cut before drain + timeout
      expect(request.ageMs).toBeGreaterThanOrEqual(1_250);
    }
    expect(stats.lost).toBe(10); // the client saw exactly the requests the server says it cut
    expect(child.logs.find((l) => l.msg === 'shutdown complete')).toMatchObject({ level: 40, forced: true, cutRequests: 10 });
  });

  it('a second SIGTERM during the drain exits 1 at once', async () => {
    const child = await startChild({ DRAIN_DELAY: '5000', TIMEOUT: '5000' });
    const started = new Promise<void>((resolve) => child.onLog('shutdown started', resolve));
    child.process.kill('SIGTERM');
    await started;
    child.process.kill('SIGTERM');
    const exit = await child.exited;
    // exit 1 without completing the sequence: a finished 5 s drain would have exited 0 after 'shutdown complete'
    expect(exit.code).toBe(1);
    expect(child.logs.some((l) => l.level === 50 && String(l.msg).startsWith('second signal'))).toBe(true);
    expect(child.logs.some((l) => l.msg === 'shutdown complete')).toBe(false);
  });
});
