import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { decryptStream, encryptStream } from '../../src/backup/crypto.js';
import { type BackupKey, decodeKey, keyId, loadKey } from '../../src/backup/key.js';
import { failure, tempDir } from './helpers.js';

const key = (bytes = randomBytes(32)): BackupKey => ({ key: bytes, id: keyId(bytes) });

/** Runs `input` through `transform` (fed in `piece`-byte writes) and collects the output. */
async function through(transform: Transform, input: Buffer, piece = 7_777): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += piece) parts.push(input.subarray(i, i + piece));
  const out: Buffer[] = [];
  await pipeline(Readable.from(parts), transform, async (source: AsyncIterable<Buffer | string>) => {
    for await (const chunk of source) out.push(Buffer.from(chunk));
  });
  return Buffer.concat(out);
}

const CHUNK = 1024;
const RECORD = 12 + CHUNK + 16;
const HEADER = 36;

describe('chunked AES-256-GCM', () => {
  it('round-trips any length, including empty and exact multiples of the chunk', async () => {
    const k = key();
    for (const length of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 10 * CHUNK + 17]) {
      const plain = randomBytes(length);
      const sealed = await through(encryptStream(k, CHUNK), plain);
      const chunks = Math.max(1, Math.ceil(length / CHUNK));
      expect(sealed.length).toBe(HEADER + length + chunks * 28);
      expect(await through(decryptStream(k, 'f'), sealed, 333)).toEqual(plain);
    }
  });

  it('two encryptions of the same bytes differ (random file id and nonces)', async () => {
    const k = key();
    const plain = randomBytes(3 * CHUNK);
    expect((await through(encryptStream(k, CHUNK), plain)).equals(await through(encryptStream(k, CHUNK), plain))).toBe(false);
  });

  it('detects a flipped byte, swapped chunks, a truncation at a chunk boundary and a dropped tail', async () => {
    const k = key();
    const sealed = await through(encryptStream(k, CHUNK), randomBytes(4 * CHUNK + 100));
    const flipped = Buffer.from(sealed);
    flipped[HEADER + RECORD + 50] = (flipped[HEADER + RECORD + 50] ?? 0) ^ 1;
    const swapped = Buffer.concat([
      sealed.subarray(0, HEADER),
      sealed.subarray(HEADER + RECORD, HEADER + 2 * RECORD),
      sealed.subarray(HEADER, HEADER + RECORD),
      sealed.subarray(HEADER + 2 * RECORD),
    ]);
    const atBoundary = sealed.subarray(0, HEADER + 2 * RECORD); // two whole chunks, neither sealed as final
    const midChunk = sealed.subarray(0, sealed.length - 10);
    const header = Buffer.from(sealed);
    header[25] = (header[25] ?? 0) ^ 1; // the file id, bound in every chunk's AAD
    for (const [what, bytes, pattern] of [
      ['flipped', flipped, /chunk 1 failed authentication/],
      ['swapped', swapped, /chunk 0 failed authentication/],
      ['boundary', atBoundary, /chunk 1 failed authentication: the file was altered or truncated/],
      ['mid-chunk', midChunk, /chunk 4 failed authentication/],
      ['header', header, /chunk 0 failed authentication/],
      ['tiny', sealed.subarray(0, 20), /shorter than its header/],
    ] as const) {
      const error = await failure(through(decryptStream(k, 'db.pgdump.enc'), bytes));
      expect(error.code, what).toBe('NINES_BACKUP_CORRUPT');
      expect(error.message, what).toMatch(pattern);
      expect(error.file).toBe('db.pgdump.enc');
    }
  });

  it('a wrong key: NINES_BACKUP_KEY naming both key ids, before any chunk is tried', async () => {
    const right = key();
    const wrong = key();
    const sealed = await through(encryptStream(right, CHUNK), randomBytes(5000));
    const error = await failure(through(decryptStream(wrong, 'x.enc'), sealed));
    expect(error.code).toBe('NINES_BACKUP_KEY');
    expect(error.message).toBe(`x.enc: encrypted with key ${right.id}, but the configured key is ${wrong.id}: wrong key`);
  });

  it('never passes on bytes of a chunk that failed authentication', async () => {
    const k = key();
    const sealed = await through(encryptStream(k, CHUNK), randomBytes(3 * CHUNK + 5));
    sealed[HEADER + RECORD + 20] = (sealed[HEADER + RECORD + 20] ?? 0) ^ 1;
    const got: Buffer[] = [];
    const decrypt = decryptStream(k, 'f');
    decrypt.on('data', (chunk: Buffer) => got.push(chunk));
    await failure(pipeline(Readable.from([sealed]), decrypt));
    expect(Buffer.concat(got).length).toBe(CHUNK); // chunk 0 only
  });
});

describe('backup keys', () => {
  it('accepts 64 hex digits and base64 (standard or URL-safe) of 32 bytes, and nothing else', () => {
    const bytes = randomBytes(32);
    expect(decodeKey(bytes.toString('hex'))).toEqual(bytes);
    expect(decodeKey(`${bytes.toString('hex').toUpperCase()}\n`)).toEqual(bytes);
    expect(decodeKey(bytes.toString('base64'))).toEqual(bytes);
    expect(decodeKey(bytes.toString('base64url'))).toEqual(bytes);
    expect(decodeKey(randomBytes(16).toString('hex'))).toBeUndefined();
    expect(decodeKey(randomBytes(31).toString('base64'))).toBeUndefined();
    expect(decodeKey('correct horse battery staple')).toBeUndefined();
  });

  it('key id: the first 8 bytes of its SHA-256, hex', () => {
    expect(keyId(Buffer.alloc(32))).toBe('66687aadf862bd77');
  });

  it('loads from an environment variable or a file; errors say where, never the value', async () => {
    const bytes = randomBytes(32);
    expect((await loadKey({ keyEnv: 'K' }, { K: bytes.toString('base64') })).key).toEqual(bytes);
    const tmp = tempDir('key');
    try {
      const file = join(tmp.dir, 'backup.key');
      writeFileSync(file, `${bytes.toString('hex')}\n`);
      expect(await loadKey({ keyFile: file })).toEqual({ key: bytes, id: keyId(bytes) });
      writeFileSync(file, 'hunter2-is-not-a-key');
      const bad = await failure(loadKey({ keyFile: file }));
      expect(bad.message).toBe(
        `backup.encryption.keyFile: ${file} must be 32 bytes written as 64 hex digits or base64 (try: openssl rand -hex 32)`,
      );
      expect((await failure(loadKey({ keyFile: join(tmp.dir, 'missing') }))).message).toMatch(/cannot read: ENOENT/);
    } finally {
      tmp.remove();
    }
    expect((await failure(loadKey({ keyEnv: 'K' }, {}))).message).toBe('backup.encryption.keyEnv: environment variable K is not set');
    const short = await failure(loadKey({ keyEnv: 'K' }, { K: 'abc123secret' }));
    expect(short.code).toBe('NINES_BACKUP_KEY');
    expect(short.message).not.toContain('abc123secret');
  });
});
