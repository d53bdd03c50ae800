/** What nines needs of a query result: a pg result fits. */
export interface PgResult {
  rows: Record<string, unknown>[];
  rowCount?: number | null;
}

/** What nines needs of a pooled client: a pg `PoolClient` fits. */
export interface PgClient {
  query(text: string, params?: unknown[]): Promise<PgResult>;
  release(destroy?: boolean | Error): void;
  on(event: 'notification', listener: (n: { channel: string; payload?: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** What nines needs of a pool: a pg `Pool` fits (typed here, so importers need no @types/pg). */
export interface PgPool {
  connect(): Promise<PgClient>;
  query(text: string, params?: unknown[]): Promise<PgResult>;
}

/**
 * Runs `fn` in one transaction on one client of `pool`: COMMIT when it returns, ROLLBACK when it throws
 * (the rollback's own failure is dropped so the first error is the one seen), then releases the client.
 */
export async function withTransaction<T>(pool: PgPool, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const value = await fn(client);
    await client.query('COMMIT');
    return value;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
