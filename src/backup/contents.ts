import { nothingRecorded } from './driver.js';
import { BackupError } from './errors.js';
import type { Manifest } from './manifest.js';

/** One line per table whose rows differ between `recorded` and `found` (missing and extra tables too). */
export function differences(recorded: Record<string, number>, found: Record<string, number>): string[] {
  const lines: string[] = [];
  for (const [table, rows] of Object.entries(recorded)) {
    const now = found[table];
    if (now === undefined) lines.push(`${table}: missing from the restore, the backup recorded ${rows} rows`);
    else if (now !== rows) lines.push(`${table}: ${now} rows, the backup recorded ${rows}`);
  }
  for (const [table, rows] of Object.entries(found))
    if (!(table in recorded)) lines.push(`${table}: ${rows} rows in the restore, not recorded by the backup`);
  return lines;
}

/** The row counts a manifest recorded; a {@link BackupError} when it recorded other contents or none. */
export function recordedTables(manifest: Manifest): Record<string, number> {
  const contents = manifest.contents;
  if (contents === undefined) return nothingRecorded(manifest);
  if (!('tables' in contents))
    throw new BackupError(
      'NINES_BACKUP_CORRUPT',
      `${manifest.id}/manifest.json: records files, not the tables of a ${manifest.kind} backup`,
    );
  return contents.tables;
}
