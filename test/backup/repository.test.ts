import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeArtifact } from '../../src/backup/artifact.js';
import { MANIFEST_FORMAT, type Manifest } from '../../src/backup/manifest.js';
import { Repository } from '../../src/backup/repository.js';
import { ManualClock } from '../../src/core/clock.js';
import { tempDir } from './helpers.js';

const dirs: Array<{ remove: () => void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

function repo(clock = new ManualClock(Date.parse('2026-12-07T10:20:30.456Z'))) {
  const tmp = tempDir('repo');
  dirs.push(tmp);
  return { repository: new Repository(join(tmp.dir, 'backups'), { clock }), root: join(tmp.dir, 'backups'), clock };
}

/** A complete backup of `target` with one small artifact. */
async function complete(repository: Repository, target: string): Promise<Manifest> {
  const pending = await repository.begin(target);
  const { artifact } = await writeArtifact(pending.dir, 'data', (await import('node:stream')).Readable.from([Buffer.from('hello')]), {
    compression: 'gzip',
  });
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    id: pending.id,
    target,
    kind: 'files',
    type: 'full',
    parent: null,
    startedAt: new Date(pending.startedAt).toISOString(),
    endedAt: new Date(pending.startedAt).toISOString(),
    source: { path: '/x' },
    tools: {},
    options: {},
    sizes: { source: 5, stored: artifact.bytes },
    encryption: null,
    artifacts: [artifact],
  };
  await pending.commit(manifest);
  return manifest;
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('Repository', () => {
  it('names a backup by target, start time and a random suffix, and lists it only once committed', async () => {
    const { repository, root } = repo();
    const pending = await repository.begin('main');
    expect(pending.id).toMatch(/^main-20261207T102030Z-[0-9a-f]{6}$/);
    expect(pending.dir).toBe(join(root, `.tmp-${pending.id}`));
    expect(await repository.list()).toEqual([]);
    await pending.abort();
    expect(readdirSync(root)).toEqual([]);
    const m = await complete(repository, 'main');
    expect((await repository.list()).map((b) => b.id)).toEqual([m.id]);
    expect(await repository.get(m.id)).toEqual(m);
    expect(existsSync(join(root, m.id, 'manifest.json'))).toBe(true);
  });

  it('lists oldest first, filters by target, and ignores folders that are not complete backups', async () => {
    const { repository, root, clock } = repo();
    const a = await complete(repository, 'db');
    await clock.advance(60_000);
    const b = await complete(repository, 'files');
    await clock.advance(60_000);
    const c = await complete(repository, 'db');
    mkdirSync(join(root, 'db-20261207T000000Z-abcdef')); // no manifest
    mkdirSync(join(root, 'notes'));
    writeFileSync(join(root, 'README'), 'x');
    expect((await repository.list()).map((m) => m.id)).toEqual([a.id, b.id, c.id]);
    expect((await repository.list('db')).map((m) => m.id)).toEqual([a.id, c.id]);
    await expect(repository.get('db-20261207T000000Z-abcdef')).rejects.toMatchObject({ code: 'NINES_BACKUP_NOT_FOUND' });
    await expect(repository.get('../etc')).rejects.toMatchObject({ code: 'NINES_BACKUP_NOT_FOUND' });
  });

  it("the next begin removes a dead writer's leftover, never a live writer's or another host's", async () => {
    const { repository, root } = repo();
    const leftover = (name: string, owner: object) => {
      mkdirSync(join(root, name), { recursive: true });
      writeFileSync(join(root, name, '.owner.json'), JSON.stringify(owner));
      writeFileSync(join(root, name, 'dump.pgdump'), 'half a dump');
    };
    leftover('.tmp-db-20261207T000000Z-000001', { pid: deadPid(), host: hostname() });
    leftover('.tmp-db-20261207T000000Z-000002', { pid: process.pid, host: hostname() });
    leftover('.tmp-db-20261207T000000Z-000003', { pid: process.ppid, host: hostname() });
    leftover('.tmp-db-20261207T000000Z-000004', { pid: deadPid(), host: `not-${hostname()}` });
    const pending = await repository.begin('db');
    expect(pending.removedLeftovers).toEqual(['.tmp-db-20261207T000000Z-000001']);
    expect(readdirSync(root).sort()).toEqual([
      '.tmp-db-20261207T000000Z-000002',
      '.tmp-db-20261207T000000Z-000003',
      '.tmp-db-20261207T000000Z-000004',
      `.tmp-${pending.id}`,
    ]);
  });
});
