import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { formatPath, formatProblems } from '../../src/config/problems.js';

describe('loadConfig', () => {
  it('accepts examples/nines.yaml with no environment', async () => {
    const r = await loadConfig(new URL('../../examples/nines.yaml', import.meta.url).pathname, { env: {} });
    if (!r.ok) throw new Error(formatProblems(r.problems).join('\n'));
    expect(r.config.components.map((c) => [c.name, c.critical, c.check.type])).toEqual([
      ['demo', true, 'http'],
      ['self', false, 'http'],
      ['db', false, 'postgres'],
      ['cache', false, 'redis'],
    ]);
    expect(r.config.components[0]).toMatchObject({ interval: 5_000 });
    expect(r.config.slos).toEqual([
      { name: 'demo-availability', component: 'demo', objective: 99.5, window: 7 * 86_400_000, alerts: expect.any(Array) },
    ]);
    expect(r.config.server).toEqual({
      host: '127.0.0.1',
      port: 4000,
      token: undefined,
      rateLimit: {
        trustProxy: false,
        writes: { enabled: true, limit: 30, window: 60_000 },
        publicWrites: { enabled: true, limit: 10, window: 3_600_000 },
        reads: { enabled: true, limit: 600, window: 60_000 },
      },
      liveness: { maxEventLoopDelay: 5_000, maxHeapRatio: 0.98, exitAfter: 0 },
    });
  });

  it('takes the token from the environment', async () => {
    const r = await loadConfig(new URL('../../examples/nines.yaml', import.meta.url).pathname, { env: { NINES_TOKEN: 'x'.repeat(32) } });
    expect(r.ok && r.config.server.token).toBe('x'.repeat(32));
  });

  it('a missing file is one problem', async () => {
    const path = join(tmpdir(), 'nines-does-not-exist.yaml');
    expect(await loadConfig(path)).toEqual({ ok: false, problems: [{ path, message: 'cannot read: ENOENT' }] });
  });

  it('lists every YAML syntax error with line and column', () => {
    const r = parseConfig('a: [1\nb: {\n', { file: 'f.yaml' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems.length).toBeGreaterThanOrEqual(1);
      for (const p of r.problems) expect(p.path).toMatch(/^f\.yaml:\d+:\d+$/);
    }
  });

  it('an empty file asks for components', () => {
    expect(parseConfig('')).toEqual({ ok: false, problems: [{ path: 'components', message: 'required' }] });
  });

  it('lists problems in file order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nines-config-'));
    const path = join(dir, 'nines.yaml');
    writeFileSync(
      path,
      'slos: [{ name: s, component: x, objective: 99 }]\ncomponents:\n  - { name: A, check: { type: tcp, host: h, port: 0 } }\nretention: 1s\n',
    );
    return loadConfig(path).then((r) => {
      expect(r.ok ? [] : formatProblems(r.problems)).toEqual([
        'slos[0].component: no component named "x"',
        'components[0].name: must be lower case letters, digits, ".", "_" or "-", starting with a letter or digit',
        'components[0].check.port: must be at least 1',
        'retention: must be at least 1h',
      ]);
    });
  });
});

describe('formatPath / formatProblems', () => {
  it('renders paths the way users write them', () => {
    expect(formatPath(['components', 1, 'check', 'url'])).toBe('components[1].check.url');
    expect(formatPath(['components', 0, 'check', 'headers', 'X-Api-Key'])).toBe('components[0].check.headers.X-Api-Key');
    expect(formatPath(['headers', 'a b'])).toBe('headers["a b"]');
    expect(formatPath([])).toBe('');
    expect(formatProblems([{ path: 'slos[0].component', message: 'no component named "x"' }])).toEqual([
      'slos[0].component: no component named "x"',
    ]);
  });
});
