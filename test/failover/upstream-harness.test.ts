// The upstream harness of the failover end-to-end tests and bench:failover: real child processes on loopback.
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { Upstream } from '../support/upstream.js';

let upstream: Upstream | undefined;
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

/** The kernel's state letter of process `pid` (T: stopped), from /proc. */
function procState(pid: number | undefined): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

async function get(origin: string, path = '/work', signal?: AbortSignal): Promise<number> {
  const res = await request(`${origin}${path}`, { signal, reset: true });
  await res.body.dump();
  return res.statusCode;
}

describe('upstream harness', () => {
  it('answers by mode, switched over IPC, and counts requests by mode', async () => {
    upstream = await Upstream.start();
    expect(await get(upstream.origin)).toBe(200);
    await upstream.setMode('503');
    expect(await get(upstream.origin)).toBe(503);
    expect(await get(upstream.origin)).toBe(503);
    await upstream.setMode('drain');
    expect(await get(upstream.origin, '/readiness')).toBe(503);
    expect(await get(upstream.origin)).toBe(200);
    await upstream.setMode('slow', 1);
    expect(await get(upstream.origin)).toBe(200);
    await upstream.setMode('ok');
    expect(await get(upstream.origin, '/readiness')).toBe(200);
    const stats = await upstream.stats();
    expect(stats.byMode).toEqual({ ok: 1, '503': 2, hang: 0, slow: 1, drain: 1, flaky: 0 });
    expect(stats.readiness).toBe(2);
    expect(stats.total).toBe(5);
    expect(stats.firstAt).not.toBeNull();
  });

  it('hang reads the request and never answers', async () => {
    upstream = await Upstream.start({ mode: 'hang' });
    const controller = new AbortController();
    const pending = get(upstream.origin, '/work', controller.signal);
    // Aborted only once the upstream has counted the request: it arrived and got no answer.
    while ((await upstream.stats()).byMode.hang === 0) await new Promise((r) => setImmediate(r));
    controller.abort();
    await expect(pending).rejects.toThrow();
  });

  it('restarts on the same port after SIGKILL, counters from zero', async () => {
    upstream = await Upstream.start();
    const { port, pid } = upstream;
    expect(await get(upstream.origin)).toBe(200);
    await upstream.kill('SIGKILL');
    expect(upstream.alive).toBe(false);
    await expect(get(upstream.origin)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await upstream.restart();
    expect(upstream.port).toBe(port);
    expect(upstream.pid).not.toBe(pid);
    expect((await upstream.stats()).total).toBe(0);
    expect(await get(upstream.origin)).toBe(200);
    expect((await upstream.stats()).byMode.ok).toBe(1);
  });

  it('SIGSTOP holds a request until SIGCONT, and the counters stay unreadable meanwhile', async () => {
    upstream = await Upstream.start();
    upstream.pause();
    while (procState(upstream.pid) !== 'T') await new Promise((r) => setImmediate(r));
    await expect(upstream.stats()).rejects.toThrow(/not running/);
    const answered = get(upstream.origin);
    let settled = false;
    void answered.finally(() => {
      settled = true;
    });
    // No wall-clock wait: a round trip to this process's own loop cannot let a stopped server answer.
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    upstream.resume();
    expect(await answered).toBe(200);
    expect(procState(upstream.pid)).not.toBe('T');
    expect((await upstream.stats()).byMode.ok).toBe(1);
  });
});
