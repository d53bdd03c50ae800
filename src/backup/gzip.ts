import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gzip = promisify(zlib.gzip);

/** Input bytes per gzip member by default: large enough that restarting the dictionary costs well under 1 %. */
export const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;

/** Options of {@link parallelGzip}. */
export interface ParallelGzipOptions {
  /** zlib level, 0 to 9. Default 6, gzip(1)'s. */
  level?: number;
  /** Input bytes per member. Default {@link DEFAULT_BLOCK_SIZE}. */
  blockSize?: number;
  /** Blocks compressed at once (in libuv's thread pool). Default the CPUs available, at least 2. */
  parallel?: number;
}

/**
 * A gzip compressor that compresses blocks of its input on several threads at once, as pigz does,
 * and writes them in order as consecutive gzip members: one standard gzip file (RFC 1952 allows
 * members one after another; gunzip, `tar xz` and zlib's gunzip read them all). Compressing in
 * the thread pool while the source is produced on the main thread is what lets a backup keep up
 * with `tar czf`, whose gzip runs in a process of its own. Memory: at most `parallel + 1` blocks.
 */
export function parallelGzip(options: ParallelGzipOptions = {}): Transform {
  const level = options.level ?? 6;
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  const parallel = options.parallel ?? Math.max(2, availableParallelism());
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let members = 0;
  const inFlight: Promise<Buffer>[] = [];

  const submit = (block: Buffer): void => {
    // output buffers as large as the block: zlib then compresses it in one trip to the thread pool
    // instead of one per 16 KiB of output, each waiting for the (busy) main thread to start the next
    const member = gzip(block, { level, chunkSize: Math.max(zlib.constants.Z_MIN_CHUNK, block.length + 1024) });
    member.catch(() => undefined); // awaited in order below; this only keeps a later rejection from being unhandled meanwhile
    inFlight.push(member);
    members++;
  };
  /** Cuts every full block out of the pending input and submits it. */
  const cut = (): void => {
    if (pendingBytes < blockSize) return;
    const all = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
    let at = 0;
    for (; all.length - at >= blockSize; at += blockSize) submit(all.subarray(at, at + blockSize));
    pending = at < all.length ? [all.subarray(at)] : [];
    pendingBytes = all.length - at;
  };
  /** Pushes finished members in order while more than `keep` are in flight. */
  const drain = async (stream: Transform, keep: number): Promise<void> => {
    while (inFlight.length > keep) stream.push(await (inFlight.shift() as Promise<Buffer>));
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      cut();
      // back-pressure: the writer waits while `parallel` blocks are being compressed
      drain(this, parallel - 1).then(() => callback(), callback);
    },
    flush(callback: TransformCallback) {
      if (pendingBytes > 0 || members === 0) submit(Buffer.concat(pending, pendingBytes)); // empty input: one empty member
      pending = [];
      drain(this, 0).then(() => callback(), callback);
    },
  });
}
