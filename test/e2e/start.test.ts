import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, root, startServing } from '../support/e2e.js';

describe('npm start', () => {
  it('runs nines serve on examples/nines.yaml with the demo service, prints the status page URL, and stops cleanly', async () => {
    // what `npm start` runs, from an empty directory so ./data/nines.db is created fresh there
    const cwd = mkdtempSync(join(tmpdir(), 'nines-start-'));
    try {
      const tsx = join(root, 'node_modules/tsx/dist/cli.mjs');
      const { proc, output } = await startServing([tsx, join(root, 'examples/monitor.ts')], { cwd, timeoutMs: 15_000 });
      expect(output()).toContain('status and API at http://127.0.0.1:4000/');
      const page = await fetch('http://127.0.0.1:4000/');
      expect(page.status).toBe(200);
      const html = await page.text();
      for (const name of ['demo', 'self', 'db', 'cache']) expect(html).toContain(`id="c-${name}"`);
      expect((await fetch('http://127.0.0.1:4001/health')).status).toBe(200); // the bundled demo service
      proc.kill('SIGTERM');
      expect(await exitOf(proc)).toBe(0);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 60_000);
});
