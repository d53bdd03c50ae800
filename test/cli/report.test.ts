import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { report } from '../../src/cli/report.js';
import { capture } from '../support/output.js';

const dir = mkdtempSync(join(tmpdir(), 'nines-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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

  it('takes a window by --from and --to', async () => {
    const j = capture();
    await report({ config, from: '2026-01-01T00:00:00Z', to: String(Date.UTC(2026, 0, 2)), json: true }, j.output, {});
    const parsed = JSON.parse(j.out[0] ?? '{}');
    expect(parsed.window).toEqual({ from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' });
    expect(parsed.components[0].figures).toMatchObject({ from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 0, 2), unobservedMs: 86_400_000 });
    const t = capture();
    await report({ config, window: '6h', to: '2026-01-02T00:00:00Z' }, t.output, {});
    expect(t.out[0]).toBe('Figures from 2026-01-01T18:00:00.000Z to 2026-01-02T00:00:00.000Z (6h)');
  });

  it('exits 2 on a bad window or a bad config, naming the problem', async () => {
    const c = capture();
    expect(await report({ config, window: 'soon' }, c.output, {})).toBe(2);
    expect(c.err).toEqual(['--window: expected a duration like 24h, 7d or 30d']);
    for (const [from, to] of [
      ['yesterday', undefined],
      ['2026-01-02', '2026-01-01'],
      [undefined, 'noon'],
    ]) {
      const e = capture();
      expect(await report({ config, ...(from ? { from } : {}), ...(to ? { to } : {}) }, e.output, {})).toBe(2);
      expect(e.err).toEqual(['--from/--to: expected ISO 8601 times or epoch ms, --from before --to']);
    }
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'components: []\n');
    const d = capture();
    expect(await report({ config: bad }, d.output, {})).toBe(2);
    expect(d.err).toEqual(['components: needs at least one component']);
  });
});
