/**
 * The backups of `nines serve`: a files target on a real directory, taken on its cron and through
 * `/api/backups`, with the metrics, the state read back from the repository after a restart, and
 * the retention applied after each scheduled backup.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { repositoryOf } from '../../src/backup/backup.js';
import { BackupSchedules } from '../../src/backup/schedules.js';
import { parseConfig } from '../../src/config/index.js';
import { until } from '../support/e2e.js';
import { harness, sample, TOKEN } from './harness.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A `backup:` section with one files target on a fresh tree, and its repository, in a temp dir. */
function backupConfig(extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'nines-serve-backups-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'site'));
  writeFileSync(join(dir, 'site', 'index.html'), '<h1>hello</h1>\n');
  const parsed = parseConfig(
    `components:\n  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }
backup:
  repository: ${join(dir, 'repo')}
  targets:
    site: { type: files, path: ${join(dir, 'site')}${extra} }
`,
    { env: {} },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config.backup;
}

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
});
