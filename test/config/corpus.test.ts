import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { formatProblems } from '../../src/config/problems.js';

const dir = fileURLToPath(new URL('../fixtures/config/', import.meta.url));
const files = readdirSync(dir).filter((name) => name.endsWith('.yaml'));

// Each broken file sits beside `<name>.expected.txt`: the `path: message` lines it must produce
// (`<file>` stands for the path passed in). Every expected line must appear, and nothing else.
describe('broken config corpus', () => {
  it('has at least 15 broken files, each with its expectations', () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const file of files) expect(readdirSync(dir)).toContain(file.replace(/\.yaml$/, '.expected.txt'));
  });

  it.each(files)('%s lists every problem', async (name) => {
    const path = join(dir, name);
    const expected = readFileSync(path.replace(/\.yaml$/, '.expected.txt'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.replace('<file>', path));
    const result = await loadConfig(path, { env: {} });
    expect(result.ok).toBe(false);
    const lines = result.ok ? [] : formatProblems(result.problems);
    for (const line of expected) expect(lines).toContain(line);
    expect(lines).toHaveLength(expected.length);
  });
});
