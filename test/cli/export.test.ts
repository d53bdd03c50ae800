import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { prometheusRulesYaml } from '../../src/alerts/prometheus-rules.js';
import { exportFile } from '../../src/cli/export.js';
import { parseConfig } from '../../src/config/index.js';
import { capture } from '../support/output.js';

const dir = mkdtempSync(join(tmpdir(), 'nines-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = `components:
  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }
slos:
  - { name: api-slo, component: api, objective: 99.9, alerting: { labels: { team: core } } }
`;
const config = join(dir, 'nines.yaml');
writeFileSync(config, text);

describe('nines export', () => {
  it('prometheus-rules prints the rule file of the config, or writes it with --output', async () => {
    const parsed = parseConfig(text);
    if (!parsed.ok) throw new Error('bad fixture');
    const c = capture();
    expect(await exportFile('prometheus-rules', { config }, c.output)).toBe(0);
    expect(c.err).toEqual([]);
    expect(`${c.out.join('\n')}\n`).toBe(prometheusRulesYaml(parsed.config));
    const rules = parse(c.out.join('\n')).groups[0].rules;
    expect(rules.filter((r: { alert?: string }) => r.alert).map((r: { labels: object }) => r.labels)).toEqual([
      { team: 'core', severity: 'page', slo: 'api-slo', component: 'api' },
      { team: 'core', severity: 'ticket', slo: 'api-slo', component: 'api' },
    ]);
    const file = join(dir, 'rules.yaml');
    expect(await exportFile('prometheus-rules', { config, output: file }, capture().output)).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(prometheusRulesYaml(parsed.config));
  });

  it('exits 2 naming the problem for an unknown kind or a bad config, and writes nothing', async () => {
    const c = capture();
    expect(await exportFile('nagios', { config }, c.output)).toBe(2);
    expect(c.err).toEqual(['export: unknown kind "nagios"; expected one of prometheus-rules, grafana']);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, text.replace('objective: 99.9', 'objective: 100'));
    const d = capture();
    const out = join(dir, 'never.yaml');
    expect(await exportFile('prometheus-rules', { config: bad, output: out }, d.output)).toBe(2);
    expect(d.err).toEqual(['slos[0].objective: must be less than 100 (no service is up 100 % of the time)']);
    expect(() => readFileSync(out)).toThrow();
  });
});
