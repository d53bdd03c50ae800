/**
 * Real PostgreSQL and Redis for integration tests. Each test gets its own schema or key prefix.
 * Without the services the tests skip with a loud message, except under CI, where they fail.
 */
import net from 'node:net';

export const pgUrl = process.env.NINES_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const redisUrl = process.env.NINES_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when the service answers; false (after a loud warning) when it does not and CI is unset; throws under CI. */
async function available(name: string, url: string, port: number): Promise<boolean> {
  if (await reachable(url, port)) return true;
  const message = `${name} is not reachable at ${new URL(url).host}: its integration tests are SKIPPED`;
  if (process.env.CI)
    throw new Error(`${message.replace(': its integration tests are SKIPPED', '')} and CI is set: failing instead of skipping`);
  process.stderr.write(`\n!!! ${message} !!!\n\n`);
  return false;
}

export const hasPostgres = () => available('PostgreSQL', pgUrl, 5432);
export const hasRedis = () => available('Redis', redisUrl, 6379);

/** A unique, SQL-safe name for a schema or key prefix: one per test, so tests run in parallel. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Drops PostgreSQL `schema` and everything in it (a test's own schema, at the end of the test). */
export async function dropSchema(schema: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}
