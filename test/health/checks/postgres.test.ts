import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type PgPoolLike, postgres } from '../../../src/health/checks/index.js';
import { hasPostgres, pgUrl } from '../../support/services.js';
import { abortAfter, closedPort, hangingServer, settle, socketsSettled, tcpSockets } from './support.js';

const available = await hasPostgres();

/** `pgUrl` with another user, password or database. */
function variant(change: { username?: string; password?: string; database?: string }): string {
  const url = new URL(pgUrl);
  if (change.username !== undefined) url.username = change.username;
  if (change.password !== undefined) url.password = change.password;
  if (change.database !== undefined) url.pathname = `/${change.database}`;
  return url.href;
}

describe.runIf(available)('postgres check (real PostgreSQL)', () => {
  let baseline: number;
  let pool: pg.Pool;

  beforeAll(async () => {
    baseline = await socketsSettled(tcpSockets());
    pool = new pg.Pool({ connectionString: pgUrl, max: 2 });
  });

  // the pool's own connections are the only sockets allowed to stay
  afterEach(async () => {
    expect(await socketsSettled(baseline + pool.totalCount)).toBe(baseline + pool.totalCount);
  });

  afterAll(async () => {
    await pool.end();
    expect(await socketsSettled(baseline)).toBe(baseline);
  });

  it('passes through a URL, on a connection of its own that it closes', async () => {
    const result = await settle(postgres(pgUrl));
    expect(result.status).toBe('healthy');
    expect(result.details?.roundTripMs).toBeGreaterThan(0);
    expect(result.details?.serverVersion).toMatch(/^\d+/);
    expect(result.details).not.toHaveProperty('pool');
    expect(result.details).not.toHaveProperty('replicationLagSeconds'); // a primary
    expect(await socketsSettled(baseline)).toBe(baseline);
  });

  it('passes through a pg.Pool and reports its counts', async () => {
    const result = await settle(postgres(pool));
    expect(result.status).toBe('healthy');
    expect(result.details).toMatchObject({ serverVersion: expect.any(String), pool: { total: 0, idle: 0, waiting: 0 } });
    expect(result.details?.acquireMs).toBeGreaterThanOrEqual(0);
    expect((await settle(postgres(pool))).details?.pool).toEqual({ total: 1, idle: 1, waiting: 0 });
  });

  it('accepts anything with a query method', async () => {
    const queryOnly: PgPoolLike = { query: (text) => pool.query(text) };
    expect((await settle(postgres(queryOnly))).status).toBe('healthy');
  });

  it('fails readably on a database that does not exist, never showing the password', async () => {
    const result = await settle(postgres(variant({ password: 'hunter22secret', database: 'nines_no_such_db' })));
    expect(result.status).toBe('unhealthy');
    expect(result.error).toBe('database "nines_no_such_db" does not exist');
    expect(JSON.stringify(result.error)).not.toContain('hunter22secret');
  });

  it('fails readably on a role that does not exist, never showing the password', async () => {
    const result = await settle(postgres(variant({ username: 'nines_no_such_role', password: 'hunter22secret' })));
    expect(result.error).toMatch(/nines_no_such_role/);
    expect(result.error).not.toContain('hunter22secret');
  });

  it('fails with the connect error on a closed port', async () => {
    const port = await closedPort();
    const result = await settle(postgres(`postgres://postgres:hunter22secret@127.0.0.1:${port}/test`));
    expect(result.error).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('stops and closes its connection when a server never answers', async () => {
    const hung = await hangingServer();
    try {
      const result = await abortAfter(postgres(`postgres://postgres@127.0.0.1:${hung.port}/test`));
      expect(result.error).toMatch(/aborted/i);
    } finally {
      await hung.close();
    }
  });

  it('destroys its pool client when a query hangs and the signal aborts', async () => {
    // a pool whose clients sleep instead of answering SELECT 1
    const slow: PgPoolLike = {
      query: (text) => pool.query(text),
      connect: async () => {
        const client = await pool.connect();
        return { query: () => client.query('SELECT pg_sleep(30)'), release: (destroy?: boolean | Error) => client.release(destroy) };
      },
    };
    const before = pool.totalCount;
    const result = await abortAfter(postgres(slow));
    expect(result.error).toMatch(/aborted/i);
    await expect.poll(() => pool.totalCount).toBeLessThanOrEqual(before);
    expect((await pool.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
  });

  it('validates its argument, redacting a URL it shows', () => {
    expect(() => postgres('mysql://u:hunter22secret@h/db')).toThrow(
      /^poolOrUrl must be a pg\.Pool or a postgres:\/\/ URL, got "mysql:\/\/u:\*\*\*@h\/db"$/,
    );
    expect(() => postgres({} as PgPoolLike)).toThrow(/^poolOrUrl must be/);
  });
});
