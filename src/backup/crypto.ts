import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BackupError } from './errors.js';
import type { BackupKey } from './key.js';

/**
 * Encrypted artifacts: AES-256-GCM in authenticated chunks, so a stream of any length is encrypted
 * and checked with bounded memory, and a reader never emits bytes that were not authenticated.
 *
 *   header  = "NINESBK" 0x01 | chunkSize u32 | keyId 8 bytes | fileId 16 random bytes   (36 bytes)
 *   chunk i = nonce 12 random bytes | ciphertext | tag 16
 *   AAD i   = header | i as u64 | final flag u8
 *
 * Every chunk but the last holds exactly `chunkSize` plaintext bytes. Binding the index stops
 * reordering, the final flag stops truncation at a chunk boundary (the new last chunk was sealed
 * as not final), and the header (with its random file id) stops chunks moving between files.
 */

const MAGIC = Buffer.from('NINESBK\x01', 'latin1');
const HEADER = 36;
const NONCE = 12;
const TAG = 16;

/** Plaintext bytes per chunk by default. */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;

/** The name of the scheme, as recorded in manifests. */
export const ENCRYPTION_ALGORITHM = 'aes-256-gcm-chunked-v1';

function aad(header: Buffer, index: number, final: boolean): Buffer {
  const tail = Buffer.alloc(9);
  tail.writeBigUInt64BE(BigInt(index));
  tail[8] = final ? 1 : 0;
  return Buffer.concat([header, tail]);
}

/** A Transform that encrypts what goes through it into the chunked format above. */
export function encryptStream(key: BackupKey, chunkSize = DEFAULT_CHUNK_SIZE): Transform {
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header.writeUInt32BE(chunkSize, 8);
  Buffer.from(key.id, 'hex').copy(header, 12);
  randomBytes(16).copy(header, 20);
  let index = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const seal = (plain: Buffer, final: boolean): Buffer => {
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', key.key, nonce);
    cipher.setAAD(aad(header, index++, final));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([nonce, body, cipher.getAuthTag()]);
  };
  return new Transform({
    construct(callback) {
      this.push(header);
      callback();
    },
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      // strictly more than one chunk: the last chunk is sealed in flush, marked final
      if (pendingBytes > chunkSize) {
        let all = Buffer.concat(pending, pendingBytes);
        while (all.length > chunkSize) {
          this.push(seal(all.subarray(0, chunkSize), false));
          all = all.subarray(chunkSize);
        }
        pending = [all];
        pendingBytes = all.length;
      }
      callback();
    },
    flush(callback: TransformCallback) {
      this.push(seal(Buffer.concat(pending, pendingBytes), true));
      callback();
    },
  });
}

/**
 * A Transform that decrypts the chunked format, checking every chunk before it passes it on. A
 * wrong key, an altered byte, reordered or missing chunks and a truncated file each fail with a
 * {@link BackupError} (`NINES_BACKUP_KEY` for the key, `NINES_BACKUP_CORRUPT` otherwise) naming `file`.
 */
export function decryptStream(key: BackupKey, file: string): Transform {
  let header: Buffer | undefined;
  let record = 0;
  let index = 0;
  let buffered: Buffer = Buffer.alloc(0);
  const corrupt = (why: string) => new BackupError('NINES_BACKUP_CORRUPT', `${file}: ${why}`, { file });
  const open = (data: Buffer, final: boolean, h: Buffer): Buffer => {
    const decipher = createDecipheriv('aes-256-gcm', key.key, data.subarray(0, NONCE));
    decipher.setAAD(aad(h, index, final));
    decipher.setAuthTag(data.subarray(data.length - TAG));
    try {
      const plain = Buffer.concat([decipher.update(data.subarray(NONCE, data.length - TAG)), decipher.final()]);
      index++;
      return plain;
    } catch {
      throw corrupt(
        final
          ? `chunk ${index} failed authentication: the file was altered or truncated`
          : `chunk ${index} failed authentication: the file was altered`,
      );
    }
  };
  const readHeader = (): Buffer => {
    const h = buffered.subarray(0, HEADER);
    if (!h.subarray(0, 8).equals(MAGIC)) throw corrupt('not a nines encrypted file (bad header)');
    const id = h.subarray(12, 20).toString('hex');
    if (id !== key.id)
      throw new BackupError('NINES_BACKUP_KEY', `${file}: encrypted with key ${id}, but the configured key is ${key.id}: wrong key`, {
        file,
      });
    const chunkSize = h.readUInt32BE(8);
    if (chunkSize === 0 || chunkSize > 64 * 1024 * 1024) throw corrupt('bad chunk size in header');
    record = NONCE + chunkSize + TAG;
    buffered = buffered.subarray(HEADER);
    return Buffer.from(h);
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        if (header === undefined) {
          if (buffered.length < HEADER) return callback();
          header = readHeader();
        }
        // a full record followed by more bytes cannot be the last one
        while (buffered.length > record) {
          this.push(open(buffered.subarray(0, record), false, header));
          buffered = buffered.subarray(record);
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        if (header === undefined) {
          if (buffered.length < HEADER) throw corrupt('truncated: shorter than its header');
          header = readHeader();
        }
        if (buffered.length < NONCE + TAG) throw corrupt(`truncated after chunk ${index - 1}`);
        this.push(open(buffered, true, header));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/** The key id recorded in the header of an encrypted artifact's first bytes; undefined if they are not one. */
export function headerKeyId(first: Buffer): string | undefined {
  if (first.length < HEADER || !first.subarray(0, 8).equals(MAGIC)) return undefined;
  return first.subarray(12, 20).toString('hex');
}
