import { BackupError } from './errors.js';
import type { BackupKey } from './key.js';
import type { Artifact, Manifest } from './manifest.js';

/** What a target's driver wrote into a pending backup's folder. */
export interface DriverOutput {
  artifacts: Artifact[];
  /** Bytes before compression (see the manifest's `sizes.source`). */
  sourceBytes: number | null;
  source: Manifest['source'];
  tools: Record<string, string>;
  options: Manifest['options'];
  /** What the drill will compare a restored copy with (row counts, the file list). */
  contents?: Manifest['contents'];
  /**
   * True when the driver read its artifacts back while writing them, as {@link TargetDriver.verify}
   * would (decrypted, decompressed, parsed): create then checks only their checksums from disk.
   */
  verified?: boolean;
}

/** One kind of target (postgres, sqlite, files): how it is written, checked in depth and restored. */
export interface TargetDriver {
  /** Writes the backup's artifacts into `dir`; with `parent` (files only), an incremental backup on top of it. */
  create(dir: string, key: BackupKey | undefined, parent?: Manifest): Promise<DriverOutput>;
  /**
   * Checks beyond the checksums, which the caller has checked already: the artifacts decrypt, and
   * the tool that restores them reads them (`pg_restore --list`, SQLite's integrity check, a tar listing).
   */
  verify(dir: string, manifest: Manifest, key: BackupKey | undefined): Promise<void>;
  /** Restores into `to` (a database URL or a path); refuses a non-empty target unless `force`. */
  restore(dir: string, manifest: Manifest, key: BackupKey | undefined, to: string, force: boolean): Promise<void>;
  /**
   * Compares the copy restored at `to` with `manifest.contents`: one line per difference
   * (`public.orders: 1200 rows, the backup recorded 1201`), empty when they agree.
   */
  compare(dir: string, manifest: Manifest, key: BackupKey | undefined, to: string): Promise<string[]>;
}

/** The drill's answer for a backup whose manifest recorded no contents (written before drills, or by a driver that records none). */
export function nothingRecorded(manifest: Manifest): never {
  throw new BackupError(
    'NINES_BACKUP_FAILED',
    `backup ${manifest.id} recorded no contents to compare a restore with (it predates restore drills): take a new backup`,
  );
}
