/**
 * Vitest's global setup: the end-to-end tests run the built CLI, so dist/ is rebuilt, once and before
 * any test starts, when a source file is newer than it (a lone `vitest run` after an edit would
 * otherwise test the old code).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The newest modification time under `dir`, 0 when it is missing. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

export default function setup(): void {
  const built = statSync(join(root, 'dist/cli/index.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (newest(join(root, 'src')) > built || statSync(join(root, 'package.json')).mtimeMs > built)
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
      stdio: 'inherit',
    });
}
