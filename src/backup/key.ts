import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { BackupError } from './errors.js';

/** Where the encryption key comes from: an environment variable or a file, never the config itself. */
export type KeySource = { keyEnv: string; keyFile?: undefined } | { keyFile: string; keyEnv?: undefined };

/** A loaded key and its id, the only part of it that is ever written or shown. */
export interface BackupKey {
  /** The 32 bytes of the AES-256 key. */
  readonly key: Buffer;
  /** First 8 bytes of the key's SHA-256, hex: names the key in manifests and errors. */
  readonly id: string;
}

const HINT = 'must be 32 bytes written as 64 hex digits or base64 (try: openssl rand -hex 32)';

/** The id of `key`: the first 8 bytes of its SHA-256 in hex. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest().subarray(0, 8).toString('hex');
}

/** Decodes a key written as 64 hex digits or as base64 (standard or URL-safe) of 32 bytes; undefined when it is neither. */
export function decodeKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const bytes = Buffer.from(t, 'base64');
    if (bytes.length === 32) return bytes;
  }
  return undefined;
}

/**
 * Loads the key from its source. Errors say where (`backup.encryption.keyEnv`) and what is wrong,
 * never what the value was.
 */
export async function loadKey(source: KeySource, env: NodeJS.ProcessEnv = process.env): Promise<BackupKey> {
  let text: string;
  let where: string;
  const configPath = `backup.encryption.${source.keyEnv !== undefined ? 'keyEnv' : 'keyFile'}`;
  const fail = (message: string) => new BackupError('NINES_BACKUP_KEY', message, { configPath });
  if (source.keyEnv !== undefined) {
    where = `${configPath}: environment variable ${source.keyEnv}`;
    const value = env[source.keyEnv];
    if (value === undefined || value === '') throw fail(`${where} is not set`);
    text = value;
  } else {
    where = `${configPath}: ${source.keyFile}`;
    try {
      text = await readFile(source.keyFile, 'utf8');
    } catch (error) {
      throw fail(`${where}: cannot read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const key = decodeKey(text);
  if (key === undefined) throw fail(`${where} ${HINT}`);
  return { key, id: keyId(key) };
}
