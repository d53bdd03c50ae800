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

/** A pass-through that counts and (unless told not to) hashes what flows through it. */
class Tap extends Transform {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  readonly #hashing: boolean;

  constructor(hashing = true) {
    super();
    this.#hashing = hashing;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    if (this.#hashing) this.hash.update(chunk);
    this.bytes += chunk.length;
    this.push(chunk);
    callback();
  }
}

/** A pass-through that also writes every chunk to `side`, waiting for it when it is full: the side sees exactly what passed. */
function tee(side: PassThrough): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (side.write(chunk)) callback(null, chunk);
      else side.once('drain', () => callback(null, chunk));
    },
    flush(callback) {
      side.end();
      callback();
    },
  });
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

/** Output buffer of a decompressor: larger than zlib's 16 KiB, so fewer trips to the thread pool and fewer, larger chunks downstream. */
const DECOMPRESS_CHUNK = 256 * 1024;

/** The decompressing Transform for `compression`. */
export function decompressor(compression: Compression): Transform {
  if (compression === 'gzip') return zlib.createGunzip({ chunkSize: DECOMPRESS_CHUNK });
  if (compression === 'zstd') {
    if (typeof zlib.createZstdDecompress !== 'function')
      throw new BackupError('NINES_BACKUP_FAILED', 'zstd needs Node.js >= 22.15 (zlib.createZstdDecompress)');
    return zlib.createZstdDecompress({ chunkSize: DECOMPRESS_CHUNK });
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
  options: {
    compression: Compression;
    key?: BackupKey | undefined;
    /**
     * Reads the stored bytes back as they are written: decrypted and decompressed, as a restore
     * would; its failure fails the write. With the stored SHA-256 checked again from disk
     * afterwards, the file on disk is then the one checked, without reading it all a second time.
     */
    check?: (plain: Readable, path: string) => Promise<void>;
  },
): Promise<Written> {
  const path = `${name}${COMPRESSION_SUFFIX[options.compression]}${options.key ? ENCRYPTED_SUFFIX : ''}`;
  await mkdir(dirname(join(dir, path)), { recursive: true, mode: 0o700 });
  const input = new Tap(false);
  const plain = new Tap(options.key !== undefined);
  const stored = new Tap();
  const stages: NodeJS.ReadWriteStream[] = [input, compressor(options.compression), plain];
  if (options.key) stages.push(encryptStream(options.key));
  const sink = createWriteStream(join(dir, path), { flags: 'wx', mode: 0o600 });
  if (options.check === undefined) await pipeline([source, ...stages, stored, sink]);
  else {
    // the check may lag a few blocks behind the writer without holding it up at every block
    const side = new PassThrough({ highWaterMark: 8 * 1024 * 1024 });
    const readBack = new PassThrough();
    const decoding = pipeline([
      side,
      ...(options.key ? [decryptStream(options.key, path)] : []),
      decompressor(options.compression),
      readBack,
    ]);
    const abort = new AbortController();
    const checked = Promise.all([decoding, options.check(readBack, path)]).catch((error: unknown) => {
      abort.abort(error);
      readBack.destroy();
      throw error;
    });
    const written = pipeline([source, ...stages, stored, tee(side), sink], { signal: abort.signal }).catch((error: unknown) => {
      side.destroy(error as Error);
      throw error;
    });
    const [w, c] = await Promise.allSettled([written, checked]);
    if (c.status === 'rejected') throw c.reason;
    if (w.status === 'rejected') throw w.reason;
  }
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
