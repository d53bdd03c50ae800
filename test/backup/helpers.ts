import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { BackupContext } from '../../src/backup/backup.js';
import { BackupError } from '../../src/backup/errors.js';
import { type BackupConfig, backupSchema } from '../../src/config/backup.js';
import { pgUrl, uniqueName } from '../support/services.js';

/** A temp directory, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `nines-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A backup context from a `backup:` section as written in a config file. */
export function contextOf(section: unknown, env: NodeJS.ProcessEnv = {}): BackupContext {
  const config: BackupConfig = backupSchema.parse(section);
  return { config, env };
}

/** The URL of database `name` on the test server. */
export function databaseUrl(name: string): string {
  const u = new URL(pgUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs SQL on database `url`, returning the rows. */
export async function sql<R = Record<string, unknown>>(url: string, text: string): Promise<R[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as R[];
  } finally {
    await client.end();
  }
}

/** A database of its own on the shared server (CREATE DATABASE), and a function that drops it. */
export async function scratchDatabase(prefix: string): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = uniqueName(prefix).toLowerCase();
  await sql(pgUrl, `create database "${name}"`);
  return { name, url: databaseUrl(name), drop: () => dropDatabase(name) };
}

/** Drops database `name` (WITH FORCE: a killed test may have left a session on it). */
export async function dropDatabase(name: string): Promise<void> {
  await sql(pgUrl, `drop database if exists "${name}" with (force)`);
}

/** Fills a database with several tables (a few MB): keys, text, numbers, JSON, bytes, a view and a sequence. */
export async function fill(url: string): Promise<void> {
  await sql(
    url,
    `create table customers (id int primary key, name text not null, email text unique, created timestamptz not null);
     insert into customers select g, 'customer ' || g, 'c' || g || '@example.com', timestamptz '2026-01-01' + g * interval '1 minute'
       from generate_series(1, 20000) g;
     create table orders (id bigint primary key, customer int not null references customers, total numeric(12, 2), items jsonb, note text);
     insert into orders select g, 1 + g % 20000, (g * 7 % 100000) / 100.0,
       jsonb_build_object('sku', 'sku-' || (g % 500), 'qty', g % 7, 'tags', jsonb_build_array('a', g % 3)), repeat(md5(g::text), 3)
       from generate_series(1, 40000) g;
     create index orders_customer on orders (customer);
     create table blobs (id int primary key, data bytea not null);
     insert into blobs select g, decode((select string_agg(md5(g::text || '-' || i), '') from generate_series(1, 128) i), 'hex')
       from generate_series(1, 1000) g;
     create sequence invoice_numbers start 1000;
     select setval('invoice_numbers', 4242);
     create view big_orders as select * from orders where total > 500;`,
  );
}

/** The tables compared after a restore. */
export const TABLES = ['customers', 'orders', 'blobs'] as const;

/** An ordered hash of every table's rows, and the sequence's value: equal hashes, equal contents. */
export async function contentHashes(url: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of TABLES) {
    const [row] = await sql<{ h: string; n: string }>(
      url,
      `select md5(coalesce(string_agg(t::text, ',' order by id), '')) as h, count(*)::text as n from ${table} t`,
    );
    out[table] = `${row?.n}:${row?.h}`;
  }
  const [seq] = await sql<{ v: string }>(url, 'select last_value::text as v from invoice_numbers');
  out.invoice_numbers = seq?.v ?? '';
  const [view] = await sql<{ n: string }>(url, 'select count(*)::text as n from big_orders');
  out.big_orders = view?.n ?? '';
  return out;
}

/** The {@link BackupError} a promise rejects with (fails the test if it resolves or rejects with something else). */
export async function failure(promise: Promise<unknown>): Promise<BackupError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackupError);
  return error as BackupError;
}
