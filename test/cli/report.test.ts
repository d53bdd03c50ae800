import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { report } from '../../src/cli/report.js';

const dir = mkdtempSync(join(tmpdir(), 'nines-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, output: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

const config = join(dir, 'nines.yaml');
writeFileSync(
  config,
  `storage: sqlite:${join(dir, 'nines.db')}
components:
  - name: api
    check: { type: tcp, host: 127.0.0.1, port: 1 }
slos:
  - { name: api-slo, component: api, objective: 99.9, window: 30d }
`,
);

describe('nines report', () => {
  it('reports nothing observed (not 100 %) for a component with no history', async () => {
    const c = capture();
    expect(await report({ config, window: '24h' }, c.output, {})).toBe(0);
    const row = c.out.find((l) => l.startsWith('api '));
    expect(row).toMatch(/^api\s+—\s+0ms\s+0ms\s+1d\s+0/);
    const j = capture();
    await report({ config, window: '24h', json: true }, j.output, {});
    const parsed = JSON.parse(j.out[0] ?? '{}');
    expect(parsed.components[0].figures).toMatchObject({ availability: null, observedMs: 0, unobservedMs: 86_400_000 });
    expect(parsed.slos[0]).toMatchObject({ name: 'api-slo', budgetRemaining: 1, burnRate1h: null });
  });

  it('exits 2 on a bad window or a bad config, naming the problem', async () => {
    const c = capture();
    expect(await report({ config, window: 'soon' }, c.output, {})).toBe(2);
    expect(c.err).toEqual(['--window: expected a duration like 24h, 7d or 30d']);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'components: []\n');
    const d = capture();
    expect(await report({ config: bad }, d.output, {})).toBe(2);
    expect(d.err).toEqual(['components: needs at least one component']);
  });
});
