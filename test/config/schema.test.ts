import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { formatProblems } from '../../src/config/problems.js';
import { DEFAULT_SETTINGS, type NinesConfig } from '../../src/config/schema.js';

function valid(text: string, env: Record<string, string> = {}): NinesConfig {
  const r = parseConfig(text, { env });
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return r.config;
}

const minimal = 'components:\n  - { name: api, check: { type: http, url: "http://127.0.0.1:8080/health" } }\n';

describe('config schema', () => {
  it('applies every default to a minimal file', () => {
    const config = valid(minimal);
    expect(config.server).toEqual({
      host: '127.0.0.1',
      port: 4000,
      token: undefined,
      rateLimit: {
        trustProxy: false,
        writes: { enabled: true, limit: 30, window: 60_000 },
        publicWrites: { enabled: true, limit: 10, window: 3_600_000 },
        reads: { enabled: true, limit: 600, window: 60_000 },
      },
      liveness: { maxEventLoopDelay: 5_000, maxHeapRatio: 0.98, exitAfter: 0 },
    });
    expect(config.storage).toEqual({ kind: 'sqlite', path: './data/nines.db' });
    expect(config.retention).toBe(7 * 86_400_000);
    expect(config.storageReadTimeout).toBe(2_000);
    expect(config.page).toEqual({ title: 'Status', refresh: 10_000 });
    expect(config.defaults).toEqual({
      interval: 30_000,
      timeout: 5_000,
      degradedAfter: 1_000,
      failuresToOpen: 3,
      successesToResolve: 2,
      flapThreshold: 5,
      flapWindow: 600_000,
    });
    expect(config.defaults).toEqual(DEFAULT_SETTINGS);
    expect(config.slos).toEqual([]);
    expect(config.components).toEqual([
      {
        name: 'api',
        critical: false,
        tags: [],
        public: true,
        description: undefined,
        dependsOn: [],
        canary: false,
        check: { type: 'http', url: 'http://127.0.0.1:8080/health' },
        conditions: [],
        ...DEFAULT_SETTINGS,
      },
    ]);
  });

  it('merges defaults into components, a component overriding any key', () => {
    const config = valid(`
defaults: { interval: 1m, failuresToOpen: 5 }
components:
  - { name: a, check: { type: tcp, host: db, port: 5432 } }
  - { name: b, interval: 10s, timeout: 2s, flapWindow: 1h, critical: true, tags: [edge], check: { type: dns, hostname: example.com } }
`);
    const [a, b] = config.components;
    expect(a).toMatchObject({ interval: 60_000, timeout: 5_000, failuresToOpen: 5, critical: false });
    expect(b).toMatchObject({ interval: 10_000, timeout: 2_000, flapWindow: 3_600_000, failuresToOpen: 5, critical: true, tags: ['edge'] });
  });

  it('accepts every check type with its options', () => {
    const config = valid(`
components:
  - { name: h, check: { type: http, url: "https://x.test/h", method: HEAD, headers: { X-Key: v }, expectStatus: [200, 204], expectBody: ok } }
  - { name: t, check: { type: tcp, host: 127.0.0.1, port: 6379 } }
  - { name: d, check: { type: dns, hostname: example.com } }
  - { name: c, check: { type: tlsCertificate, host: example.com, port: 8443, minDaysLeft: 10, degradedDaysLeft: 20, servername: x, rejectUnauthorized: true } }
  - { name: p, check: { type: postgres, url: "postgresql://u:pw@db:5432/app" } }
  - { name: r, check: { type: redis, url: "rediss://cache:6380", connectTimeout: 1s } }
  - { name: k, check: { type: disk, path: /, minFreeBytes: 1000000, minFreeRatio: 0.1 } }
  - { name: m, check: { type: memory, maxHeapRatio: 0.8, maxRssBytes: 1000000000 } }
  - { name: e, check: { type: eventLoop, maxLagMs: 100 } }
`);
    expect(config.components.map((c) => c.check.type)).toEqual([
      'http',
      'tcp',
      'dns',
      'tlsCertificate',
      'postgres',
      'redis',
      'disk',
      'memory',
      'eventLoop',
    ]);
    expect(config.components[5]?.check).toEqual({ type: 'redis', url: 'rediss://cache:6380', connectTimeout: 1_000 });
  });

  it('parses conditions into ASTs at load', () => {
    const config = valid(`components:\n  - { name: a, check: { type: http, url: "http://x" }, conditions: ["[STATUS] == 200"] }\n`);
    expect(config.components[0]?.conditions[0]).toMatchObject({ text: '[STATUS] == 200', operator: '==' });
  });

  it('reads storage as sqlite or postgres', () => {
    expect(valid(`storage: "sqlite::memory:"\n${minimal}`).storage).toEqual({ kind: 'sqlite', path: ':memory:' });
    expect(valid(`storage: postgres://nines@db:5432/nines\n${minimal}`).storage).toEqual({
      kind: 'postgres',
      url: 'postgres://nines@db:5432/nines',
    });
    expect(valid(`storage: postgresql://db/nines\n${minimal}`).storage.kind).toBe('postgres');
  });

  it('a PostgreSQL URL may name the schema as ?schema=, which the driver never sees', () => {
    expect(valid(`storage: "postgres://nines@db:5432/nines?schema=monitor&sslmode=require"\n${minimal}`).storage).toEqual({
      kind: 'postgres',
      url: 'postgres://nines@db:5432/nines?sslmode=require',
      schema: 'monitor',
    });
    const bad = parseConfig(`storage: "postgres://nines:secret@db/nines?schema=Drop;Table"\n${minimal}`);
    expect(bad.ok || formatProblems(bad.problems)).toEqual([expect.stringMatching(/^storage: schema must match .*"Drop;Table"$/)]);
    expect(JSON.stringify(bad)).not.toContain('secret');
  });

  it('ha: defaults from the host name, the location from the instance; refused on SQLite and with misordered times, every problem at its path', async () => {
    const { hostname } = await import('node:os');
    const pgStorage = 'storage: postgres://nines@db:5432/nines\n';
    expect(valid(`${pgStorage}${minimal}`).ha).toBeUndefined();
    const ha = valid(`${pgStorage}ha: {}\n${minimal}`).ha;
    expect(ha).toEqual({ instance: expect.any(String), location: ha?.instance, heartbeat: 2_000, leaseTtl: 10_000, renewDeadline: 7_000 });
    expect(ha?.instance).toBe(
      hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 63),
    );
    expect(
      valid(`${pgStorage}ha: { instance: nines-0, location: eu-1a, heartbeat: 1s, leaseTtl: 5s, renewDeadline: 3s }\n${minimal}`).ha,
    ).toEqual({
      instance: 'nines-0',
      location: 'eu-1a',
      heartbeat: 1_000,
      leaseTtl: 5_000,
      renewDeadline: 3_000,
    });
    const sqlite = parseConfig(`ha: { instance: a }\n${minimal}`);
    expect(sqlite.ok || formatProblems(sqlite.problems)).toEqual([expect.stringMatching(/^ha: needs PostgreSQL storage/)]);
    const times = parseConfig(`${pgStorage}ha: { instance: 'a b', quorum: 2, fence: 1 }\n${minimal}`);
    expect(times.ok || formatProblems(times.problems).sort()).toEqual([
      'ha.fence: unknown key; expected one of instance, location, heartbeat, leaseTtl, renewDeadline, sourceAddress, quorum',
      expect.stringMatching(/^ha\.instance: must be 1–63 letters/),
      'ha.quorum: expected a mapping, got a number',
    ]);
    const order = parseConfig(`${pgStorage}ha: { instance: a, heartbeat: 8s, leaseTtl: 5s, renewDeadline: 6s }\n${minimal}`);
    expect(order.ok || formatProblems(order.problems).sort()).toEqual([
      'ha.heartbeat: must be below renewDeadline (6s), or every renewal misses its deadline',
      'ha.renewDeadline: must be below leaseTtl (5s): an instance must stop before another may take its components',
    ]);
  });

  it('ha.quorum and ha.sourceAddress: defaults, and every problem at its path', () => {
    const pgStorage = 'storage: postgres://nines@db:5432/nines\n';
    const ha = (yaml: string) => valid(`${pgStorage}${yaml}\n${minimal}`).ha;
    expect(ha('ha: { instance: a, quorum: {} }')?.quorum).toEqual({ k: 2, confirmTimeout: 10_000, whenInsufficient: 'open' });
    expect(ha('ha: { instance: a, sourceAddress: 127.0.0.2, quorum: { k: 3, confirmTimeout: 8s, whenInsufficient: hold } }')).toMatchObject(
      {
        sourceAddress: '127.0.0.2',
        quorum: { k: 3, confirmTimeout: 8_000, whenInsufficient: 'hold' },
      },
    );
    expect(ha('ha: { instance: a }')?.quorum).toBeUndefined();
    const bad = parseConfig(`${pgStorage}ha: { instance: a, sourceAddress: eth0, quorum: { k: 0, whenInsufficient: wait } }\n${minimal}`);
    expect(bad.ok || formatProblems(bad.problems).sort()).toEqual([
      'ha.quorum.k: must be at least 1',
      'ha.quorum.whenInsufficient: expected open or hold',
      'ha.sourceAddress: must be an IPv4 or IPv6 address',
    ]);
    // a vote on a target that hangs arrives at its timeout: the round must wait longer than that
    const slow = parseConfig(
      `${pgStorage}ha: { instance: a, quorum: { confirmTimeout: 4s } }\ndefaults: { interval: 30s, timeout: 3s }\ncomponents:\n  - { name: a, check: { type: tcp, host: h, port: 1 } }\n  - { name: b, timeout: 6s, check: { type: tcp, host: h, port: 1 } }\n`,
    );
    expect(slow.ok || formatProblems(slow.problems)).toEqual([
      "ha.quorum.confirmTimeout: must be longer than the longest check timeout (6s, components[1].timeout): a location's vote on a target that hangs comes at that timeout",
    ]);
    const byDefault = parseConfig(`${pgStorage}ha: { instance: a, quorum: { confirmTimeout: 5s } }\n${minimal}`);
    expect(byDefault.ok || formatProblems(byDefault.problems)).toEqual([
      "ha.quorum.confirmTimeout: must be longer than the longest check timeout (5s, defaults.timeout): a location's vote on a target that hangs comes at that timeout",
    ]);
  });

  it('degradation: the store rule by default; bad rules give every problem at its path', () => {
    expect(valid(minimal).degradation).toEqual({
      interval: 10_000,
      timeout: 2_000,
      rules: [{ when: { check: 'store', status: 'unhealthy' }, level: 'degraded', reason: 'the history store does not answer' }],
    });
    const rules = `degradation:
  rules:
    - { when: { check: redis, status: down }, level: full }
    - { name: slow, when: { status: [degraded] }, level: minimal }
    - { name: slow, when: { check: store, status: unhealthy }, level: maintenance }
`;
    const bad = parseConfig(`${rules}${minimal}`);
    expect(bad.ok || formatProblems(bad.problems)).toEqual([
      expect.stringMatching(/^degradation\.rules\[0\]\.when\.check: .*store/),
      expect.stringMatching(/^degradation\.rules\[0\]\.when\.status: expected healthy, degraded/),
      expect.stringMatching(/^degradation\.rules\[0\]\.level: /),
    ]);
    const twice = parseConfig(`${rules.replace(/^ {4}- \{ when: \{ check: redis.*\n/m, '')}${minimal}`);
    expect(twice.ok || formatProblems(twice.problems)).toEqual(['degradation.rules[1].name: "slow" is already used by another rule']);
  });

  it('token: optional, empty means none, otherwise 16+ characters', () => {
    expect(valid(`server: { token: "\${T:-}" }\n${minimal}`).server.token).toBeUndefined();
    expect(valid(`server: { token: "\${T}" }\n${minimal}`, { T: 'a'.repeat(16) }).server.token).toBe('a'.repeat(16));
    const r = parseConfig(`server: { token: "with spaces in it ok" }\n${minimal}`);
    expect(r.ok).toBe(false);
  });

  it('server.liveness: durations for the delay and exitAfter, a ratio in (0, 1]', () => {
    expect(valid(`server: { liveness: { maxEventLoopDelay: 2s, exitAfter: 1m, maxHeapRatio: 1 } }\n${minimal}`).server.liveness).toEqual({
      maxEventLoopDelay: 2_000,
      exitAfter: 60_000,
      maxHeapRatio: 1,
    });
    const problems = (liveness: string) => {
      const r = parseConfig(`server: { liveness: ${liveness} }\n${minimal}`);
      return r.ok ? [] : formatProblems(r.problems);
    };
    expect(problems('{ exitAfter: -1 }')).toEqual([
      'server.liveness.exitAfter: expected a duration like 30s, 5m, 7d or a number of ms >= 0',
    ]);
    expect(problems('{ exitAfter: -5s }')).toEqual(['server.liveness.exitAfter: expected a duration like 30s, 5m, 7d']);
    expect(problems('{ maxEventLoopDelay: 0 }')).toEqual(['server.liveness.maxEventLoopDelay: must be at least 1ms']);
    expect(problems('{ maxHeapRatio: 0 }')).toEqual(['server.liveness.maxHeapRatio: must be more than 0']);
    expect(problems('{ maxHeapRatio: -0.5 }')).toEqual(['server.liveness.maxHeapRatio: must be more than 0']);
    expect(problems('{ maxHeapRatio: 1.5 }')).toEqual(['server.liveness.maxHeapRatio: must be at most 1']);
    expect(problems('{ maxHeapRatio: "98%" }')).toEqual(['server.liveness.maxHeapRatio: expected a number']);
    expect(problems('{ exitAfterr: 1m }')).toEqual(['server.liveness.exitAfterr: unknown key; did you mean exitAfter?']);
  });

  it('SLOs default to a 30d window', () => {
    const config = valid(`${minimal}slos: [{ name: api-availability, component: api, objective: 99.9 }]\n`);
    expect(config.slos).toEqual([
      { name: 'api-availability', component: 'api', objective: 99.9, window: 30 * 86_400_000, alerts: expect.any(Array) },
    ]);
    expect(config.slos[0]?.alerts.map((a) => a.severity)).toEqual(['page', 'ticket']); // built in (test/alerts)
  });

  it('a timeout below its interval passes; defaults that clash are blamed once, at defaults', () => {
    const r = parseConfig(
      `defaults: { interval: 5s, timeout: 5s }\ncomponents:\n  - { name: a, check: { type: tcp, host: h, port: 1 } }\n  - { name: b, check: { type: tcp, host: h, port: 1 } }\n  - { name: c, interval: 1m, check: { type: tcp, host: h, port: 1 } }\n`,
    );
    expect(r.ok ? [] : r.problems).toEqual([{ path: 'defaults.timeout', message: 'timeout (5s) must be less than interval (5s)' }]);
    const degraded = parseConfig(`defaults: { degradedAfter: 10s }\n${minimal}`);
    expect(degraded.ok ? [] : degraded.problems).toEqual([
      { path: 'defaults.degradedAfter', message: 'degradedAfter (10s) must be less than timeout (5s)' },
    ]);
  });

  it('failuresToOpen: an integer, "N of M" or "for <duration>"; successesToResolve: an integer or "for <duration>"', () => {
    const config = valid(`
defaults: { failuresToOpen: "3 of 5", successesToResolve: "for 1m30s" }
components:
  - { name: a, check: { type: tcp, host: h, port: 1 } }
  - { name: b, failuresToOpen: for 2m, successesToResolve: 3, check: { type: tcp, host: h, port: 1 } }
  - { name: c, failuresToOpen: 4, check: { type: tcp, host: h, port: 1 } }
`);
    expect(config.components.map((c) => [c.failuresToOpen, c.successesToResolve])).toEqual([
      [{ failures: 3, of: 5 }, { forMs: 90_000 }],
      [{ forMs: 120_000 }, 3],
      [4, { forMs: 90_000 }],
    ]);
  });

  it('reports every bad confirmation rule at its path', () => {
    const open = 'expected an integer >= 1, "N of M" with 1 <= N <= M <= 100, or "for" and a duration like "for 2m"';
    const resolve = 'expected an integer >= 1 or "for" and a duration like "for 2m"';
    const cases: Array<[string, string]> = [
      ['failuresToOpen: 0', open],
      ['failuresToOpen: 2.5', open],
      ['failuresToOpen: true', open],
      ['failuresToOpen: "0 of 5"', open],
      ['failuresToOpen: "6 of 5"', open],
      ['failuresToOpen: "3 of 101"', open],
      ['failuresToOpen: "3"', open],
      ['failuresToOpen: 2m', open],
      ['failuresToOpen: for ever', open],
      ['failuresToOpen: for 0s', 'must be at least 1ms'],
      ['successesToResolve: "2 of 3"', `"N of M" applies to failuresToOpen only; ${resolve}`],
      ['successesToResolve: 30s', resolve],
    ];
    for (const [line, message] of cases) {
      const r = parseConfig(`components:\n  - { name: a, ${line}, check: { type: tcp, host: h, port: 1 } }\n`);
      const key = line.slice(0, line.indexOf(':'));
      expect(r.ok ? [] : r.problems, line).toEqual([{ path: `components[0].${key}`, message }]);
    }
  });
  it('takes storageReadTimeout as a duration and refuses a zero one at its path', () => {
    expect(valid(`storageReadTimeout: 500ms\n${minimal}`).storageReadTimeout).toBe(500);
    const r = parseConfig(`storageReadTimeout: 0ms\n${minimal}`, { env: {} });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.path)).toEqual(['storageReadTimeout']);
  });
});
