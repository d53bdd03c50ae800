import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ComponentConfig, configSchema } from '../../src/config/index.js';
import { type Clock, ManualClock } from '../../src/core/clock.js';
import { createProbe } from '../../src/monitor/probe.js';
import { certificate, closedPort, DAY, httpsServer, socketsSettled, tcpServer, tcpSockets } from '../health/checks/support.js';
import { listen } from '../support/http.js';
import { hasPostgres, hasRedis, pgUrl, redisUrl } from '../support/services.js';

/** A validated component, as the config loader would build it. */
function component(check: Record<string, unknown>, extra: Record<string, unknown> = {}): ComponentConfig {
  const config = configSchema.parse({ components: [{ name: 'target', check, ...extra }] });
  const [first] = config.components;
  if (!first) throw new Error('no component');
  return first;
}

const probe = (check: Record<string, unknown>, extra: Record<string, unknown> = {}) => createProbe(component(check, extra))();

/** Routes of the loopback server the http tests run against. */
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/ok': (_req, res) => res.end('all good'),
  '/down': (_req, res) => {
    res.statusCode = 503;
    res.end('maintenance');
  },
  '/created': (_req, res) => {
    res.statusCode = 201;
    res.end();
  },
  '/json': (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ a: { b: 'UP' }, items: [1, 2, 3], empty: [] }));
  },
  '/slow': (_req, res) => {
    setTimeout(() => res.end('late'), 150);
  },
  '/held': (_req, res) => {
    held.push(() => res.end('late'));
  },
  '/hang': (req) => {
    held.push(() => undefined);
    req.once('close', () => closed.push(req.url ?? ''));
  },
};

/** Responses the tests release by hand (after moving their ManualClock), and requests the client closed. */
const held: Array<() => void> = [];
const closed: string[] = [];

/** Resolves once the server holds `n` requests. */
async function holding(n: number): Promise<void> {
  while (held.length < n) await new Promise((resolve) => setTimeout(resolve, 5));
}

let server: Awaited<ReturnType<typeof listen>>;
let base: string;
let baseline: number;

beforeAll(async () => {
  server = await listen((req, res) => (routes[req.url ?? ''] ?? routes['/down'])?.(req, res));
  base = server.url;
  baseline = tcpSockets();
});

afterAll(() => server.close());

describe('http probe', () => {
  // every run closes its connection (the server side closes a tick later)
  afterEach(async () => {
    expect(await socketsSettled(baseline)).toBe(baseline);
  });

  it('passes on 200 and reports status, response time and address', async () => {
    const before = Date.now();
    const r = await probe({ type: 'http', url: `${base}/ok` });
    expect(r).toMatchObject({ name: 'target', status: 'healthy' });
    expect(r.error).toBeUndefined();
    expect(r.time).toBeGreaterThanOrEqual(before);
    expect(r.details).toMatchObject({ statusCode: 200, ip: '127.0.0.1' });
  });

  it('fails on an unexpected status, and passes when expectStatus lists it', async () => {
    expect(await probe({ type: 'http', url: `${base}/down` })).toMatchObject({
      status: 'unhealthy',
      error: 'expected status 200, got 503',
    });
    expect((await probe({ type: 'http', url: `${base}/down`, expectStatus: [200, 503] })).status).toBe('healthy');
  });

  it('checks a body substring', async () => {
    expect((await probe({ type: 'http', url: `${base}/ok`, expectBody: 'good' })).status).toBe('healthy');
    expect(await probe({ type: 'http', url: `${base}/ok`, expectBody: 'bad' })).toMatchObject({
      status: 'unhealthy',
      error: 'response body does not contain "bad"',
    });
  });

  it('[STATUS]: a failed condition names the value seen; with no expectStatus the condition judges the status', async () => {
    const failed = await probe({ type: 'http', url: `${base}/down`, expectStatus: 503 }, { conditions: ['[STATUS] == 200'] });
    expect(failed).toMatchObject({ status: 'unhealthy', error: '[STATUS] (503) == 200' });
    const created = await probe({ type: 'http', url: `${base}/created` }, { conditions: ['[STATUS] == 201'] });
    expect(created.status).toBe('healthy');
  });

  it('[RESPONSE_TIME] fails against a slow handler', async () => {
    const r = await probe({ type: 'http', url: `${base}/slow` }, { conditions: ['[RESPONSE_TIME] < 50ms'], degradedAfter: '2s' });
    expect(r.status).toBe('unhealthy');
    expect(r.error).toMatch(/^\[RESPONSE_TIME\] \(\d+(\.\d+)?ms\) < 50ms$/);
    const fast = await probe({ type: 'http', url: `${base}/ok` }, { conditions: ['[RESPONSE_TIME] < 30s'] });
    expect(fast.status).toBe('healthy');
  });

  it('[BODY] paths, len() and any()', async () => {
    const json = { type: 'http', url: `${base}/json` };
    expect((await probe(json, { conditions: ['[BODY].a.b == UP', 'len([BODY].items) == 3', 'any([STATUS], 200, 204)'] })).status).toBe(
      'healthy',
    );
    const r = await probe(json, { conditions: ['[BODY].a.b == DOWN', 'len([BODY].empty) > 0', '[BODY].items[0] == 1'] });
    expect(r).toMatchObject({ status: 'unhealthy', error: '[BODY].a.b (UP) == DOWN; len([BODY].empty) (0) > 0' });
    const created = await probe({ type: 'http', url: `${base}/created` }, { conditions: ['any([STATUS], 200, 201)'] });
    expect(created.status).toBe('healthy');
    const notJson = await probe({ type: 'http', url: `${base}/ok` }, { conditions: ['[BODY].status == UP'] });
    expect(notJson).toMatchObject({ status: 'unhealthy', error: '[BODY].status (body is not JSON) == UP' });
  });

  it('is degraded when a passing run is slower than degradedAfter', async () => {
    held.length = 0;
    const clock = new ManualClock(1_000_000);
    const run = createProbe(component({ type: 'http', url: `${base}/held` }, { degradedAfter: '50ms' }), { clock })();
    await holding(1);
    await clock.advance(150);
    held[0]?.();
    const r = await run;
    expect(r).toMatchObject({ status: 'degraded', durationMs: 150, time: 1_000_000, error: 'slow: 150 ms > 50 ms' });
  });

  it('times out a server that never answers: unhealthy "timeout" at the deadline, its request aborted', async () => {
    held.length = 0;
    closed.length = 0;
    const clock = new ManualClock(1_000_000);
    let settled = false;
    const run = createProbe(component({ type: 'http', url: `${base}/hang` }, { timeout: '300ms', degradedAfter: '100ms' }), { clock })();
    void run.then(() => {
      settled = true;
    });
    await holding(1);
    await clock.advance(299);
    expect(settled).toBe(false);
    await clock.advance(1);
    expect(await run).toMatchObject({ status: 'unhealthy', error: 'timeout', durationMs: 300 });
    await expect.poll(() => closed).toEqual(['/hang']);
  });

  it('says a timeout noticed late is the monitor stalling, not the target failing', async () => {
    // a clock whose timers fire `late` ms after they are due: a blocked event loop
    let now = 1_000_000;
    const timers: Array<{ at: number; fn: () => void }> = [];
    const clock: Clock = {
      now: () => now,
      setTimeout: (fn, ms) => {
        const t = { at: now + ms, fn };
        timers.push(t);
        const handle = { clear: () => void timers.splice(timers.indexOf(t), 1), ref: () => handle, unref: () => handle };
        return handle;
      },
    };
    const runLate = async (late: number) => {
      held.length = 0;
      const run = createProbe(component({ type: 'http', url: `${base}/hang` }, { timeout: '300ms', degradedAfter: '100ms' }), { clock })();
      await holding(1);
      const t = timers.shift();
      if (t === undefined) throw new Error('no deadline timer');
      now = t.at + late;
      t.fn();
      return run;
    };
    expect(await runLate(150)).toMatchObject({ status: 'unhealthy', error: 'timeout' }); // within half the timeout: the target's
    const stalled = await runLate(200);
    expect(stalled).toMatchObject({ status: 'unhealthy', error: 'timeout noticed 200 ms late: the monitor was stalled', stalledMs: 200 });
  });

  it('ends when the caller aborts, long before its deadline (the clock never reaches it)', async () => {
    held.length = 0;
    const clock = new ManualClock(1_000_000);
    const controller = new AbortController();
    const run = createProbe(component({ type: 'http', url: `${base}/hang` }), { clock })(controller.signal);
    await holding(1);
    controller.abort();
    const r = await run;
    expect(r.status).toBe('unhealthy');
    expect(r.error).not.toBe('timeout');
    expect(r.durationMs).toBe(0);
  });

  it('never shows a URL password, in the error or the details', async () => {
    const port = await closedPort();
    const r = await probe({ type: 'http', url: `http://admin:s3cret-pass@127.0.0.1:${port}/` });
    expect(r.status).toBe('unhealthy');
    expect(r.error).toMatch(/ECONNREFUSED/);
    expect(JSON.stringify(r)).not.toContain('s3cret-pass');
  });

  it('[CONNECTED] == false passes when the connection is refused', async () => {
    const port = await closedPort();
    const r = await probe({ type: 'http', url: `http://127.0.0.1:${port}/` }, { conditions: ['[CONNECTED] == false'] });
    expect(r.status).toBe('healthy');
  });
});

describe('tcp probe', () => {
  it('passes when a connection opens, with [CONNECTED] and [IP]', async () => {
    const target = await tcpServer();
    try {
      const r = await probe({ type: 'tcp', host: '127.0.0.1', port: target.port }, { conditions: ['[CONNECTED]', '[IP] == 127.0.0.1'] });
      expect(r.status).toBe('healthy');
    } finally {
      await target.close();
    }
  });

  it('fails when refused, unless the conditions expect it to be closed', async () => {
    const port = await closedPort();
    const refused = await probe({ type: 'tcp', host: '127.0.0.1', port });
    expect(refused.status).toBe('unhealthy');
    expect(refused.error).toMatch(/ECONNREFUSED/);
    const connectedFails = await probe({ type: 'tcp', host: '127.0.0.1', port }, { conditions: ['[CONNECTED] == true'] });
    expect(connectedFails.error).toMatch(/ECONNREFUSED.*; \[CONNECTED\] \(false\) == true$/);
    expect((await probe({ type: 'tcp', host: '127.0.0.1', port }, { conditions: ['[CONNECTED] == false'] })).status).toBe('healthy');
  });
});

describe('tlsCertificate probe', () => {
  it('fills [CERTIFICATE_EXPIRATION], [CONNECTED] and [IP] from the certificate it read', async () => {
    const now = Date.now();
    const target = await httpsServer(await certificate(new Date(now - DAY), new Date(now + 30 * DAY)));
    try {
      const check = { type: 'tlsCertificate', host: 'localhost', port: target.port };
      const ok = await probe(check, { conditions: ['[CERTIFICATE_EXPIRATION] > 29d', '[CONNECTED]', 'any([IP], 127.0.0.1, ::1)'] });
      expect(ok.status).toBe('healthy');
      expect(ok.details?.daysLeft).toBe(29);
      const failed = await probe(check, { conditions: ['[CERTIFICATE_EXPIRATION] > 60d'] });
      expect(failed.status).toBe('unhealthy');
      expect(failed.error).toMatch(/^\[CERTIFICATE_EXPIRATION\] \(.+\) > 60d$/);
    } finally {
      await target.close();
    }
  });
});

describe('dns probe', () => {
  it('resolves localhost: [IP] is its first address, [DNS_RCODE] NOERROR', async () => {
    const r = await probe(
      { type: 'dns', hostname: 'localhost' },
      { conditions: ['[DNS_RCODE] == NOERROR', '[IP] == pat(*)', '[RESPONSE_TIME] < 1s'] },
    );
    expect(r.status).toBe('healthy');
    expect(r.details?.addresses).toEqual(expect.arrayContaining([expect.any(String)]));
  });

  it('fails on a name that does not exist, with its code as [DNS_RCODE]', async () => {
    const r = await probe({ type: 'dns', hostname: 'nines-probe-test.invalid' }, { conditions: ['[DNS_RCODE] == NOERROR'] });
    expect(r.status).toBe('unhealthy');
    expect(r.error).toMatch(/nines-probe-test\.invalid.*\[DNS_RCODE\] \(\w+\) == NOERROR|timeout/);
  });
});

describe('checks without conditions of their own', () => {
  it('disk and memory run the health checks', async () => {
    expect((await probe({ type: 'disk', path: '.' }, { conditions: ['[RESPONSE_TIME] < 30s'] })).status).toBe('healthy');
    const r = await probe({ type: 'memory', maxRssBytes: 1 });
    expect(r.status).toBe('unhealthy');
    expect(r.error).toMatch(/rss|RSS|resident/);
  });

  it('only fills the placeholders its type provides: [STATUS] on disk is missing', async () => {
    // the config loader rejects this; the probe still must not invent a value
    const c = component({ type: 'disk', path: '.' });
    const withStatus = {
      ...c,
      conditions:
        configSchema.parse({ components: [{ name: 'x', check: { type: 'disk', path: '.' }, conditions: ['[STATUS] == 200'] }] })
          .components[0]?.conditions ?? [],
    };
    const r = await createProbe(withStatus)();
    expect(r).toMatchObject({ status: 'unhealthy', error: '[STATUS] (missing) == 200' });
  });
});

const pgUp = await hasPostgres();
const redisUp = await hasRedis();

describe.runIf(pgUp)('postgres probe (real PostgreSQL)', () => {
  it('passes with [CONNECTED]', async () => {
    // degradedAfter well above the default 1 s: a first connection can be slow while the whole suite runs
    const r = await probe({ type: 'postgres', url: pgUrl }, { conditions: ['[CONNECTED]'], degradedAfter: '4s' });
    expect(r.status).toBe('healthy');
    expect(r.details?.roundTripMs).toBeGreaterThan(0);
  });

  it('fails on a wrong password without showing it', async () => {
    const url = new URL(pgUrl);
    url.username = 'nines_no_such_user';
    url.password = 'pg-secret-9f3k';
    const r = await probe({ type: 'postgres', url: url.href });
    expect(r.status).toBe('unhealthy');
    expect(r.error).toBeTruthy();
    expect(JSON.stringify(r)).not.toContain('pg-secret-9f3k');
  });
});

describe.runIf(redisUp)('redis probe (real Redis)', () => {
  it('passes with [CONNECTED]', async () => {
    const r = await probe({ type: 'redis', url: redisUrl }, { conditions: ['[CONNECTED] == true'], degradedAfter: '4s' });
    expect(r.status).toBe('healthy');
    expect(r.details?.pingMs).toBeGreaterThan(0);
  });

  it('fails on a closed port', async () => {
    const port = await closedPort();
    const r = await probe({ type: 'redis', url: `redis://:redis-secret-7x@127.0.0.1:${port}` });
    expect(r.status).toBe('unhealthy');
    expect(JSON.stringify(r)).not.toContain('redis-secret-7x');
  });
});
