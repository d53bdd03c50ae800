/**
 * The backups of `nines serve`: a files target on a real directory, taken on its cron and through
 * `/api/backups`, with the metrics, the state read back from the repository after a restart, and
 * the retention applied after each scheduled backup.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createBackup, repositoryOf } from '../../src/backup/backup.js';
import { BackupSchedules } from '../../src/backup/schedules.js';
import { parseConfig } from '../../src/config/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { until } from '../support/e2e.js';
import { harness, sample, TOKEN } from './harness.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A `backup:` section with the target (`name: {…}`) that `make` writes in a fresh temp dir, and its repository there. */
function configWith(make: (dir: string) => string) {
  const dir = mkdtempSync(join(tmpdir(), 'nines-serve-backups-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const parsed = parseConfig(
    `components:\n  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }
backup:
  repository: ${join(dir, 'repo')}
  targets:
    ${make(dir)}
`,
    { env: {} },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config.backup;
}

/** One files target on a fresh tree. */
const backupConfig = (extra = '') =>
  configWith((dir) => {
    mkdirSync(join(dir, 'site'));
    writeFileSync(join(dir, 'site', 'index.html'), '<h1>hello</h1>\n');
    return `site: { type: files, path: ${join(dir, 'site')}${extra} }`;
  });

/** One sqlite target: a file of 200 rows. */
const sqliteConfig = (extra = '') =>
  configWith((dir) => {
    const db = new Database(join(dir, 'store.db'));
    db.exec('create table t (id integer primary key, v text)');
    const insert = db.prepare('insert into t (v) values (?)');
    for (let i = 0; i < 200; i++) insert.run(`v${i}`);
    db.close();
    return `store: { type: sqlite, path: ${join(dir, 'store.db')}${extra} }`;
  });

const auth = { authorization: `Bearer ${TOKEN}` };

describe('backups in nines serve', () => {
  it('takes a backup on its cron, exports it, and a restart reads the state back from the repository', async () => {
    const config = backupConfig(", schedule: '* * * * * *'"); // every second
    const registry = new Registry();
    const schedules = new BackupSchedules({ context: { config }, registry });
    cleanup.push(() => schedules.stop());
    expect(sample(await registry.metrics(), 'nines_backup_last_success_timestamp_seconds', { target: 'site' })).toBe(0);
    await schedules.start();
    const state = await until('a scheduled backup', async () => schedules.state('site')?.lastId);
    const [manifest] = await repositoryOf({ config }).list('site');
    expect(manifest?.id).toBe(state);
    const text = await registry.metrics();
    expect(sample(text, 'nines_backup_last_success_timestamp_seconds', { target: 'site' })).toBe(
      Date.parse(manifest?.endedAt as string) / 1000,
    );
    expect(sample(text, 'nines_backup_size_bytes', { target: 'site' })).toBe(manifest?.sizes.stored);
    expect(sample(text, 'nines_backup_failures_total', { target: 'site' })).toBe(0);
    await schedules.stop();

    const unscheduled = structuredClone(config);
    delete unscheduled.targets.site?.schedule;
    const again = new BackupSchedules({ context: { config: unscheduled }, registry: new Registry() });
    await again.start();
    expect(again.state('site')?.lastSuccess).toBe(Date.parse((await repositoryOf({ config }).list('site')).at(-1)?.endedAt as string));
  });

  it("takes incremental backups on a files target's incremental cron, the first one full", async () => {
    const config = backupConfig(", incremental: '* * * * * *'");
    const schedules = new BackupSchedules({ context: { config }, registry: new Registry() });
    cleanup.push(() => schedules.stop());
    await schedules.start();
    await until('three scheduled backups', async () => ((await repositoryOf({ config }).list('site')).length >= 3 ? true : undefined));
    await schedules.stop();
    const [first, second, third] = await repositoryOf({ config }).list('site');
    expect([first?.type, first?.parent]).toEqual(['full', null]);
    expect([second?.type, second?.parent, third?.type, third?.parent]).toEqual(['incremental', first?.id, 'incremental', second?.id]);
  });

  it('keeps only what backup.retention keeps after each scheduled backup', async () => {
    const config = { ...backupConfig(", schedule: '* * * * * *'"), retention: { last: 2 } };
    const schedules = new BackupSchedules({ context: { config }, registry: new Registry() });
    cleanup.push(() => schedules.stop());
    await schedules.start();
    const ids = new Set<string>();
    await until('four scheduled backups', async () => {
      const id = schedules.state('site')?.lastId;
      if (id !== undefined) ids.add(id);
      return ids.size >= 4 ? true : undefined;
    });
    await schedules.stop(); // the last run and its prune have finished
    const left = (await repositoryOf({ config }).list('site')).map((m) => m.id);
    expect(left.length).toBe(2);
    expect(left).toContain(schedules.state('site')?.lastId);
  });

  it('/api/backups: the token for everything; POST starts one (202), GET shows it, verify checks it; bad input 4xx', async () => {
    const config = backupConfig();
    const h = await harness({ token: true, backups: (registry) => new BackupSchedules({ context: { config }, registry }) });
    cleanup.push(h.close);
    expect((await h.app.inject('/api/backups')).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'POST', url: '/api/backups', payload: { target: 'site' } })).statusCode).toBe(401);

    const post = (payload: unknown) => h.app.inject({ method: 'POST', url: '/api/backups', headers: auth, payload: payload as object });
    const started = await post({ target: 'site' });
    expect([started.statusCode, started.json()]).toEqual([202, { target: 'site', type: 'full', running: true }]);
    const done = await until('the backup to finish', async () => {
      const body = (await h.app.inject({ url: '/api/backups', headers: auth })).json();
      return body.targets[0].running === false && body.targets[0].lastId !== null ? body : undefined;
    });
    expect(done.targets[0]).toMatchObject({ target: 'site', lastError: null, lastId: done.backups[0].id });
    expect(done.backups[0]).toMatchObject({ target: 'site', kind: 'files', type: 'full', encryption: null });

    const verified = await h.app.inject({ method: 'POST', url: `/api/backups/${done.backups[0].id}/verify`, headers: auth });
    expect([verified.statusCode, verified.json().ok]).toEqual([200, true]);
    const missing = await h.app.inject({ method: 'POST', url: '/api/backups/site-20260101T000000Z-abcdef/verify', headers: auth });
    expect(missing.statusCode).toBe(404);
    expect((await post({ target: 'nope' })).statusCode).toBe(404);
    const incremental = await post({ target: 'site', type: 'incremental' });
    expect([incremental.statusCode, incremental.json()]).toEqual([202, { target: 'site', type: 'incremental', running: true }]);
    const after = await until('the incremental backup to finish', async () => {
      const body = (await h.app.inject({ url: '/api/backups', headers: auth })).json();
      return body.targets[0].running === false && body.backups.length === 2 ? body : undefined;
    });
    expect(after.backups[1]).toMatchObject({ type: 'incremental', parent: done.backups[0].id });
    expect((await post({ target: 'site', type: 'differential' })).statusCode).toBe(400);
    const bad = await post({ target: 7, extra: true });
    expect([bad.statusCode, bad.json().error]).toEqual([400, 'invalid backup request']);
  });

  it('drills on its cron after a backup, exports the drill metrics, and a restart reads the last report back', async () => {
    const config = sqliteConfig(", schedule: '* * * * * *', drill: '* * * * * *'"); // every second
    const registry = new Registry();
    const schedules = new BackupSchedules({ context: { config }, registry });
    cleanup.push(() => schedules.stop());
    expect(sample(await registry.metrics(), 'nines_backup_drill_last_success_timestamp_seconds', { target: 'store' })).toBe(0);
    expect(sample(await registry.metrics(), 'nines_backup_drill_failures_total', { target: 'store' })).toBe(0);
    await schedules.start();
    const report = await until('a successful scheduled drill', async () =>
      schedules.state('store')?.lastDrill?.ok ? schedules.state('store')?.lastDrill : undefined,
    );
    await schedules.stop();
    const text = await registry.metrics();
    const success = sample(text, 'nines_backup_drill_last_success_timestamp_seconds', { target: 'store' });
    expect(success).toBeGreaterThanOrEqual(Date.parse(report?.endedAt as string) / 1000);
    expect(sample(text, 'nines_backup_drill_recovery_seconds', { target: 'store' })).toBeGreaterThanOrEqual(0);

    const unscheduled = structuredClone(config);
    delete unscheduled.targets.store?.schedule;
    delete unscheduled.targets.store?.drill;
    const again = new BackupSchedules({ context: { config: unscheduled }, registry: new Registry() });
    await again.start();
    const kept = again.state('store');
    expect(kept?.lastDrill?.ok).toBe(true);
    expect(kept?.lastDrillSuccess).toBe(Date.parse(kept?.lastDrill?.endedAt as string));
  });

  it('/api/backups/drill: the token; 202 and GET shows the report; 409 while one runs; 404 unknown; 400 bad body; a failed drill counts', async () => {
    const config = sqliteConfig();
    let registry: Registry | undefined;
    let schedules: BackupSchedules | undefined;
    const h = await harness({
      token: true,
      backups: (r) => {
        registry = r;
        schedules = new BackupSchedules({ context: { config }, registry: r });
        return schedules;
      },
    });
    cleanup.push(h.close);
    const drill = (payload: unknown, headers: Record<string, string> = auth) =>
      h.app.inject({ method: 'POST', url: '/api/backups/drill', headers, payload: payload as object });
    expect((await drill({ target: 'store' }, {})).statusCode).toBe(401);
    // no backup yet: the drill fails, and says so
    expect((await drill({ target: 'store' })).statusCode).toBe(202);
    const failed = await until('the failed drill', async () => {
      const body = (await h.app.inject({ url: '/api/backups', headers: auth })).json();
      return body.targets[0].drilling === false && body.targets[0].lastDrill !== null ? body.targets[0] : undefined;
    });
    expect(failed).toMatchObject({
      lastDrillSuccess: null,
      lastDrill: { ok: false, backupId: null, error: expect.stringMatching(/^no backup of store/) },
    });
    expect(sample((await registry?.metrics()) ?? '', 'nines_backup_drill_failures_total', { target: 'store' })).toBe(1);

    const backing = schedules?.run('store');
    const running = schedules?.drill('store'); // queued behind the backup: drilling while the API is asked for another
    const again = await drill({ target: 'store' });
    expect([again.statusCode, again.json().error]).toEqual([409, 'a drill of store is already running']);
    await backing;
    const first = await running;
    const started = await drill({ target: 'store' });
    expect([started.statusCode, started.json()]).toEqual([202, { target: 'store', drilling: true }]);
    const done = await until('the drill to finish', async () => {
      const body = (await h.app.inject({ url: '/api/backups', headers: auth })).json();
      const t = body.targets[0];
      return t.drilling === false && t.lastDrill?.id !== first?.id ? body : undefined;
    });
    expect(done.targets[0].lastDrill).toMatchObject({ target: 'store', backupId: done.backups[0].id, ok: true, differences: [] });
    expect(done.targets[0].lastDrillSuccess).toBe(done.targets[0].lastDrill.endedAt);
    expect((await drill({ target: 'nope' })).statusCode).toBe(404);
    const bad = await drill({ target: 7 });
    expect([bad.statusCode, bad.json().error]).toEqual([400, 'invalid drill request']);
  });

  it('/api/backups/:id/restore: the token; 404 unknown id; 400 wrong kind of to; 202 and GET shows it; a non-empty file refused unless force', async () => {
    const config = sqliteConfig();
    let schedules: BackupSchedules | undefined;
    const h = await harness({
      token: true,
      backups: (r) => {
        schedules = new BackupSchedules({ context: { config }, registry: r });
        return schedules;
      },
    });
    cleanup.push(h.close);
    const backup = await schedules?.run('store');
    const to = join(dirname(config.repository), 'restored.db');
    const restore = (id: string, payload: unknown, headers: Record<string, string> = auth) =>
      h.app.inject({ method: 'POST', url: `/api/backups/${id}/restore`, headers, payload: payload as object });
    const id = backup?.id as string;
    expect((await restore(id, { to }, {})).statusCode).toBe(401);
    expect((await restore('store-20260101T000000Z-abcdef', { to })).statusCode).toBe(404);
    const wrong = await restore(id, { to: 'postgres://u:secret@127.0.0.1/db' });
    expect([wrong.statusCode, wrong.json().error]).toEqual([400, expect.stringMatching(/SQLite file: expected a path/)]);
    expect((await restore(id, { to, extra: 1 })).statusCode).toBe(400);

    const restored = async () => {
      const body = (await h.app.inject({ url: '/api/backups', headers: auth })).json();
      return body.targets[0].restoring === false ? body.targets[0].lastRestore : undefined;
    };
    const started = await restore(id, { to });
    expect([started.statusCode, started.json()]).toEqual([202, { id, target: 'store', restoring: true }]);
    const first = await until('the restore to finish', restored);
    expect(first).toMatchObject({ backupId: id, to, ok: true });
    expect(first.seconds).toBeGreaterThanOrEqual(0);
    const db = new Database(to, { readonly: true });
    expect(db.prepare('select count(*) as n from t').get()).toEqual({ n: 200 });
    db.close();

    expect((await restore(id, { to })).statusCode).toBe(202);
    const refused = await until('the refused restore', restored);
    expect(refused).toMatchObject({ backupId: id, ok: false, error: expect.stringMatching(/force/) });
    const backing = schedules?.run('store'); // the restore waits behind it: a second one is refused meanwhile
    expect((await restore(id, { to, force: true })).statusCode).toBe(202);
    const again = await restore(id, { to, force: true });
    expect([again.statusCode, again.json().error]).toEqual([409, 'a restore of store is already running']);
    await backing;
    expect(await until('the forced restore', restored)).toMatchObject({ ok: true });
  });

  it('/api/backups/prune: backup.retention as a dry run, then confirmed; 400 without retention; 404 unknown target', async () => {
    const clock = new ManualClock(Date.parse('2026-12-01T10:00:00Z'));
    const config = { ...backupConfig(), retention: { daily: 2 } };
    const ids: string[] = [];
    for (const hours of [0, 24, 2, 22]) {
      clock.advance(hours * 3_600_000); // Dec 1 10:00, Dec 2 10:00, Dec 2 12:00, Dec 3 10:00
      ids.push((await createBackup({ config, clock }, 'site')).id);
    }
    const h = await harness({ token: true, backups: (r) => new BackupSchedules({ context: { config, clock }, registry: r }) });
    cleanup.push(h.close);
    const prune = (payload: unknown, headers: Record<string, string> = auth) =>
      h.app.inject({ method: 'POST', url: '/api/backups/prune', headers, payload: payload as object });
    expect((await prune({}, {})).statusCode).toBe(401);
    const dry = await prune({});
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toEqual({
      confirm: false,
      decisions: [
        { id: ids[3], keep: true, reasons: ['daily 2026-12-03'] },
        { id: ids[2], keep: true, reasons: ['daily 2026-12-02'] },
        { id: ids[1], keep: false, reasons: [] },
        { id: ids[0], keep: false, reasons: [] },
      ],
    });
    const all = async () => (await repositoryOf({ config }).list()).map((m) => m.id);
    expect(await all()).toEqual(ids);
    const confirmed = await prune({ target: 'site', confirm: true });
    expect([confirmed.statusCode, confirmed.json().decisions]).toEqual([200, dry.json().decisions]);
    expect(await all()).toEqual([ids[2], ids[3]]);
    expect((await prune({ target: 'nope' })).statusCode).toBe(404);
    expect((await prune({ confirm: 'yes' })).statusCode).toBe(400);

    const bare = backupConfig();
    const h2 = await harness({ token: true, backups: (r) => new BackupSchedules({ context: { config: bare }, registry: r }) });
    cleanup.push(h2.close);
    const none = await h2.app.inject({ method: 'POST', url: '/api/backups/prune', headers: auth, payload: {} });
    expect([none.statusCode, none.json().error]).toEqual([400, expect.stringMatching(/no backup.retention/)]);
  });
});
