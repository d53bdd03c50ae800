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
}

/** One kind of target (postgres, sqlite, files): how it is written, checked in depth and restored. */
export interface TargetDriver {
  /** Writes the backup's artifacts into `dir`. */
  create(dir: string, key: BackupKey | undefined): Promise<DriverOutput>;
  /**
   * Checks beyond the checksums, which the caller has checked already: the artifacts decrypt, and
   * the tool that restores them reads them (`pg_restore --list`, SQLite's integrity check, a tar listing).
   */
  verify(dir: string, manifest: Manifest, key: BackupKey | undefined): Promise<void>;
  /** Restores into `to` (a database URL or a path); refuses a non-empty target unless `force`. */
  restore(dir: string, manifest: Manifest, key: BackupKey | undefined, to: string, force: boolean): Promise<void>;
}
