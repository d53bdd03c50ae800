import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parallelGzip } from '../../src/backup/gzip.js';

/** Everything `chunks` give through a parallelGzip with `options`, as one buffer. */
async function compress(chunks: Buffer[], options: Parameters<typeof parallelGzip>[0]): Promise<Buffer> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  await pipeline(Readable.from(chunks), parallelGzip(options), sink);
  return Buffer.concat(out);
}

/** Input of mixed compressible text and random bytes, cut into chunks of uneven sizes. */
function input(bytes: number): { whole: Buffer; chunks: Buffer[] } {
  const parts: Buffer[] = [];
  for (let n = 0, i = 0; n < bytes; i++) {
    const part =
      i % 3 === 0
        ? randomBytes(1 + ((i * 7919) % 5000))
        : Buffer.from(`line ${i} of text, repeated words words words\n`.repeat(1 + (i % 40)));
    parts.push(part);
    n += part.length;
  }
  const whole = Buffer.concat(parts).subarray(0, bytes);
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < whole.length; i++) {
    const size = [1, 100, 4096, 65_536, 300_000][i % 5] as number;
    chunks.push(whole.subarray(at, at + size));
    at += size;
  }
  return { whole, chunks };
}

describe('parallelGzip', () => {
  it('gives one gzip file of consecutive members, in order, that zlib and gzip(1) read whole', async () => {
    const { whole, chunks } = input(3_000_000);
    const gz = await compress(chunks, { blockSize: 64 * 1024, parallel: 3 });
    expect(gunzipSync(gz).equals(whole)).toBe(true);
    // 3 MB in 64 KiB blocks: many members (each starts with the gzip magic 1f 8b 08)
    expect(gz.subarray(0, 3).toString('hex')).toBe('1f8b08');
    const gzip = spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 16 * 1024 * 1024 });
    if (gzip.error === undefined) expect(gzip.stdout.equals(whole)).toBe(true);
  });

  it('input shorter than a block, exactly one block, and empty input are valid gzip too', async () => {
    for (const bytes of [10, 64 * 1024, 2 * 64 * 1024]) {
      const { whole, chunks } = input(bytes);
      expect(gunzipSync(await compress(chunks, { blockSize: 64 * 1024 })).equals(whole)).toBe(true);
    }
    const empty = await compress([], {});
    expect(gunzipSync(empty).length).toBe(0);
  });

  it('costs well under 1 % in size against one gzip stream at the default block size', async () => {
    const text = Buffer.from(
      Array.from(
        { length: 200_000 },
        (_, i) => `2026-12-07T03:00:${i % 60} info req=${(i * 2654435761) % 1e9} GET /items/${i % 5000}\n`,
      ).join(''),
    );
    const { gzipSync } = await import('node:zlib');
    const one = gzipSync(text, { level: 6 }).length;
    const many = (await compress([text], {})).length;
    expect(gunzipSync(await compress([text], {})).equals(text)).toBe(true);
    expect(many / one).toBeLessThan(1.01);
  });

  it('keeps back-pressure: a slow reader holds the writer a few blocks ahead, not the whole input ahead', async () => {
    const blockSize = 64 * 1024;
    const gz = parallelGzip({ blockSize, parallel: 2 });
    let written = 0;
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 200; i++) {
          written += blockSize;
          yield randomBytes(blockSize);
        }
      })(),
    );
    let maxAhead = 0;
    let read = 0;
    const sink = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, callback) {
        read += chunk.length;
        maxAhead = Math.max(maxAhead, written - read);
        setImmediate(callback);
      },
    });
    await pipeline(source, gz, sink);
    // random bytes do not compress, so read ≈ consumed input; the Transform's own buffers add a few blocks
    expect(maxAhead).toBeLessThan(12 * blockSize);
  });
});
