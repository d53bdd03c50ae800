import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { withStatementCache } from '../../../src/monitor/store/sqlite/dialect.js';

describe('SQLite statement cache', () => {
  it('prepares a text once, keeps the 256 most recently used, and closes the database', () => {
    const raw = new Database(':memory:');
    const prepared: string[] = [];
    const counting = {
      prepare(sql: string) {
        prepared.push(sql);
        return raw.prepare(sql);
      },
      close: () => raw.close(),
    };
    const db = withStatementCache(counting);
    const a = db.prepare('select 1 as x');
    expect(db.prepare('select 1 as x')).toBe(a);
    expect(a.all([])).toEqual([{ x: 1 }]);
    for (let i = 0; i < 255; i++) db.prepare(`select ${i + 2} as x`);
    db.prepare('select 1 as x'); // used again: now the newest
    db.prepare('select 999 as x'); // evicts the oldest, `select 2`, not `select 1`
    expect(db.prepare('select 1 as x')).toBe(a);
    db.prepare('select 2 as x');
    expect(prepared.filter((s) => s === 'select 1 as x')).toHaveLength(1);
    expect(prepared.filter((s) => s === 'select 2 as x')).toHaveLength(2);
    db.close();
    expect(raw.open).toBe(false);
  });
});
