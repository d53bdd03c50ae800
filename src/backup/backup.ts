import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { BackupConfig, BackupTargetConfig } from '../config/backup.js';
import { type Clock, systemClock } from '../core/clock.js';
import { checkStored } from './artifact.js';
import { chainOf } from './chain.js';
import { ENCRYPTION_ALGORITHM } from './crypto.js';
import type { TargetDriver } from './driver.js';
import { BackupError } from './errors.js';
import { filesDriver } from './files/files-driver.js';
import { type BackupKey, loadKey } from './key.js';
import { MANIFEST_FORMAT, type Manifest } from './manifest.js';
import { Repository } from './repository.js';

const { version: ninesVersion } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** What backup operations need: the config's `backup:` section, and where the key and time come from. */
export interface BackupContext {
  config: BackupConfig;
  /** For `backup.encryption.keyEnv`. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Default the system clock. */
  clock?: Clock;
}

/** The driver of a target's kind; the database drivers are loaded only when used. */
export async function driverFor(target: BackupTargetConfig, repository: string): Promise<TargetDriver> {
  if (target.type === 'postgres') return (await import('./postgres/postgres-driver.js')).postgresDriver(target);
  if (target.type === 'sqlite') return (await import('./sqlite/sqlite-driver.js')).sqliteDriver(target);
  return filesDriver(target, repository);
}

/** The configured key, or undefined when `backup.encryption` is not set. */
export async function configuredKey(context: BackupContext): Promise<BackupKey | undefined> {
  const { encryption } = context.config;
  return encryption === undefined ? undefined : loadKey(encryption, context.env);
}

/** The configured target `name`; a clear error naming the configured ones when there is none. */
export function targetOf(config: BackupConfig, name: string): BackupTargetConfig {
  const target = config.targets[name];
  if (target === undefined) {
    const known = Object.keys(config.targets);
    throw new BackupError(
      'NINES_BACKUP_NOT_FOUND',
      `backup.targets: no target ${JSON.stringify(name)}${known.length === 0 ? ' (none configured)' : `; configured: ${known.join(', ')}`}`,
    );
  }
  return target;
}

/** The repository of a config. */
export function repositoryOf(context: BackupContext): Repository {
  return new Repository(context.config.repository, context.clock === undefined ? {} : { clock: context.clock });
}

/** Options of {@link createBackup}. */
export interface CreateOptions {
  /** `incremental` (files targets only): only what changed since the target's latest backup. Default `full`. */
  type?: 'full' | 'incremental';
}

/** What {@link createBackup} took. */
export type Created = Manifest & {
  removedLeftovers: readonly string[];
  /** Why an incremental backup asked for was taken as a full one (no earlier backup to build on). */
  fullBecause?: string;
};

/**
 * Takes a backup of target `name`: writes it in a pending folder, verifies it there exactly as
 * {@link verifyBackup} would, and only then renames it into the repository. On any failure the
 * pending folder is removed and nothing appears in `list`. An incremental one builds on the
 * target's latest complete backup; when there is none it can build on, it is taken as a full one
 * (as pgBackRest does), and `fullBecause` says why.
 */
export async function createBackup(context: BackupContext, name: string, options: CreateOptions = {}): Promise<Created> {
  const target = targetOf(context.config, name);
  if (options.type === 'incremental' && target.type !== 'files')
    throw new BackupError(
      'NINES_BACKUP_FAILED',
      `backup ${name}: incremental backups are for files targets only; ${name} is a ${target.type} target (take a full backup, or use point-in-time recovery for PostgreSQL)`,
    );
  const key = await configuredKey(context);
  const clock = context.clock ?? systemClock;
  const repository = repositoryOf(context);
  const driver = await driverFor(target, repository.root);
  const base = options.type === 'incremental' ? await parentFor(repository, name, target, key) : undefined;
  const pending = await repository.begin(name);
  try {
    const parent = typeof base === 'object' ? base : undefined;
    const out = await driver.create(pending.dir, key, parent);
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      id: pending.id,
      target: name,
      kind: target.type,
      type: parent === undefined ? 'full' : 'incremental',
      parent: parent?.id ?? null,
      startedAt: new Date(pending.startedAt).toISOString(),
      endedAt: '',
      source: out.source,
      tools: { ...out.tools, node: process.version, nines: ninesVersion },
      options: out.options,
      sizes: { source: out.sourceBytes, stored: out.artifacts.reduce((sum, a) => sum + a.bytes, 0) },
      encryption: key === undefined ? null : { algorithm: ENCRYPTION_ALGORITHM, keyId: key.id },
      artifacts: out.artifacts,
      ...(out.contents === undefined ? {} : { contents: out.contents }),
    };
    await check(driver, pending.dir, manifest, key, out.verified === true);
    manifest.endedAt = new Date(clock.now()).toISOString();
    await pending.commit(manifest);
    return { ...manifest, removedLeftovers: pending.removedLeftovers, ...(typeof base === 'string' ? { fullBecause: base } : {}) };
  } catch (error) {
    await pending.abort();
    throw error;
  }
}

/** The backup an incremental of `name` builds on: its latest complete one, or why there is none it can build on. */
async function parentFor(
  repository: Repository,
  name: string,
  target: BackupTargetConfig,
  key: BackupKey | undefined,
): Promise<Manifest | string> {
  const latest = (await repository.list(name)).at(-1);
  if (latest === undefined) return `no earlier backup of ${name}`;
  if (latest.contents === undefined || !('files' in latest.contents)) return `${latest.id} has no file list (written by an older nines)`;
  if ('path' in latest.source && 'path' in target && latest.source.path !== resolve(target.path))
    return `${latest.id} is of another path (${latest.source.path})`;
  if ((latest.encryption?.keyId ?? null) !== (key?.id ?? null))
    return `${latest.id} is ${latest.encryption === null ? 'not encrypted' : `encrypted with key ${latest.encryption.keyId}`}, and this backup ${key === undefined ? 'is not' : `is with key ${key.id}`}: a chain has one key`;
  return latest;
}

/**
 * Checksums first (they need no key and name the file), then the key, then the driver's own reading
 * unless it `readBack` its artifacts as it wrote them: the checksums from disk then prove the files
 * are the bytes it read.
 */
async function check(driver: TargetDriver, dir: string, manifest: Manifest, key: BackupKey | undefined, readBack = false): Promise<void> {
  const checksums = (async () => {
    for (const artifact of manifest.artifacts) await checkStored(dir, artifact);
  })();
  const wrongKey = keyProblem(manifest, key);
  if (wrongKey !== undefined) {
    await checksums;
    throw wrongKey;
  }
  // both only read, so they run at once; a checksum's failure is the one reported, as it names the file
  const [stored, read] = await Promise.allSettled([checksums, readBack ? undefined : driver.verify(dir, manifest, key)]);
  if (stored.status === 'rejected') throw stored.reason;
  if (read.status === 'rejected') throw read.reason;
}

/** Why `key` cannot decrypt backup `manifest` (none configured, another one); undefined when it can or the backup is plain. */
function keyProblem(manifest: Manifest, key: BackupKey | undefined): BackupError | undefined {
  if (manifest.encryption === null || key?.id === manifest.encryption.keyId) return undefined;
  return new BackupError(
    'NINES_BACKUP_KEY',
    `backup ${manifest.id} is encrypted with key ${manifest.encryption.keyId}, ${key === undefined ? 'and no key is configured (backup.encryption)' : `but the configured key is ${key.id}: wrong key`}`,
  );
}

/**
 * Verifies backup `id`: recomputes every checksum, decrypts every artifact, and has the restoring
 * tool read it (`pg_restore --list`, SQLite's integrity check, a full tar listing). Throws a
 * {@link BackupError} naming the bad file; returns the manifest when all is well.
 */
export async function verifyBackup(context: BackupContext, id: string): Promise<Manifest> {
  const repository = repositoryOf(context);
  const manifest = await repository.get(id);
  const target: BackupTargetConfig = context.config.targets[manifest.target] ?? fallbackTarget(manifest);
  const driver = await driverFor(target, repository.root);
  await check(driver, repository.dir(id), manifest, manifest.encryption === null ? undefined : await configuredKey(context));
  await checkChain(repository, manifest);
  return manifest;
}

/**
 * Restores backup `id` into `to`: a PostgreSQL URL (created when missing) for a database backup, a
 * path for a SQLite file or a directory. Checksums are checked first; a non-empty target is refused
 * unless `force`.
 */
export async function restoreBackup(context: BackupContext, id: string, to: string, force = false): Promise<Manifest> {
  const repository = repositoryOf(context);
  const manifest = await repository.get(id);
  const dir = repository.dir(id);
  checkDestination(manifest, to);
  for (const artifact of manifest.artifacts) await checkStored(dir, artifact);
  await checkChain(repository, manifest);
  const key = manifest.encryption === null ? undefined : await configuredKey(context);
  const wrongKey = keyProblem(manifest, key);
  if (wrongKey !== undefined) throw wrongKey;
  const driver = await driverFor(context.config.targets[manifest.target] ?? fallbackTarget(manifest), repository.root);
  await driver.restore(dir, manifest, key, to, force);
  return manifest;
}

/** An incremental's chain: every backup it builds on is in the repository, with its checksums intact. */
async function checkChain(repository: Repository, manifest: Manifest): Promise<void> {
  if (manifest.parent === null) return;
  for (const m of await chainOf(repository, manifest)) {
    if (m.id === manifest.id) continue;
    for (const artifact of m.artifacts)
      await checkStored(repository.dir(m.id), artifact).catch((error: BackupError) => {
        throw new BackupError(error.code as 'NINES_BACKUP_CORRUPT', `${m.id} (in the chain of ${manifest.id}): ${error.message}`, {
          file: `${m.id}/${artifact.path}`,
          cause: error,
        });
      });
  }
}

/** A PostgreSQL backup goes to a database URL, the others to a path: else a {@link BackupError} `NINES_RESTORE_REFUSED`. */
export function checkDestination(manifest: Manifest, to: string): void {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(to);
  const postgres = /^postgres(ql)?:\/\/\S+$/.test(to) && URL.canParse(to);
  if (manifest.kind === 'postgres' ? !postgres : url)
    throw new BackupError(
      'NINES_RESTORE_REFUSED',
      `--to: backup ${manifest.id} is of ${manifest.kind === 'postgres' ? 'a PostgreSQL database: expected postgres://user@host:5432/db' : `a ${manifest.kind === 'sqlite' ? 'SQLite file' : 'directory'}: expected a path`}`,
    );
}

/**
 * A target rebuilt from a manifest, so a backup whose target was renamed or removed from the config
 * (or a repository copied to a new machine) can still be verified and restored.
 */
function fallbackTarget(manifest: Manifest): BackupTargetConfig {
  const path = 'path' in manifest.source ? manifest.source.path : '';
  const compression = (manifest.options.compression ?? 'gzip') as 'gzip';
  if (manifest.kind === 'postgres')
    return {
      type: 'postgres',
      url: 'postgres://localhost/unused',
      format: manifest.options.format as 'custom',
      jobs: Number(manifest.options.jobs ?? 1),
    };
  if (manifest.kind === 'sqlite') return { type: 'sqlite', path, compression };
  return { type: 'files', path, exclude: [], compression };
}
