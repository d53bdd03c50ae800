import { describe, expect, it } from 'vitest';
import { libpq } from '../../src/backup/postgres/connection.js';

describe('libpq: how pg_dump and pg_restore are given a database', () => {
  it('takes the password out of the URL (which shows in ps) and into PGPASSWORD, percent-decoded', () => {
    const c = libpq('postgres://backup:p%40ss%2Fw0rd@db.internal:6432/app%20data?sslmode=require');
    expect(c.url).toBe('postgres://backup@db.internal:6432/app%20data?sslmode=require');
    expect(c.env).toEqual({ PGPASSWORD: 'p@ss/w0rd' });
    expect(c.secrets).toContain('p@ss/w0rd');
    expect(c).toMatchObject({ database: 'app data', server: 'db.internal:6432' });
  });

  it('without a password: no PGPASSWORD (a .pgpass or trust applies), default port 5432', () => {
    expect(libpq('postgresql://postgres@127.0.0.1/test')).toMatchObject({ env: {}, server: '127.0.0.1:5432', database: 'test' });
  });
});
