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
  /** Seals one chunk and pushes its parts as they are (no copy into one buffer). */
  const seal = (stream: Transform, plain: Buffer, final: boolean): void => {
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', key.key, nonce);
    cipher.setAAD(aad(header, index++, final));
    stream.push(nonce);
    stream.push(cipher.update(plain));
    cipher.final();
    stream.push(cipher.getAuthTag());
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
        let all = pending.length === 1 ? chunk : Buffer.concat(pending, pendingBytes);
        while (all.length > chunkSize) {
          seal(this, all.subarray(0, chunkSize), false);
          all = all.subarray(chunkSize);
        }
        pending = [all];
        pendingBytes = all.length;
      }
      callback();
    },
    flush(callback: TransformCallback) {
      seal(this, Buffer.concat(pending, pendingBytes), true);
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
      const plain = decipher.update(data.subarray(NONCE, data.length - TAG));
      decipher.final(); // throws unless the tag matches: nothing of the chunk is passed on before
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
  // chunks as they came, joined only once a whole record (and a byte more) is there
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const joined = (): Buffer => {
    const all = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
    pending = [all];
    return all;
  };
  const keep = (rest: Buffer) => {
    pending = rest.length === 0 ? [] : [rest];
    pendingBytes = rest.length;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (header === undefined) {
          if (pendingBytes < HEADER) return callback();
          buffered = joined();
          header = readHeader();
          keep(buffered);
        }
        // a full record followed by more bytes cannot be the last one
        if (pendingBytes > record) {
          let all = joined();
          while (all.length > record) {
            this.push(open(all.subarray(0, record), false, header));
            all = all.subarray(record);
          }
          keep(all);
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        buffered = joined();
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
