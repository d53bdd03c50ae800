import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

let bindir: string | undefined | null = null;

/**
 * `pg_config --bindir`: where Debian keeps the tools it puts no wrapper on PATH for (pg_verifybackup,
 * pg_waldump), and the real pg_dump and pg_restore, which start without the wrapper's ~0.1 s of Perl.
 */
function serverBindir(): string | undefined {
  if (bindir === null) {
    try {
      bindir = execFileSync('pg_config', ['--bindir'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    } catch {
      bindir = undefined;
    }
  }
  return bindir;
}

/** The path of PostgreSQL tool `name`: in `pgBin` if given, else `pg_config --bindir`'s, else found on PATH. */
export function pgTool(name: string, pgBin?: string): string {
  if (pgBin !== undefined) return join(pgBin, name);
  const dir = serverBindir();
  return dir !== undefined && existsSync(join(dir, name)) ? join(dir, name) : name;
}
