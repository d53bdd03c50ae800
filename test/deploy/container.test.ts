import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serveShutdownBudgetMs } from '../../src/cli/serve-shutdown.js';
import { freePort, root } from '../support/e2e.js';
import { ready, selfChecks, someChecks, stopReport } from './contract.js';
import { compose, durationMs } from './files.js';

// `npm run test:deploy`: builds the image with podman and runs it. Slow (an image build with two
// `npm ci`), so not part of `npm test`. No registry is reachable here: NODE_IMAGE is a local
// stand-in for node:24-slim (test/deploy/local-base.sh) unless NINES_NODE_IMAGE names one.
// This sandbox needs `--runtime runc` (crun refuses its hybrid cgroups) and rlimits no higher than
// its own (no CAP_SYS_RESOURCE); NINES_PODMAN_GLOBAL / NINES_PODMAN_LIMITS override those.
const enabled = process.env.NINES_TEST_CONTAINER === '1';
const global = (process.env.NINES_PODMAN_GLOBAL ?? '--runtime runc').split(' ').filter(Boolean);
const limits = (process.env.NINES_PODMAN_LIMITS ?? '--ulimit nofile=20000:20000 --ulimit nproc=4096:4096').split(' ').filter(Boolean);
const id = randomBytes(4).toString('hex');
const image = `localhost/nines:test-${id}`;
const volume = `nines-test-${id}`;
const containers: string[] = [];

/** podman with this sandbox's global flags; stdout, trimmed. */
const podman = (...args: string[]) =>
  execFileSync('podman', [...global, ...args], { encoding: 'utf8', env: { ...process.env, NINES_PODMAN_LIMITS: limits.join(' ') } }).trim();

afterAll(() => {
  if (!enabled) return;
  for (const c of containers) podman('rm', '-f', '-t', '0', c);
  podman('volume', 'rm', '-f', volume);
  podman('rmi', '-f', image);
});

/** Starts the image as compose.yaml does: read-only, no capabilities, its CPU and memory limits and grace period, the data volume. */
async function run(port: number, grace: number): Promise<{ name: string; base: string }> {
  const name = `nines-test-${id}-${containers.length}`;
  containers.push(name);
  const { cpus = '1', memory = '384M' } = compose().services.nines?.deploy?.resources?.limits ?? {};
  const confined = ['--read-only', '--cap-drop=ALL', '--security-opt=no-new-privileges', `--stop-timeout=${grace / 1000}`];
  confined.push(`--cpus=${cpus}`, `--memory=${memory.toLowerCase()}`);
  podman('run', '-d', `--name=${name}`, ...limits, ...confined, `--publish=127.0.0.1:${port}:4000`, `--volume=${volume}:/data`, image);
  const base = `http://127.0.0.1:${port}`;
  await ready(base, 120_000).catch((error: Error) => {
    throw new Error(`${error.message}; logs:\n${podman('logs', name)}`);
  });
  return { name, base };
}

describe.skipIf(!enabled)('the image under podman', () => {
  it('builds; serves as uid 1000 on a read-only root; healthy; stops with 0 on podman stop; keeps history on its volume', async () => {
    const base =
      process.env.NINES_NODE_IMAGE ??
      execFileSync(join(root, 'test/deploy/local-base.sh'), {
        encoding: 'utf8',
        env: { ...process.env, NINES_PODMAN_LIMITS: limits.join(' ') },
      })
        .trim()
        .split('\n')
        .at(-1) ??
      '';
    // docker format: OCI images have no HEALTHCHECK, and podman would drop it
    podman('build', '--format', 'docker', ...limits, '--build-arg', `NODE_IMAGE=${base}`, '-t', image, root);
    const size = Number(podman('image', 'inspect', '--format', '{{.Size}}', image));
    const baseSize = Number(podman('image', 'inspect', '--format', '{{.Size}}', base));
    console.log(`image ${(size / 1e6).toFixed(0)} MB, of which base ${(baseSize / 1e6).toFixed(0)} MB (${base})`);

    const grace = durationMs(compose().services.nines?.stop_grace_period ?? '10s');
    const port = await freePort();
    const first = await run(port, grace);
    expect(podman('exec', first.name, 'sh', '-c', 'grep ^Uid: /proc/1/status; tr "\\0" " " < /proc/1/cmdline')).toMatch(
      /^Uid:\s+1000\s[\s\S]*\nnode --max-semi-space-size=8 --heap-growing-percent=50 dist\/cli\/index.js serve/,
    );
    expect(() => podman('exec', first.name, 'touch', '/app/x')).toThrow(/Read-only file system/);
    podman('exec', first.name, 'touch', '/data/probe'); // the volume is writable by uid 1000
    podman('healthcheck', 'run', first.name); // throws unless the HEALTHCHECK passes
    const before = await someChecks(first.base);

    podman('stop', first.name);
    expect(podman('inspect', '--format', '{{.State.ExitCode}}', first.name)).toBe('0');
    const report = stopReport(podman('logs', first.name));
    expect(report).toMatchObject({ forced: false, cutRequests: 0 });
    expect(grace).toBeGreaterThan(serveShutdownBudgetMs({}));
    console.log(`podman stop: nines stopped in ${report?.durationMs} ms, grace ${grace} ms`);

    podman('rm', first.name);
    const second = await run(port, grace);
    expect((await selfChecks(second.base)).slice(0, before.length)).toEqual(before);
    podman('stop', second.name);
    expect(podman('inspect', '--format', '{{.State.ExitCode}}', second.name)).toBe('0');
  }, 1_200_000);
});
