type Client = { query<R>(sql: string, values?: unknown[]): Promise<{ rows: R[] }> };

/**
 * Tables holding rows, outside the system schemas: ordinary tables and the leaf partitions (a
 * partitioned parent holds none itself, so its rows are counted once, in its partitions).
 */
const TABLES = `select n.nspname as schema, c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
  order by 1, 2`;

const ident = (s: string) => `"${s.replaceAll('"', '""')}"`;

/** Exact rows per table (`schema.table`), counted in the client's current snapshot. */
export async function countRows(client: Client): Promise<Record<string, number>> {
  const { rows } = await client.query<{ schema: string; name: string }>(TABLES);
  const counts: Record<string, number> = {};
  for (const t of rows) {
    const [row] = (await client.query<{ n: string }>(`select count(*)::text as n from ${ident(t.schema)}.${ident(t.name)}`)).rows;
    counts[`${t.schema}.${t.name}`] = Number(row?.n ?? 0);
  }
  return counts;
}
