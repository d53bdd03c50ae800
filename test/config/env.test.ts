// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text with ${NAME} references, not templates
import { describe, expect, it } from 'vitest';
import { interpolateEnv } from '../../src/config/env.js';
import { parseConfig } from '../../src/config/load.js';

describe('interpolateEnv', () => {
  it('replaces references in string values at any depth, keeping other values', () => {
    const tree = { a: '${A}', b: ['x-${B}-y', 3, true, null], c: { d: 'plain', e: '${A}${B}' } };
    const r = interpolateEnv(tree, { A: 'one', B: 'two' });
    expect(r.problems).toEqual([]);
    expect(r.value).toEqual({ a: 'one', b: ['x-two-y', 3, true, null], c: { d: 'plain', e: 'onetwo' } });
    expect([...r.paths].sort()).toEqual(['a', 'b[0]', 'c.e']);
  });

  it('uses ${NAME:-default} when the variable is unset or empty', () => {
    const r = interpolateEnv({ a: '${A:-fallback}', b: '${B:-}', c: '${C:-x}' }, { A: '', C: 'set' });
    expect(r.value).toEqual({ a: 'fallback', b: '', c: 'set' });
    expect(r.problems).toEqual([]);
  });

  it('keeps $${ as a literal ${ and leaves a lone $ alone', () => {
    expect(interpolateEnv({ a: '$${HOME} costs $5' }, {}).value).toEqual({ a: '${HOME} costs $5' });
  });

  it('reports an unset variable at the path of its value, and the value becomes undefined', () => {
    const r = interpolateEnv({ server: { token: '${NINES_TOKEN}' }, list: ['${X}'] }, {});
    expect(r.problems).toEqual([
      { path: 'server.token', message: 'environment variable NINES_TOKEN is not set' },
      { path: 'list[0]', message: 'environment variable X is not set' },
    ]);
    expect(r.value).toEqual({ server: { token: undefined }, list: [undefined] });
  });

  it('reports malformed references', () => {
    const r = interpolateEnv({ a: '${1BAD}', b: 'x ${UNCLOSED' }, {});
    expect(r.problems.map((p) => p.path)).toEqual(['a', 'b']);
    for (const p of r.problems) expect(p.message).toMatch(/^malformed environment reference/);
  });

  it('does not interpolate keys', () => {
    expect(interpolateEnv({ '${A}': 1 }, { A: 'k' }).value).toEqual({ '${A}': 1 });
  });

  it('cannot inject YAML structure: a value stays one string', () => {
    const text = 'components:\n  - name: api\n    check: { type: http, url: "${URL}" }\n';
    const r = parseConfig(text, { env: { URL: 'http://x/\n    critical: true\nextra: {a: 1}' } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.path)).toEqual(['components[0].check.url']);
  });
});

describe('secrets never reach a message', () => {
  const secret = 'hunter2-very-secret-password';

  it('a short token from the environment is reported without its value', () => {
    const r = parseConfig('server: { token: "${T}" }\ncomponents: [{ name: a, check: { type: tcp, host: h, port: 1 } }]', {
      env: { T: 'short' },
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]?.path).toBe('server.token');
      expect(r.problems[0]?.message).not.toContain('short');
    }
  });

  it('values from variables appear in no message, whatever the field', () => {
    const text = [
      'retention: ${S}',
      'storage: ${S}',
      'server: { host: "${S}x y", port: "${S}" }',
      'components:',
      '  - name: "${S}"',
      '    check: { type: postgres, url: "postgres://u:${S}@/db" }',
      '    conditions: ["[STATUS] == ${S}", "[STATUS ${S}"]',
      '    interval: ${S}',
      'slos: [{ name: s, component: "${S}", objective: "${S}", window: "${S}" }]',
    ].join('\n');
    const r = parseConfig(text, { env: { S: secret } });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems.length).toBeGreaterThan(8);
      for (const p of r.problems) expect(`${p.path}: ${p.message}`).not.toContain(secret);
    }
  });
});
