/**
 * The backends every store suite runs on: SQLite (a temp file) and PostgreSQL (a fresh schema per
 * test, dropped after; skipped loudly when it is down, failing in CI), and helpers to fill them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import type { Backend } from '../../../src/monitor/store/backend.js';
import { bucketOf } from '../../../src/monitor/store/histogram.js';
import { type OpenStoreOptions, openStore } from '../../../src/monitor/store/open.js';
import { createPostgresBackend } from '../../../src/monitor/store/postgres/dialect.js';
import { createSqliteBackend } from '../../../src/monitor/store/sqlite/dialect.js';
import type { ProbeRecord, ProbeStats, ProbeStatus, Store, WriteBatch } from '../../../src/monitor/store/types.js';
import { dropSchema, hasPostgres, pgUrl, uniqueName } from '../../support/services.js';

const pgUp = await hasPostgres();

/** Where one test's data lives: `url` and `options` open it, `dispose` removes it. */
export interface Location {
  url: string;
  schema?: string;
  dispose(): Promise<void>;
}

export const backends = [
  {
    name: 'sqlite',
    skip: false,
    async create(): Promise<Location> {
      const dir = mkdtempSync(join(tmpdir(), 'nines-store-'));
      return { url: `sqlite:${join(dir, 'nines.db')}`, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    skip: !pgUp,
    async create(): Promise<Location> {
      const schema = uniqueName('nines_store');
      return {
        url: pgUrl,
        schema,
        dispose: () => dropSchema(schema),
      };
    },
  },
];

export function batch(part: Partial<WriteBatch>): WriteBatch {
  return { checks: [], opened: [], resolved: [], gaps: [], states: [], ...part };
}

/** Checks of `component` every `every` ms (plus jitter) in [from, to): log-uniform 1 ms..90 s, mostly healthy. */
export function series(component: string, from: number, to: number, every: number, rand: () => number): ProbeRecord[] {
  const out: ProbeRecord[] = [];
  for (let t = from; t < to; t += every) {
    const r = rand();
    const status: ProbeStatus = r < 0.9 ? 'healthy' : r < 0.95 ? 'degraded' : 'unhealthy';
    out.push({
      component,
      time: Math.min(to - 1, t + Math.floor(rand() * Math.min(every, 5_000))),
      durationMs: Math.round(Math.exp(rand() * Math.log(90_000))),
      status,
      ...(status === 'unhealthy' ? { error: 'ECONNREFUSED' } : {}),
    });
  }
  return out;
}

/** Exact counts and nearest-rank percentiles of `checks` in [from, to). */
export function exactStats(checks: ProbeRecord[], from: number, to: number): ProbeStats {
  const inside = checks.filter((c) => c.time >= from && c.time < to);
  const sorted = inside.map((c) => c.durationMs).sort((a, b) => a - b);
  const q = (p: number) => (sorted.length ? (sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1] ?? null) : null);
  const count = (s: ProbeStatus) => inside.filter((c) => c.status === s).length;
  return {
    total: inside.length,
    healthy: count('healthy'),
    degraded: count('degraded'),
    unhealthy: count('unhealthy'),
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
  };
}

/** Counts equal; each percentile in the same histogram bucket as the exact one. */
export function expectStats(actual: ProbeStats, expected: ProbeStats): void {
  const { p50, p95, p99, ...counts } = actual;
  const { p50: e50, p95: e95, p99: e99, ...expectedCounts } = expected;
  expect(counts).toEqual(expectedCounts);
  for (const [a, e] of [
    [p50, e50],
    [p95, e95],
    [p99, e99],
  ]) {
    if (e === null || e === undefined) expect(a).toBeNull();
    else expect(bucketOf(a as number)).toBe(bucketOf(e));
  }
}

/**
 * Stores of one test on `backend`: `open()` opens (and migrates) one more on the same data (through
 * `url` when given, e.g. a proxy's); all are closed and the data removed after the test.
 */
export function useStores(backend: (typeof backends)[number]): {
  open(options?: OpenStoreOptions, url?: string): Promise<Store>;
  /** The bare backend on the same data, unmigrated, for tests of upgrades. */
  raw(): Promise<Backend>;
  /** The test's PostgreSQL schema (undefined on SQLite). */
  schema(): string | undefined;
} {
  let location: Location | undefined;
  let opened: Array<{ close(): Promise<void> }> = [];
  beforeEach(async () => {
    if (!backend.skip) location = await backend.create();
  });
  afterEach(async () => {
    for (const s of opened) await s.close();
    opened = [];
    await location?.dispose();
    location = undefined;
  });
  return {
    async open(options = {}, url = location?.url) {
      if (location === undefined || url === undefined) throw new Error('no location: the backend is skipped');
      const s = await openStore(url, { ...options, ...(location.schema ? { schema: location.schema } : {}) });
      opened.push(s);
      await s.migrate();
      return s;
    },
    schema: () => location?.schema,
    async raw() {
      if (location === undefined) throw new Error('no location: the backend is skipped');
      const b =
        backend.name === 'sqlite'
          ? await createSqliteBackend(location.url.slice('sqlite:'.length))
          : await createPostgresBackend(location.url, location.schema, 15_000);
      opened.push({ close: () => b.db.destroy() });
      return b;
    },
  };
}
