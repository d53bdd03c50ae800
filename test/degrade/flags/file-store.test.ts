import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FlagsInvalidError } from '../../../src/degrade/flags/errors.js';
import { type FlagFileEvents, type FlagFileStore, watchFlagFile } from '../../../src/degrade/flags/file-store.js';
import { FlagSet } from '../../../src/degrade/flags/flag-set.js';

let dir: string;
let store: FlagFileStore | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nines-flags-'));
});
afterEach(async () => {
  store?.close();
  store = undefined;
  await rm(dir, { recursive: true, force: true });
});

// Written as editors and deploy tools do: a temporary file renamed over the old one.
async function replaceFile(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}

function next<K extends keyof FlagFileEvents>(s: FlagFileStore, event: K): Promise<FlagFileEvents[K]> {
  return new Promise((resolve) => {
    const off = s.on(event, (payload) => {
      off();
      resolve(payload);
    });
  });
}

const GOOD = `
flags:
  checkout:
    description: the new checkout
    rules:
      - when: [{ attribute: plan, operator: IN, values: [pro] }]
  search:
    minLevel: degraded
`;

describe('flag file store', () => {
  it('loads a YAML file, picks up a change, and keeps the last good flags when the file turns bad', async () => {
    const path = join(dir, 'flags.yaml');
    await writeFile(path, GOOD);
    const flags = new FlagSet();
    store = await watchFlagFile(flags, { path, debounceMs: 20 });
    expect(flags.names().sort()).toEqual(['checkout', 'search']);
    expect(flags.isEnabled('checkout', { plan: 'pro' })).toBe(true);

    const loaded = next(store, 'load');
    await replaceFile(path, GOOD.replace('[pro]', '[pro, team]'));
    expect(await loaded).toEqual({ path, flags: 2 });
    expect(flags.isEnabled('checkout', { plan: 'team' })).toBe(true);

    const failed = next(store, 'error');
    await replaceFile(
      path,
      `flags:
  checkout:
    rules:
      - rollout: 101
        when: [{ attribute: plan, operator: LIKE, values: [pro] }]
  search:
    minLevel: sometimes
    dependsOn: [{ flag: missing }]
`,
    );
    const { error } = await failed;
    expect(error).toBeInstanceOf(FlagsInvalidError);
    expect(error.source).toBe(path);
    expect(error.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^flags\.checkout\.rules\[0\]\.when\[0\]\.operator: /),
        expect.stringMatching(/^flags\.checkout\.rules\[0\]\.rollout: /),
        expect.stringMatching(/^flags\.search\.minLevel: /),
      ]),
    );
    // the last good flags are still in force
    expect(flags.isEnabled('checkout', { plan: 'team' })).toBe(true);
    expect(flags.names().sort()).toEqual(['checkout', 'search']);

    const recovered = next(store, 'load');
    await replaceFile(path, 'flags:\n  only: {}\n');
    await recovered;
    expect(flags.names()).toEqual(['only']);
  });

  it('a JSON file; cross-flag problems (unknown or nested parents) are reported by path', async () => {
    const path = join(dir, 'flags.json');
    await writeFile(
      path,
      JSON.stringify({ flags: { a: {}, b: { dependsOn: [{ flag: 'a' }] }, c: { dependsOn: [{ flag: 'b' }, { flag: 'z' }] } } }),
    );
    const flags = new FlagSet();
    const rejected = await watchFlagFile(flags, { path, watch: false }).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(FlagsInvalidError);
    expect((rejected as FlagsInvalidError).problems).toEqual([
      'flags.c.dependsOn[0].flag: "b" depends on other flags itself; only one level is allowed',
      'flags.c.dependsOn[1].flag: no flag "z" in this file',
    ]);
    expect(flags.names()).toEqual([]);

    await writeFile(path, '{ "flags": { "a": { "enabled": tru } } }');
    const syntax = (await watchFlagFile(flags, { path, watch: false }).catch((e: unknown) => e)) as FlagsInvalidError;
    expect(syntax.problems).toHaveLength(1);
    expect(syntax.problems[0]).toMatch(/^flags\.json: /);
  });

  it('YAML syntax errors carry the line and column; a missing file is an error too', async () => {
    const path = join(dir, 'flags.yml');
    await writeFile(path, 'flags:\n  a: {enabled: true\n');
    const flags = new FlagSet();
    const error = (await watchFlagFile(flags, { path }).catch((e: unknown) => e)) as FlagsInvalidError;
    expect(error.problems[0]).toMatch(/^flags\.yml:\d+:\d+: /);
    const missing = (await watchFlagFile(flags, { path: join(dir, 'none.yaml') }).catch((e: unknown) => e)) as FlagsInvalidError;
    expect(missing.problems[0]).toMatch(/^none\.yaml: ENOENT/);
  });
});
