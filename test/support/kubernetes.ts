/**
 * Kubernetes manifests for the tests: rendered by `kubectl kustomize` (a kubectl with kustomize v5;
 * without one the tests skip loudly, except under CI, where they fail), validated offline against
 * the Kubernetes and prometheus-operator schemas of kubernetes-models.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';

export const KUBECTL = '/usr/bin/kubectl';

/** True when kubectl is installed; false (after a loud warning) when not and CI is unset. */
export function hasKubectl(): boolean {
  if (existsSync(KUBECTL)) return true;
  if (process.env.CI) return true; // the tests run and fail, naming what is missing
  console.warn(`\n*** SKIPPING the Kubernetes manifest tests: ${KUBECTL} is missing (apt-get install -y kubernetes-client) ***\n`);
  return false;
}

/** A manifest as kustomize renders it; the fields the tests read are typed loosely on purpose. */
// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary YAML, read field by field
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: any };

/** `kubectl kustomize <dir>`, parsed: one object per document. Throws with kubectl's message when it fails. */
export function render(dir: string): Manifest[] {
  const r = spawnSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} exited ${r.status}: ${r.stderr.trim()}`);
  return parseAllDocuments(r.stdout).map((d) => {
    if (d.errors.length > 0) throw d.errors[0];
    return d.toJS() as Manifest;
  });
}

/** kubectl's kustomize version, e.g. `v5.5.0`, or undefined when kubectl does not say. */
export function kustomizeVersion(): string | undefined {
  const r = spawnSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' });
  return /Kustomize Version:\s*(v[\d.]+)/.exec(r.stdout ?? '')?.[1];
}

// Each kind the deploy files may contain, with the model whose validate() holds the schema. A kind
// missing here fails validation, so a new file cannot slip through unchecked.
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

/** Validates `manifest` against its kind's OpenAPI schema (ajv); throws naming the kind, name and the failing paths. */
export function validateManifest(manifest: Manifest): void {
  const key = `${manifest.apiVersion}/${manifest.kind}`;
  const Model = MODELS[key];
  if (Model === undefined) throw new Error(`no schema for ${key} (${manifest.metadata?.name})`);
  try {
    new Model(withoutWrappedBase64(manifest) as never).validate();
  } catch (error) {
    throw new Error(`${key} ${manifest.metadata?.name}: ${(error as Error).message}`);
  }
}

/**
 * kustomize wraps long base64 values of a Secret's `data` over several lines. The API server's
 * decoder (Go's base64) ignores \r and \n; the schema's `format: byte` does not, so they are taken
 * out here, and only they: any other character still fails.
 */
function withoutWrappedBase64(manifest: Manifest): Manifest {
  if (manifest.kind !== 'Secret' || manifest.data === undefined) return manifest;
  const data = Object.fromEntries(
    Object.entries(manifest.data as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v.replace(/[\r\n]/g, '') : v]),
  );
  return { ...manifest, data };
}

/** The one manifest of `kind` in `manifests`. */
export function one(manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as Manifest;
}

/** True when every label of `selector` is on `labels` (a matchLabels selector). */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false; // an empty selector selects everything: never what we mean
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}
