import { readsCertificate } from './alert-rules.js';
import { CHECK_TYPES, type CheckType, PLACEHOLDERS_BY_CHECK } from './checks.js';
import type { Operand, Placeholder } from './condition-ast.js';
import { parseCondition } from './condition-parse.js';
import { formatDuration, parseDuration } from './duration.js';
import { haProblems } from './ha.js';
import { formatPath, type Problem } from './problems.js';
import { DEFAULT_SETTINGS } from './schema.js';
import { subscriberProblems } from './subscribers.js';

type Tree = Record<string, unknown>;

/**
 * Checks that span fields, on the raw (interpolated) tree rather than the zod output, so they are
 * reported even when other parts of the file are broken. Each check skips values it cannot read:
 * the schema reports those.
 */
export function crossCheck(root: unknown): Problem[] {
  if (!isTree(root)) return [];
  const problems: Problem[] = [];
  const components = Array.isArray(root.components) ? root.components : [];
  const slos = Array.isArray(root.slos) ? root.slos : [];
  const names = unique(components, 'components', 'component', problems);
  unique(slos, 'slos', 'SLO', problems);
  slos.forEach((slo, i) => {
    if (isTree(slo) && typeof slo.component === 'string' && !names.has(slo.component)) {
      problems.push({ path: `slos[${i}].component`, message: `no component named ${JSON.stringify(slo.component)}` });
    }
  });
  const rules = isTree(root.alerts) && Array.isArray(root.alerts.rules) ? root.alerts.rules : [];
  unique(rules, 'alerts.rules', 'rule', problems);
  const targets = isTree(root.backup) && isTree(root.backup.targets) ? new Set(Object.keys(root.backup.targets)) : new Set<string>();
  rules.forEach((rule, i) => {
    if (isTree(rule) && (rule.type === 'backup' || rule.type === 'drill') && typeof rule.target === 'string' && !targets.has(rule.target))
      problems.push({
        path: `alerts.rules[${i}].target`,
        message: `no backup target named ${JSON.stringify(rule.target)} in backup.targets`,
      });
    if (!isTree(rule) || typeof rule.component !== 'string') return;
    const path = `alerts.rules[${i}].component`;
    if (!names.has(rule.component)) problems.push({ path, message: `no component named ${JSON.stringify(rule.component)}` });
    else if (rule.type === 'certificate' && !certificateOf(components, rule.component))
      problems.push({
        path,
        message: `${JSON.stringify(rule.component)} reads no TLS certificate: needs an https:// http check or a tlsCertificate check`,
      });
  });
  dependencies(components, names, problems);
  const windows = Array.isArray(root.maintenance) ? root.maintenance : [];
  unique(windows, 'maintenance', 'maintenance window', problems);
  windows.forEach((w, i) => {
    if (!isTree(w) || !Array.isArray(w.components)) return;
    w.components.forEach((c, j) => {
      if (typeof c === 'string' && !names.has(c))
        problems.push({ path: `maintenance[${i}].components[${j}]`, message: `no component named ${JSON.stringify(c)}` });
    });
  });
  const defaults = isTree(root.defaults) ? root.defaults : {};
  const reported = new Set<string>();
  components.forEach((component, i) => {
    if (!isTree(component)) return;
    timing(component, defaults, i, problems, reported);
    placeholders(component, i, problems);
  });
  problems.push(...subscriberProblems(root), ...haProblems(root, DEFAULT_SETTINGS.timeout));
  return problems;
}

/** Whether the component called `name` has a check that reads a TLS certificate. */
function certificateOf(components: unknown[], name: string): boolean {
  const c = components.find((c) => isTree(c) && c.name === name);
  return isTree(c) && isTree(c.check) && readsCertificate(c.check);
}

/** `dependsOn` names existing components, not the component itself, and makes no cycle. */
function dependencies(components: unknown[], names: Set<string>, problems: Problem[]): void {
  const edges = new Map<string, string[]>();
  components.forEach((c, i) => {
    if (!isTree(c) || typeof c.name !== 'string' || !Array.isArray(c.dependsOn)) return;
    const own: string[] = [];
    c.dependsOn.forEach((d, j) => {
      if (typeof d !== 'string') return;
      const path = `components[${i}].dependsOn[${j}]`;
      if (d === c.name) problems.push({ path, message: 'a component cannot depend on itself' });
      else if (!names.has(d)) problems.push({ path, message: `no component named ${JSON.stringify(d)}` });
      else own.push(d);
    });
    edges.set(c.name, own);
  });
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: string, trail: string[]): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'visiting') return [...trail.slice(trail.indexOf(n)), n];
    state.set(n, 'visiting');
    for (const d of edges.get(n) ?? []) {
      const cycle = visit(d, [...trail, n]);
      if (cycle) return cycle;
    }
    state.set(n, 'done');
    return undefined;
  };
  for (const [i, c] of components.entries()) {
    if (!isTree(c) || typeof c.name !== 'string') continue;
    const cycle = visit(c.name, []);
    if (cycle) {
      problems.push({ path: `components[${i}].dependsOn`, message: `dependencies form a cycle: ${cycle.join(' -> ')}` });
      return;
    }
  }
}

/** Names must be unique; returns the set of names seen. */
function unique(items: unknown[], list: string, what: string, problems: Problem[]): Set<string> {
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    if (!isTree(item) || typeof item.name !== 'string') return;
    const earlier = first.get(item.name);
    if (earlier === undefined) first.set(item.name, i);
    else
      problems.push({
        path: `${list}[${i}].name`,
        message: `duplicate ${what} name ${JSON.stringify(item.name)} (also ${list}[${earlier}])`,
      });
  });
  return new Set(first.keys());
}

/** timeout < interval and degradedAfter < timeout, reported where the offending value was written. */
function timing(component: Tree, defaults: Tree, i: number, problems: Problem[], reported: Set<string>): void {
  const read = (key: 'interval' | 'timeout' | 'degradedAfter') => {
    const own = component[key] !== undefined;
    const raw = own ? component[key] : (defaults[key] ?? DEFAULT_SETTINGS[key]);
    try {
      return { ms: parseDuration(raw as string | number), own };
    } catch {
      return undefined;
    }
  };
  const interval = read('interval');
  const timeout = read('timeout');
  const degradedAfter = read('degradedAfter');
  const pairs = [
    [timeout, 'timeout', interval, 'interval'],
    [degradedAfter, 'degradedAfter', timeout, 'timeout'],
  ] as const;
  for (const [small, smallKey, big, bigKey] of pairs) {
    if (!small || !big || small.ms < big.ms) continue;
    // Blame the component when it set either value, else `defaults` (once for all components).
    const path = small.own ? `components[${i}].${smallKey}` : big.own ? `components[${i}].${bigKey}` : `defaults.${smallKey}`;
    if (reported.has(path)) continue;
    reported.add(path);
    problems.push({ path, message: `${smallKey} (${formatDuration(small.ms)}) must be less than ${bigKey} (${formatDuration(big.ms)})` });
  }
}

/** Each condition may read only what its check type observes. */
function placeholders(component: Tree, i: number, problems: Problem[]): void {
  const type = isTree(component.check) ? component.check.type : undefined;
  if (!CHECK_TYPES.includes(type as CheckType) || !Array.isArray(component.conditions)) return;
  const available = PLACEHOLDERS_BY_CHECK[type as CheckType];
  component.conditions.forEach((text, j) => {
    if (typeof text !== 'string') return;
    let used: Placeholder[];
    try {
      const { left, right } = parseCondition(text);
      used = [...placeholdersOf(left), ...placeholdersOf(right)];
    } catch {
      return; // the schema reports the syntax error
    }
    const missing = [...new Set(used.filter((name) => !available.includes(name)))];
    if (missing.length === 0) return;
    problems.push({
      path: formatPath(['components', i, 'conditions', j]),
      message: `${missing.map((name) => `[${name}]`).join(', ')} is not available for ${type} checks; available: ${available.map((name) => `[${name}]`).join(', ')}`,
    });
  });
}

function placeholdersOf(operand: Operand): Placeholder[] {
  if (operand.kind === 'placeholder') return [operand.name];
  if (operand.kind === 'len' || operand.kind === 'has') return [operand.arg.name];
  return [];
}

function isTree(value: unknown): value is Tree {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
