import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { decryptStream, encryptStream } from './crypto.js';
import { BackupError } from './errors.js';
import { parallelGzip } from './gzip.js';
import type { BackupKey } from './key.js';
import type { Artifact } from './manifest.js';

/** How a stream is compressed before it is stored; `none` for input that is compressed already (pg_dump's). */
export type Compression = 'gzip' | 'zstd' | 'none';

/** The file-name suffix of each compression. */
export const COMPRESSION_SUFFIX: Record<Compression, string> = { gzip: '.gz', zstd: '.zst', none: '' };

/** Suffix of an encrypted artifact. */
export const ENCRYPTED_SUFFIX = '.enc';

/** A pass-through that counts and hashes what flows through it. */
class Tap extends Transform {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.push(chunk);
    callback();
  }
}

function compressor(compression: Compression): Transform {
  if (compression === 'gzip') return parallelGzip({ level: 6 });
  if (compression === 'zstd') {
    if (typeof zlib.createZstdCompress !== 'function')
      throw new BackupError('NINES_BACKUP_FAILED', 'zstd compression needs Node.js >= 22.15 (zlib.createZstdCompress); use gzip');
    return zlib.createZstdCompress();
  }
  return new PassThrough();
}

/** The decompressing Transform for `compression`. */
export function decompressor(compression: Compression): Transform {
  if (compression === 'gzip') return zlib.createGunzip();
  if (compression === 'zstd') {
    if (typeof zlib.createZstdDecompress !== 'function')
      throw new BackupError('NINES_BACKUP_FAILED', 'zstd needs Node.js >= 22.15 (zlib.createZstdDecompress)');
    return zlib.createZstdDecompress();
  }
  return new PassThrough();
}

/** What {@link writeArtifact} wrote: the manifest's entry, and the bytes that went in before compression. */
export interface Written {
  artifact: Artifact;
  /** Bytes read from the source, before compression. */
  sourceBytes: number;
}

/**
 * Streams `source` through compression and (with a key) encryption into `dir/name` (plus the
 * suffixes), hashing the stored bytes and, when encrypted, the plaintext as well. Memory stays
 * bounded whatever the size.
 */
export async function writeArtifact(
  dir: string,
  name: string,
  source: Readable,
  options: { compression: Compression; key?: BackupKey | undefined },
): Promise<Written> {
  const path = `${name}${COMPRESSION_SUFFIX[options.compression]}${options.key ? ENCRYPTED_SUFFIX : ''}`;
  await mkdir(dirname(join(dir, path)), { recursive: true, mode: 0o700 });
  const input = new Tap();
  const plain = new Tap();
  const stored = new Tap();
  const stages: NodeJS.ReadWriteStream[] = [input, compressor(options.compression), plain];
  if (options.key) stages.push(encryptStream(options.key));
  await pipeline([source, ...stages, stored, createWriteStream(join(dir, path), { flags: 'wx', mode: 0o600 })]);
  const artifact: Artifact = { path, bytes: stored.bytes, sha256: stored.hash.digest('hex') };
  if (options.key) {
    artifact.plainBytes = plain.bytes;
    artifact.plainSha256 = plain.hash.digest('hex');
  }
  return { artifact, sourceBytes: input.bytes };
}

/** The plaintext of an artifact decompressed, as one stream: a failure of any stage (a bad chunk, bad gzip) fails it. */
export function readDecompressed(dir: string, artifact: Artifact, key: BackupKey | undefined, compression: Compression): Readable {
  const out = new PassThrough();
  pipeline(readPlain(dir, artifact, key), decompressor(compression), out).catch((error: unknown) => out.destroy(error as Error));
  return out;
}

/** SHA-256 (hex) and size of a file. */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const tap = new Tap();
  await pipeline(createReadStream(path), tap, new PassThrough().resume());
  return { sha256: tap.hash.digest('hex'), bytes: tap.bytes };
}

/**
 * Checks an artifact's stored bytes against the manifest; a mismatch is a {@link BackupError}
 * `NINES_BACKUP_CORRUPT` naming the file.
 */
export async function checkStored(dir: string, artifact: Artifact): Promise<void> {
  let got: { sha256: string; bytes: number };
  try {
    got = await hashFile(join(dir, artifact.path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new BackupError('NINES_BACKUP_CORRUPT', `${artifact.path}: cannot read: ${code}`, { file: artifact.path, cause: error });
  }
  if (got.bytes !== artifact.bytes)
    throw new BackupError(
      'NINES_BACKUP_CORRUPT',
      `${artifact.path}: ${got.bytes} bytes, the manifest says ${artifact.bytes} (truncated?)`,
      {
        file: artifact.path,
      },
    );
  if (got.sha256 !== artifact.sha256)
    throw new BackupError(
      'NINES_BACKUP_CORRUPT',
      `${artifact.path}: SHA-256 ${got.sha256} does not match the manifest's ${artifact.sha256}`,
      {
        file: artifact.path,
      },
    );
}

/**
 * The plaintext of an artifact as a stream (decrypted when the manifest says so, still compressed);
 * when encrypted, its hash and length are checked against the manifest at the end, and a mismatch
 * fails the stream.
 */
export function readPlain(dir: string, artifact: Artifact, key: BackupKey | undefined): Readable {
  const file = createReadStream(join(dir, artifact.path));
  if (artifact.plainSha256 === undefined) return file;
  if (key === undefined)
    throw new BackupError('NINES_BACKUP_KEY', `${artifact.path}: encrypted, and no key is configured (backup.encryption)`, {
      file: artifact.path,
    });
  const hash = createHash('sha256');
  let bytes = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
    flush(callback) {
      const sha256 = hash.digest('hex');
      if (bytes !== artifact.plainBytes || sha256 !== artifact.plainSha256)
        callback(
          new BackupError('NINES_BACKUP_CORRUPT', `${artifact.path}: decrypted content does not match the manifest`, {
            file: artifact.path,
          }),
        );
      else callback();
    },
  });
  const decrypt = decryptStream(key, artifact.path);
  // pipe() keeps back-pressure; errors and an early close are forwarded by hand, so the reader sees the first error
  file.on('error', (error) => check.destroy(error));
  decrypt.on('error', (error) => check.destroy(error));
  check.on('close', () => {
    file.destroy();
    decrypt.destroy();
  });
  file.pipe(decrypt).pipe(check);
  return check;
}
