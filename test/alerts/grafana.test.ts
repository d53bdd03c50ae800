import { describe, expect, it } from 'vitest';
import { DASHBOARD_QUERIES, grafanaDashboard } from '../../src/alerts/grafana.js';
import { METRICS } from '../../src/metrics/names.js';

describe('the Grafana dashboard export', () => {
  const dashboard = grafanaDashboard({ page: { title: 'Shop', refresh: 10_000 } }) as unknown as {
    uid: string;
    title: string;
    panels: Array<{
      type: string;
      title: string;
      gridPos: { x: number; y: number; w: number; h: number };
      targets?: Array<{ expr: string; datasource: { uid: string } }>;
    }>;
  };

  it("has a stable uid, the page title, and panels laid out on Grafana's 24-column grid without overlap", () => {
    expect(dashboard.uid).toBe('nines-availability');
    expect(dashboard.title).toBe('nines: Shop');
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
  });

  it("queries only metrics nines exports, through the dashboard's Prometheus variable", () => {
    const names = new Set<string>(Object.values(METRICS));
    for (const expr of Object.values(DASHBOARD_QUERIES)) {
      const used = [...expr.matchAll(/\b(nines_[a-z_]+?)(?:_bucket)?\{|\b(nines_[a-z_]+)\)/g)].map((m) => m[1] ?? m[2]);
      expect(used.length, expr).toBeGreaterThan(0);
      for (const name of used) expect(names.has(name as string), `${name} in ${expr}`).toBe(true);
    }
    const targets = dashboard.panels.flatMap((p) => p.targets ?? []);
    expect(targets.map((t) => t.expr).sort()).toEqual(Object.values(DASHBOARD_QUERIES).sort());
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax
    for (const t of targets) expect(t.datasource.uid).toBe('${datasource}');
  });
});
