import { z } from 'zod';

/** The manifest format this code writes; a reader refuses a newer one rather than misread it. */
export const MANIFEST_FORMAT = 1;

/** The name of the manifest inside a backup's folder. */
export const MANIFEST_FILE = 'manifest.json';

const artifact = z.object({
  /** Path inside the backup's folder, `/`-separated. */
  path: z.string().min(1),
  /** Bytes stored on disk. */
  bytes: z.int().min(0),
  /** SHA-256 of the stored bytes, hex. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** When encrypted: bytes and SHA-256 of the plaintext, checked again after decryption. */
  plainBytes: z.int().min(0).optional(),
  plainSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

const source = z.union([
  z.object({
    /** Database name. */
    database: z.string(),
    /** `host:port` of the server (never the password). */
    server: z.string(),
    /** PostgreSQL `server_version`. */
    serverVersion: z.string(),
  }),
  z.object({ path: z.string() }),
]);

/** What a backup recorded of its source, for a drill to compare a restored copy with. */
const contents = z.union([
  z.object({
    /** Rows per table (`schema.table` for PostgreSQL, the table's name for SQLite), counted in the backup's own snapshot. */
    tables: z.record(z.string(), z.int().min(0)),
  }),
  z.object({
    /**
     * The tree as backed up: `list` is the artifact holding one JSON line per entry (path, type, mode,
     * size, mtime, SHA-256 of a file's bytes, a symlink's target, a hard link's first path, and in an
     * incremental the backup holding a file's bytes); `entries` and `bytes` (of files) are its totals.
     */
    files: z.object({ list: z.string().min(1), entries: z.int().min(0), bytes: z.int().min(0) }),
  }),
]);

/** Everything a backup's folder holds about it: written last, so a folder with a manifest is complete. */
export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  id: z.string(),
  target: z.string(),
  /** The target's kind. */
  kind: z.enum(['postgres', 'sqlite', 'files']),
  type: z.enum(['full', 'incremental']),
  /** The backup an incremental one builds on; null for a full backup. */
  parent: z.string().nullable(),
  startedAt: z.string(),
  endedAt: z.string(),
  source,
  /** Versions of the tools that wrote it (`pg_dump --version`, SQLite, tar, Node, nines). */
  tools: z.record(z.string(), z.string()),
  /** How the artifacts were written: `pg_dump` format and compression, or the stream's compression. */
  options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  sizes: z.object({
    /** Bytes before compression: the tar stream, the SQLite file; for PostgreSQL `pg_database_size` (its files on disk). */
    source: z.int().min(0).nullable(),
    /** Bytes of the artifacts as stored. */
    stored: z.int().min(0),
  }),
  /** Null when not encrypted; otherwise the scheme and the key's id (never the key). */
  encryption: z.object({ algorithm: z.string(), keyId: z.string() }).nullable(),
  artifacts: z.array(artifact).min(1),
  /** Absent in backups written before drills existed: a drill of such a backup can only restore it. */
  contents: contents.optional(),
});

/** A backup's manifest. */
export type Manifest = z.output<typeof manifestSchema>;

/** What a backup recorded of its source. */
export type Contents = NonNullable<Manifest['contents']>;

/** One file of a backup. */
export type Artifact = Manifest['artifacts'][number];
