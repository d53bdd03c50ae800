import { NinesError, type NinesErrorCode } from '../core/errors.js';

type BackupErrorCode = Extract<
  NinesErrorCode,
  'NINES_BACKUP_FAILED' | 'NINES_BACKUP_CORRUPT' | 'NINES_BACKUP_KEY' | 'NINES_BACKUP_NOT_FOUND' | 'NINES_RESTORE_REFUSED'
>;

/** A backup, verification or restore that did not succeed; `file` names the artifact at fault, where there is one. */
export class BackupError extends NinesError {
  /** The artifact (path inside the backup's folder) that failed, if one did. */
  readonly file: string | undefined;
  /** The config key at fault (`backup.encryption.keyEnv`) when the config must change, as for a key that cannot be loaded. */
  readonly configPath: string | undefined;

  constructor(code: BackupErrorCode, message: string, options: { file?: string; configPath?: string; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.file = options.file;
    this.configPath = options.configPath;
  }
}

/** A request the backup repository cannot honour without losing data: a WAL conflict, a recovery target it cannot reach. */
export class BackupRefusedError extends NinesError {
  constructor(message: string) {
    super('NINES_BACKUP_REFUSED', message);
  }
}
