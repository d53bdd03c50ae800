/**
 * deploy/kubernetes: every overlay renders with `kubectl kustomize`, every manifest validates
 * against its schema, and the files agree with nines: the probes and the port answer on a real
 * `nines serve` started from the rendered ConfigMap, Secret and env, the grace period outlasts the
 * shutdown that process really performs, selectors select, and the PrometheusRule is a fresh export.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HOOKS, SHUTDOWN } from '../../deploy/kubernetes/examples/library-service/server.js';
import { SERVE_SHUTDOWN, serveShutdownBudgetMs } from '../../src/cli/serve-shutdown.js';
import { bin, ensureBuilt, exitOf, freePort, GiveUp, root, until } from '../support/e2e.js';
import { hasKubectl, KUBECTL, kustomizeVersion, type Manifest, one, render, selects, validateManifest } from '../support/kubernetes.js';
import { hasPrometheusTools, promtool } from '../support/prometheus.js';
import { dropSchema, hasPostgres, pgUrl, uniqueName } from '../support/services.js';

const kube = join(root, 'deploy/kubernetes');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const tmp = mkdtempSync(join(tmpdir(), 'nines-k8s-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const OVERLAYS = ['sqlite', 'postgres', 'ha'] as const;
const RECOMMENDED = ['name', 'instance', 'version', 'component', 'part-of'].map((l) => `app.kubernetes.io/${l}`);

/** The Deployment's one container. */
const containerOf = (deployment: Manifest) => deployment.spec.template.spec.containers[0];
/** The containerPort a probe or Service names (by name or number). */
const portNumber = (container: Manifest, port: string | number): number =>
  typeof port === 'number' ? port : container.ports.find((p: { name: string }) => p.name === port)?.containerPort;
/** A Secret's data, decoded. */
const secretData = (secret: Manifest): Record<string, string> =>
  Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

/** One JSON log line per entry (pino's and GracefulShutdown's), skipping lines that are not JSON. */
function logLines(output: string): Array<Record<string, unknown>> {
  return output.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** Starts `args` under node with `env`, resolves once its output contains `ready`. */
async function start(args: string[], env: NodeJS.ProcessEnv, ready: string): Promise<{ proc: ChildProcess; output: () => string }> {
  const proc = spawn(process.execPath, args, { cwd: root, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  proc.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  await until(
    `"${ready}"`,
    async () => {
      if (proc.exitCode !== null) throw new GiveUp(`exited ${proc.exitCode}`);
      return output.includes(ready) ? true : undefined;
    },
    60_000,
  ).catch((error: Error) => {
    proc.kill('SIGKILL');
    throw new Error(`${error.message}; output so far:\n${output}`);
  });
  return { proc, output: () => output };
}

const get = async (url: string) => {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, body: await r.text() };
};

/**
 * Hits every probe of `container` on the running process at `port`, then SIGTERMs it: readiness
 * must turn 503 during the drain and the process must exit 0. Returns the shutdown it logged.
 */
async function probeAndStop(container: Manifest, port: number, proc: ChildProcess, output: () => string) {
  for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
    const path = container[kind].httpGet.path as string;
    // readiness is 503 until a first result is in: first runs are spread over the interval (12 s
    // into it for kube-dns here), so the hang guard is generous
    const r = await until(
      `${kind} ${path} to answer 200`,
      async () => {
        const got = await get(`http://127.0.0.1:${port}${path}`);
        return got.status === 200 ? got : undefined;
      },
      60_000,
    );
    expect(r.status, `${kind} ${path}`).toBe(200);
  }
  const exited = exitOf(proc);
  proc.kill('SIGTERM');
  const readiness = container.readinessProbe.httpGet.path as string;
  const draining = await until('readiness to fail during the drain', async () => {
    const got = await get(`http://127.0.0.1:${port}${readiness}`);
    return got.status === 503 ? got : undefined;
  });
  expect(draining.body).toContain('shutting down');
  expect(await exited).toBe(0);
  const lines = logLines(output());
  const started = lines.find((l) => l.msg === 'shutdown started: draining');
  const complete = lines.find((l) => l.msg === 'shutdown complete');
  expect(started, output()).toBeDefined();
  expect(complete, output()).toBeDefined();
  return {
    drainDelay: started?.drainDelay as number,
    timeout: started?.timeout as number,
    hooks: ((complete?.hooks ?? []) as Array<{ name: string; ok: boolean }>).map((h) => h.name),
    forced: complete?.forced,
  };
}

describe.skipIf(!hasKubectl())('deploy/kubernetes', () => {
  const rendered = {} as Record<(typeof OVERLAYS)[number], Manifest[]>;
  beforeAll(() => {
    ensureBuilt();
    for (const overlay of OVERLAYS) rendered[overlay] = render(join(kube, 'overlays', overlay));
  });

  it(`renders with the kustomize of ${KUBECTL} (v5 or later: components, labels)`, () => {
    expect(Number(kustomizeVersion()?.slice(1).split('.')[0])).toBeGreaterThanOrEqual(5);
  });

  it.each(OVERLAYS)('overlay %s: every manifest validates against its Kubernetes or prometheus-operator schema', (overlay) => {
    const manifests = rendered[overlay];
    const kinds = manifests.map((m) => m.kind).sort();
    expect(kinds).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'PodDisruptionBudget',
        'PrometheusRule',
        'Secret',
        'Service',
        'ServiceMonitor',
        ...(overlay === 'sqlite' ? ['PersistentVolumeClaim'] : []),
      ].sort(),
    );
    for (const m of manifests) validateManifest(m);
  });

  it('the ingress component and the library-service example validate too', () => {
    const withIngress = join(tmp, 'with-ingress');
    execFileSync('mkdir', ['-p', withIngress]);
    writeFileSync(
      join(withIngress, 'kustomization.yaml'),
      `resources: [${relative(withIngress, join(kube, 'overlays/sqlite'))}]\ncomponents: [${relative(withIngress, join(kube, 'components/ingress'))}]\n`,
    );
    const manifests = render(withIngress);
    const ingress = one(manifests, 'Ingress');
    for (const m of manifests) validateManifest(m);
    const service = one(manifests, 'Service');
    const backend = ingress.spec.rules[0].http.paths[0].backend.service;
    expect(backend.name).toBe(service.metadata.name);
    expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain(backend.port.name);
    for (const m of render(join(kube, 'examples/library-service'))) validateManifest(m);
  });

  it('the validator rejects broken manifests, so the checks above can fail', () => {
    const deployment = structuredClone(one(rendered.sqlite, 'Deployment'));
    deployment.spec.replicas = 'one';
    expect(() => validateManifest(deployment)).toThrow(/spec\/replicas must be integer/);
    const noContainers = structuredClone(one(rendered.sqlite, 'Deployment'));
    delete noContainers.spec.template.spec.containers;
    expect(() => validateManifest(noContainers)).toThrow(/must have required property containers/);
    const pdb = structuredClone(one(rendered.sqlite, 'PodDisruptionBudget'));
    pdb.spec.unhealthyPodEvictionPolicy = 'Sometimes';
    expect(() => validateManifest(pdb)).toThrow(/unhealthyPodEvictionPolicy must be equal to one of the allowed values/);
    const rule = structuredClone(one(rendered.sqlite, 'PrometheusRule'));
    rule.spec.groups[0].rules = 'all of them';
    expect(() => validateManifest(rule)).toThrow(/PrometheusRule/);
    const secret = structuredClone(one(rendered.postgres, 'Secret'));
    secret.data.NINES_TOKEN = 'not base64!';
    expect(() => validateManifest(secret)).toThrow(/NINES_TOKEN must match format "byte"/);
    expect(() => validateManifest({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } })).toThrow(/no schema for v1\/Pod/);
  });

  it.each(OVERLAYS)('overlay %s: the recommended labels on every object; version = package.json = image tag', (overlay) => {
    const manifests = rendered[overlay];
    for (const m of manifests) for (const label of RECOMMENDED) expect(m.metadata.labels?.[label], `${m.kind} ${label}`).toBeDefined();
    const deployment = one(manifests, 'Deployment');
    for (const label of RECOMMENDED) expect(deployment.spec.template.metadata.labels[label]).toBeDefined();
    expect(deployment.metadata.labels?.['app.kubernetes.io/version']).toBe(version);
    expect(containerOf(deployment).image).toBe(`nines:${version}`);
    // selectors are immutable: the version must not be in them, or an upgrade could not be applied
    expect(Object.keys(deployment.spec.selector.matchLabels).sort()).toEqual(['app.kubernetes.io/instance', 'app.kubernetes.io/name']);
  });

  it.each(OVERLAYS)('overlay %s: the Service, PDB and ServiceMonitor select the pods and name real ports', (overlay) => {
    const manifests = rendered[overlay];
    const deployment = one(manifests, 'Deployment');
    const podLabels = deployment.spec.template.metadata.labels;
    const service = one(manifests, 'Service');
    const pdb = one(manifests, 'PodDisruptionBudget');
    const monitor = one(manifests, 'ServiceMonitor');
    expect(selects(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(selects(service.spec.selector, podLabels)).toBe(true);
    expect(selects(pdb.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(selects(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    const container = containerOf(deployment);
    for (const port of service.spec.ports) expect(portNumber(container, port.targetPort), `Service port ${port.name}`).toBeTypeOf('number');
    for (const endpoint of monitor.spec.endpoints) expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain(endpoint.port);
    // one replica on a RWO volume: a budget of 0 would block every node drain for good
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.minAvailable).toBeUndefined();
    expect(pdb.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
  });

  it.each(OVERLAYS)(
    'overlay %s: ConfigMap and Secret the pod uses are the rendered ones; nines.yaml at the path the image reads',
    (overlay) => {
      const manifests = rendered[overlay];
      const deployment = one(manifests, 'Deployment');
      const container = containerOf(deployment);
      const volumes = deployment.spec.template.spec.volumes as Manifest[];
      const config = volumes.find((v) => v.name === 'config');
      expect(config?.configMap.name).toBe(one(manifests, 'ConfigMap').metadata.name);
      expect(container.envFrom[0].secretRef.name).toBe(one(manifests, 'Secret').metadata.name);
      expect(container.volumeMounts.find((m: { name: string }) => m.name === 'config').mountPath).toBe('/etc/nines');
      expect(Object.keys(one(manifests, 'ConfigMap').data)).toEqual(['nines.yaml']);
      expect(container.volumeMounts.find((m: { name: string }) => m.name === 'data').mountPath).toBe('/data');
    },
  );

  it.each(OVERLAYS)('overlay %s: securityContext, resources and a grace period from the shutdown settings', (overlay) => {
    const deployment = one(rendered[overlay], 'Deployment');
    const pod = deployment.spec.template.spec;
    const container = containerOf(deployment);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    // a read-only root needs somewhere to write temporary files
    expect(container.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toContain('/tmp');
    expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits.memory).toBeDefined();
    // worst case: every hook of serve runs into its timeout (the hooks are counted on a real run below)
    const env = Object.fromEntries((container.env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(serveShutdownBudgetMs(env));
    // a stopping pod must fail readiness within the drain delay
    const readiness = container.readinessProbe;
    expect(readiness.periodSeconds * readiness.failureThreshold * 1000).toBeLessThan(SERVE_SHUTDOWN.drainDelayMs);
    // startup and liveness never depend on the monitored components (docs/health.md)
    expect(container.startupProbe.httpGet.path).toBe('/liveness');
    expect(container.livenessProbe.httpGet.path).toBe('/liveness');
    expect(readiness.httpGet.path).toBe('/readiness');
  });

  it('overlay sqlite: one replica, Recreate, the data on a ReadWriteOnce claim', () => {
    const manifests = rendered.sqlite;
    const deployment = one(manifests, 'Deployment');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    const data = deployment.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data');
    expect(data).toEqual({ name: 'data', persistentVolumeClaim: { claimName: 'nines-data' } });
    const pvc = one(manifests, 'PersistentVolumeClaim');
    expect(pvc.metadata.name).toBe('nines-data');
    expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce']);
    const env = containerOf(deployment).env.find((e: { name: string }) => e.name === 'NINES_STORAGE');
    expect(env.value).toBe('sqlite:/data/nines.db');
  });

  it('overlay postgres: one replica (no ha: block shipped), RollingUpdate without a gap, the URL from the Secret, no volume claim', () => {
    const manifests = rendered.postgres;
    const deployment = one(manifests, 'Deployment');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(manifests.some((m) => m.kind === 'PersistentVolumeClaim')).toBe(false);
    const data = secretData(one(manifests, 'Secret'));
    expect(Object.keys(data).sort()).toEqual(['NINES_STORAGE', 'NINES_TOKEN']);
    expect(data.NINES_STORAGE).toMatch(/^postgres:\/\//);
    expect(containerOf(deployment).env.some((e: { name: string }) => e.name === 'NINES_STORAGE')).toBe(false);
  });

  it('overlay ha: three replicas, each pod its own instance (its name) and location (its node), spread over nodes and zones; nines.yaml = the postgres one plus ha', () => {
    const manifests = rendered.ha;
    const deployment = one(manifests, 'Deployment');
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.strategy).toEqual(one(rendered.postgres, 'Deployment').spec.strategy);
    const env = containerOf(deployment).env as Array<{ name: string; valueFrom?: { fieldRef: { fieldPath: string } } }>;
    expect(env.find((e) => e.name === 'NINES_INSTANCE')?.valueFrom?.fieldRef.fieldPath).toBe('metadata.name');
    expect(env.find((e) => e.name === 'NINES_LOCATION')?.valueFrom?.fieldRef.fieldPath).toBe('spec.nodeName');
    const spread = deployment.spec.template.spec.topologySpreadConstraints as Manifest[];
    expect(spread.map((c) => c.topologyKey).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const c of spread) expect(selects(c.labelSelector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    const config = parse(one(manifests, 'ConfigMap').data['nines.yaml']);
    // the variables stay for nines to read from the pod's environment
    const variable = (name: string) => ['$', '{', name, '}'].join('');
    expect(config.ha).toEqual({
      instance: variable('NINES_INSTANCE'),
      location: variable('NINES_LOCATION'),
      quorum: { k: 2, confirmTimeout: '10s' },
    });
    const { ha: _, ...rest } = config;
    expect(rest, 'overlays/ha/nines.yaml must equal base/nines.yaml apart from ha:').toEqual(
      parse(one(rendered.postgres, 'ConfigMap').data['nines.yaml']),
    );
    // the PDB lets one of three go at a time: a node drain never takes two
    expect(one(manifests, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
    const data = secretData(one(manifests, 'Secret'));
    expect(data.NINES_STORAGE).toMatch(/^postgres:\/\//);
  });

  it('the PrometheusRule is a fresh `nines export prometheus-rules` of the ConfigMap, and promtool accepts its rules', () => {
    const committed = readFileSync(join(kube, 'components/monitoring/prometheusrule.yaml'), 'utf8');
    const fresh = join(tmp, 'prometheusrule.yaml');
    execFileSync(join(kube, 'generate-rules.sh'), [fresh], { env: { ...process.env, NINES: `${process.execPath} ${bin}` } });
    expect(committed, 'run deploy/kubernetes/generate-rules.sh and commit the result').toBe(readFileSync(fresh, 'utf8'));
    // the same, straight from the CLI and the config the pod gets, not through the script
    const configFile = join(tmp, 'configmap-nines.yaml');
    writeFileSync(configFile, one(rendered.sqlite, 'ConfigMap').data['nines.yaml']);
    const exported = execFileSync(process.execPath, [bin, 'export', 'prometheus-rules', '--config', configFile], {
      encoding: 'utf8',
      env: { ...process.env, ...secretData(one(rendered.sqlite, 'Secret')), NINES_STORAGE: 'sqlite::memory:' },
    });
    for (const overlay of OVERLAYS) expect(one(rendered[overlay], 'PrometheusRule').spec).toEqual(parse(exported));
    if (hasPrometheusTools()) {
      const check = promtool(['check', 'rules', 'rules.yaml'], { 'rules.yaml': exported });
      expect(check.status, check.output).toBe(0);
    }
  });

  it.each(OVERLAYS)(
    'overlay %s: a real nines serve from the rendered ConfigMap, Secret and env answers every probe on the port, and its shutdown fits the grace period',
    async (overlay) => {
      const manifests = rendered[overlay];
      const deployment = one(manifests, 'Deployment');
      const container = containerOf(deployment);
      const configText = one(manifests, 'ConfigMap').data['nines.yaml'] as string;
      const config = parse(configText);
      // the probes' port is the one nines listens on, on every interface of the pod
      for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'])
        expect(portNumber(container, container[kind].httpGet.port), kind).toBe(config.server.port);
      expect(config.server.host).toBe('0.0.0.0');

      const port = await freePort();
      const configFile = join(tmp, `${overlay}.yaml`);
      writeFileSync(configFile, configText.replace(/^ {2}port: \d+/m, `  port: ${port}`));
      const env: Record<string, string> = { ...secretData(one(manifests, 'Secret')) };
      // the downward API's values, as a pod on a node would get them
      const downward: Record<string, string> = { 'metadata.name': 'nines-7d9f8-x2k4q', 'spec.nodeName': 'node-a' };
      for (const e of container.env as Array<{ name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }>)
        env[e.name] = e.value ?? downward[e.valueFrom?.fieldRef.fieldPath ?? ''] ?? '';
      let schema: string | undefined;
      if (overlay === 'sqlite') {
        expect(env.NINES_STORAGE).toBe('sqlite:/data/nines.db');
        env.NINES_STORAGE = `sqlite:${join(tmp, 'data', 'nines.db')}`; // /data is the claim in the pod
        execFileSync('mkdir', ['-p', join(tmp, 'data')]);
      } else {
        if (!(await hasPostgres())) return;
        schema = uniqueName('k8s');
        env.NINES_STORAGE = `${pgUrl}?schema=${schema}`; // the Secret's URL, pointed at the test database
      }
      try {
        const { proc, output } = await start([bin, 'serve', '--config', configFile], env, 'status and API at');
        const monitorPath = one(manifests, 'ServiceMonitor').spec.endpoints[0].path;
        const metrics = await get(`http://127.0.0.1:${port}${monitorPath}`);
        expect(metrics.status).toBe(200);
        expect(metrics.body).toContain('nines_component_up');
        const shutdown = await probeAndStop(container, port, proc, output);
        // serve really drains, waits and runs the hooks SERVE_SHUTDOWN counts (no NINES_DRAIN_DELAY_MS in the pod)
        expect(shutdown).toMatchObject({ drainDelay: SERVE_SHUTDOWN.drainDelayMs, timeout: SERVE_SHUTDOWN.timeoutMs, forced: false });
        expect(shutdown.hooks).toHaveLength(SERVE_SHUTDOWN.hooks);
        const worstCase = shutdown.drainDelay + shutdown.timeout + shutdown.hooks.length * SERVE_SHUTDOWN.hookTimeoutMs;
        expect(deployment.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(worstCase);
      } finally {
        if (schema !== undefined) await dropSchema(schema);
      }
    },
    120_000,
  );

  it('library-service example: its probes answer on the real service, and the grace period outlasts its shutdown', async () => {
    const manifests = render(join(kube, 'examples/library-service'));
    const deployment = one(manifests, 'Deployment');
    const container = containerOf(deployment);
    const pod = deployment.spec.template.spec;
    const podLabels = deployment.spec.template.metadata.labels;
    expect(selects(one(manifests, 'Service').spec.selector, podLabels)).toBe(true);
    expect(selects(one(manifests, 'PodDisruptionBudget').spec.selector.matchLabels, podLabels)).toBe(true);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
      SHUTDOWN.drainDelay + SHUTDOWN.timeout + HOOKS.length * SHUTDOWN.hookTimeout,
    );
    expect(container.readinessProbe.periodSeconds * container.readinessProbe.failureThreshold * 1000).toBeLessThan(SHUTDOWN.drainDelay);
    expect(container.lifecycle?.preStop).toBeUndefined(); // drainDelay is the in-process preStop; both would add up
    const envPort = Number(container.env.find((e: { name: string }) => e.name === 'PORT').value);
    expect(portNumber(container, container.readinessProbe.httpGet.port)).toBe(envPort);

    const port = await freePort();
    const { proc, output } = await start(
      ['--import', 'tsx', join(kube, 'examples/library-service/server.ts')],
      { PORT: String(port), HOST: '127.0.0.1' },
      'library-service listening',
    );
    const shutdown = await probeAndStop(container, port, proc, output);
    expect(shutdown).toMatchObject({ drainDelay: SHUTDOWN.drainDelay, timeout: SHUTDOWN.timeout, hooks: [...HOOKS], forced: false });
  }, 60_000);
});
