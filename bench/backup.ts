/**
 * nines backup against the tools it wraps or replaces, in one run (issue #17, section 5).
 *
 * PostgreSQL: a database generated on the shared server (BENCH_DB_MB, default 220 MB by
 * `pg_database_size`: users, events with JSON, documents of text, random bytes), then per round,
 * in an order rotated every round: plain `pg_dump -Fc -f file` (the peer), `nines backup create`
 * through the built CLI, and the same with encryption on. Files: a generated tree (BENCH_TREE_MB,
 * default 200 MB: many small text files, larger logs, random bytes, symlinks), `tar czf` (GNU tar
 * and gzip) against `nines backup create` of a files target with gzip. Each figure is the wall time
 * of one process from spawn to exit (so nines' start-up and its verify pass are in it), median of
 * BENCH_ROUNDS (default 3), with its CPU seconds beside it (GNU time, when /usr/bin/time is there):
 * on a busy machine the CPU a backup needs says as much as its wall time. Then the restore drill:
 * `nines backup drill --json`'s recovery time (restore + compare) beside `pg_restore` of the same
 * dump into a new database. `--files` runs the files part alone. The database and every generated file are removed at the end, on failure
 * too. Stdout gets exactly one JSON line; the table goes to stderr.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { log, median, pad } from './lib/common.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DB_MB = Number(process.env.BENCH_DB_MB ?? 220);
const TREE_MB = Number(process.env.BENCH_TREE_MB ?? 200);
const PG_URL = process.env.NINES_BENCH_PG_URL ?? process.env.NINES_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CLI = process.env.BENCH_NINES_CLI ?? fileURLToPath(new URL('../dist/cli/index.js', import.meta.url));
const TARGETS = { dump: 1.1, dumpEncrypted: 1.25, files: 1.0 };
const MB = 1024 * 1024;
/** `node bench/backup.ts --files`: the files part alone (no database). */
const FILES_ONLY = process.argv.includes('--files');

const work = mkdtempSync(join(tmpdir(), 'nines-bench-backup-'));
const database = `nines_bench_backup_${process.pid}_${randomBytes(3).toString('hex')}`;
let databaseCreated = false;

/** `url` with its path set to `name`. */
function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The URL without its password, and the password for PGPASSWORD: pg_dump gets it as nines gives it. */
function libpq(url: string): { url: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { url: u.toString(), env: password === '' ? {} : { PGPASSWORD: password } };
}

async function query(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

let cleaned = false;
/** Drops the database and removes every generated file; safe to call twice. */
async function cleanup(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  rmSync(work, { recursive: true, force: true });
  if (databaseCreated) await query(PG_URL, `drop database if exists "${database}" with (force)`);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    cleanup().finally(() => process.exit(130));
  });

/** Creates the database and fills it until pg_database_size reaches DB_MB; returns its size in bytes. */
async function generateDatabase(url: string): Promise<number> {
  await query(PG_URL, `create database "${database}"`);
  databaseCreated = true;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`
      create table users (id int primary key, name text not null, email text not null, country char(2) not null,
        created timestamptz not null, score double precision, active boolean not null);
      insert into users select g, 'user ' || g, 'u' || g || '@example.com', (array['DE','FR','US','GB','JP','BR','IN'])[1 + g % 7],
        timestamptz '2024-01-01' + g * interval '37 seconds', round((random() * 1000)::numeric, 2), g % 5 <> 0
        from generate_series(1, 100000) g;
      create table documents (id int primary key, title text not null, body text not null);
      insert into documents select g, 'document ' || g,
        (select string_agg((array['the','service','request','latency','budget','error','replica','backup','restore','index',
           'query','timeout','retry','cache','queue','shard'])[1 + ((g * 31 + i * 17) % 16)] || ' ' || (g * i % 997), ' ')
         from generate_series(1, 150 + g % 100) i)
        from generate_series(1, 20000) g;
      create table blobs (id int primary key, data bytea not null);
      insert into blobs select g, decode((select string_agg(md5(random()::text), '') from generate_series(1, 512)), 'hex')
        from generate_series(1, 2000) g;
      create table events (id bigint primary key, user_id int not null, at timestamptz not null, kind text not null,
        payload jsonb not null, note text);`);
    let next = 1;
    const batch = 250_000;
    const size = async () => Number((await client.query('select pg_database_size(current_database()) as b')).rows[0].b);
    while ((await size()) < DB_MB * MB) {
      await client.query(
        `insert into events select g, 1 + (g * 7919) % 100000, timestamptz '2025-01-01' + g * interval '250 milliseconds',
           (array['login','view','click','purchase','logout','error'])[1 + g % 6],
           jsonb_build_object('path', '/items/' || (g % 5000), 'status', (array[200,200,200,304,404,500])[1 + g % 6],
             'ms', round((random() * 300)::numeric, 1), 'tags', jsonb_build_array('web', 'v' || (g % 4))),
           case when g % 3 = 0 then md5(random()::text) end
           from generate_series($1::bigint, $2::bigint) g`,
        [next, next + batch - 1],
      );
      next += batch;
      if (next === 1 + batch) await client.query('create index events_user on events (user_id)');
    }
    await client.query('vacuum analyze');
    return await size();
  } finally {
    await client.end();
  }
}

/** Deterministic pseudo-random numbers (xorshift32), so the tree is the same every run. */
function prng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const WORDS =
  'const let function return import export from await async if else for while new class extends this value error result options config service request response timeout retry budget cache queue index backup restore'.split(
    ' ',
  );

/** Text of about `bytes` bytes: lines of words and numbers, compressible as source code or prose is. */
function text(rand: () => number, bytes: number): string {
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const words = 3 + Math.floor(rand() * 9);
    let line = '  '.repeat(Math.floor(rand() * 4));
    for (let i = 0; i < words; i++) line += `${WORDS[Math.floor(rand() * WORDS.length)]}${rand() < 0.2 ? Math.floor(rand() * 10000) : ''} `;
    line += '\n';
    parts.push(line);
    n += line.length;
  }
  return parts.join('');
}

/** Log lines of about `bytes` bytes: timestamps, levels, paths, durations. */
function logText(rand: () => number, bytes: number, start: number): string {
  const parts: string[] = [];
  let n = 0;
  let t = start;
  const levels = ['info', 'info', 'info', 'warn', 'error', 'debug'];
  while (n < bytes) {
    t += Math.floor(rand() * 200);
    const line = `${new Date(t).toISOString()} ${levels[Math.floor(rand() * levels.length)]} req=${Math.floor(rand() * 1e9).toString(16)} GET /api/items/${Math.floor(rand() * 50000)} status=${rand() < 0.95 ? 200 : 503} ms=${(rand() * 400).toFixed(1)}\n`;
    parts.push(line);
    n += line.length;
  }
  return parts.join('');
}

/** Writes the file tree: ~40 % small text files, ~40 % logs, ~20 % random bytes, plus symlinks and empty folders. */
function generateTree(root: string): { bytes: number; files: number; links: number } {
  const rand = prng(17);
  const budget = TREE_MB * MB;
  let bytes = 0;
  let files = 0;
  let links = 0;
  const small = budget * 0.4;
  for (let d = 0; bytes < small; d++) {
    const dir = join(root, 'src', `pkg${Math.floor(d / 20)}`, `mod${d % 20}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 50 && bytes < small; f++) {
      const body = text(rand, 200 + Math.floor(rand() * rand() * 16_000));
      writeFileSync(join(dir, `file${f}.ts`), body);
      bytes += body.length;
      files++;
      if (f % 25 === 0) {
        symlinkSync(`file${f}.ts`, join(dir, `link${f}.ts`));
        links++;
      }
    }
    if (d % 50 === 0) mkdirSync(join(dir, 'empty'));
  }
  mkdirSync(join(root, 'logs'));
  for (let i = 0; bytes < budget * 0.8; i++) {
    const body = logText(rand, 8 * MB, Date.UTC(2026, 0, 1) + i * 86_400_000);
    writeFileSync(join(root, 'logs', `app-${i}.log`), body);
    bytes += body.length;
    files++;
  }
  mkdirSync(join(root, 'media'));
  for (let i = 0; bytes < budget; i++) {
    const body = randomBytes(8 * MB);
    writeFileSync(join(root, 'media', `blob-${i}.bin`), body);
    bytes += body.length;
    files++;
  }
  symlinkSync('logs', join(root, 'latest-logs'));
  symlinkSync('/nonexistent/target', join(root, 'dangling'));
  links += 2;
  return { bytes, files, links };
}

const TIME = '/usr/bin/time';
const hasTime = existsSync(TIME);

/** Runs a command to its exit: its wall time in ms, and its CPU seconds (user + system) when GNU time is there. A non-zero exit throws with its stderr. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ ms: number; cpuS: number }> {
  const cpuFile = join(work, 'cpu.txt');
  const [cmd, argv] = hasTime ? [TIME, ['-f', '%U %S', '-o', cpuFile, command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - start;
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
      const cpu = hasTime ? readFileSync(cpuFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number) : [Number.NaN, 0];
      resolve({ ms, cpuS: (cpu[0] as number) + (cpu[1] as number) });
    });
  });
}

/** Bytes of a file, or of every file under a directory. */
function sizeOf(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

/** A variant: what it runs, and how to measure and clear its output. */
interface Variant {
  name: string;
  run: () => Promise<{ ms: number; cpuS: number }>;
  output: string;
}

/** Wall times and CPU seconds of a variant's rounds, and the size of its output. */
interface Runs {
  ms: number[];
  cpuS: number[];
  bytes: number;
}

/** Runs `variants` ROUNDS times, in an order rotated every round; the wall times and the output sizes per variant. */
async function rounds(label: string, variants: Variant[]): Promise<Map<string, Runs>> {
  const results = new Map(variants.map((v) => [v.name, { ms: [] as number[], cpuS: [] as number[], bytes: 0 }]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant);
    const line: string[] = [];
    for (const v of order) {
      rmSync(v.output, { recursive: true, force: true });
      mkdirSync(v.output, { recursive: true });
      const { ms, cpuS } = await v.run();
      const r = results.get(v.name) as Runs;
      r.ms.push(ms);
      r.cpuS.push(cpuS);
      r.bytes = sizeOf(v.output);
      rmSync(v.output, { recursive: true, force: true });
      line.push(`${v.name} ${(ms / 1000).toFixed(2)} s`);
    }
    log(`  ${label} round ${round + 1}/${ROUNDS}: ${line.join(', ')}`);
  }
  return results;
}

/** The `nines` config: the database and tree targets, a repository in `repo`, encrypted when `encrypted`. */
function config(file: string, repo: string, dbUrl: string, tree: string, encrypted: boolean): string {
  const host = new URL(PG_URL);
  writeFileSync(
    file,
    `components:
  - name: db
    check: { type: tcp, host: ${host.hostname}, port: ${host.port || 5432} }
backup:
  repository: ${JSON.stringify(repo)}
${encrypted ? '  encryption: { keyEnv: NINES_BENCH_BACKUP_KEY }\n' : ''}  targets:
    db: { type: postgres, url: ${JSON.stringify(dbUrl)} }
    tree: { type: files, path: ${JSON.stringify(tree)}, compression: gzip }
`,
  );
  return file;
}

/** The database part: generates the database, times pg_dump and nines against it, drops it. */
async function benchDatabase(
  dbUrl: string,
  conn: { url: string; env: NodeJS.ProcessEnv },
  plain: string,
  encrypted: string,
  nines: (cfg: string, target: string) => () => Promise<{ ms: number; cpuS: number }>,
): Promise<{ dbBytes: number; runs: Map<string, Runs>; drill: Awaited<ReturnType<typeof benchDrill>> }> {
  const start = performance.now();
  const dbBytes = await generateDatabase(dbUrl);
  log(
    `database ${database}: ${(dbBytes / MB).toFixed(0)} MB (pg_database_size), generated in ${((performance.now() - start) / 1000).toFixed(1)} s`,
  );
  const dumpFile = join(work, 'pg_dump', 'dump.pgdump');
  const runs = await rounds('dump', [
    {
      name: 'pg_dump -Fc',
      run: () => timed('pg_dump', ['-Fc', '-f', dumpFile, '--dbname', conn.url], conn.env),
      output: join(work, 'pg_dump'),
    },
    { name: 'nines', run: nines(plain, 'db'), output: join(work, 'repo-plain') },
    { name: 'nines encrypted', run: nines(encrypted, 'db'), output: join(work, 'repo-encrypted') },
  ]);
  const drill = await benchDrill(plain, conn, dumpFile);
  await query(PG_URL, `drop database if exists "${database}" with (force)`);
  databaseCreated = false;
  return { dbBytes, runs, drill };
}

/** Seconds of a drill's phases, as its report gives them. */
interface DrillFigures {
  restoreS: number;
  compareS: number;
  recoveryS: number;
}

/**
 * The drill: one backup, then per round `nines backup drill --json` (restore into a scratch
 * database, count its rows, drop it) beside the peer, `pg_restore` of the same `pg_dump -Fc` into a
 * new database (created and dropped outside the timing).
 */
async function benchDrill(
  plain: string,
  conn: { url: string; env: NodeJS.ProcessEnv },
  dumpFile: string,
): Promise<{ drill: DrillFigures; pgRestoreS: number }> {
  mkdirSync(join(work, 'pg_dump'), { recursive: true });
  await timed('pg_dump', ['-Fc', '-f', dumpFile, '--dbname', conn.url], conn.env);
  await timed(process.execPath, [CLI, 'backup', 'create', '--target', 'db', '--config', plain]);
  const drills: DrillFigures[] = [];
  const restores: number[] = [];
  const scratch = `${database}_restore`;
  const scratchUrl = libpq(withDatabase(PG_URL, scratch));
  for (let round = 0; round < ROUNDS; round++) {
    const out = await output(process.execPath, [CLI, 'backup', 'drill', '--target', 'db', '--config', plain, '--json']);
    const r = JSON.parse(out) as { ok: boolean; restoreSeconds: number; compareSeconds: number; recoverySeconds: number };
    if (!r.ok) throw new Error(`the drill found differences: ${out}`);
    drills.push({ restoreS: r.restoreSeconds, compareS: r.compareSeconds, recoveryS: r.recoverySeconds });
    await query(PG_URL, `create database "${scratch}"`);
    try {
      restores.push((await timed('pg_restore', ['--dbname', scratchUrl.url, dumpFile], scratchUrl.env)).ms / 1000);
    } finally {
      await query(PG_URL, `drop database if exists "${scratch}" with (force)`);
    }
    log(
      `  drill round ${round + 1}/${ROUNDS}: nines drill ${r.recoverySeconds.toFixed(2)} s (restore ${r.restoreSeconds.toFixed(2)} s), pg_restore ${(restores.at(-1) as number).toFixed(2)} s`,
    );
  }
  const mid = (f: (d: DrillFigures) => number) => Math.round(median(drills.map(f)) * 100) / 100;
  return {
    drill: { restoreS: mid((d) => d.restoreS), compareS: mid((d) => d.compareS), recoveryS: mid((d) => d.recoveryS) },
    pgRestoreS: Math.round(median(restores) * 100) / 100,
  };
}

/** Runs a command to its end; its stdout (its stderr in the error when it fails). */
function output(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')}: exit ${code}: ${err}`))));
  });
}

async function main(): Promise<void> {
  log(`nines backup bench: ${ROUNDS} rounds, node ${process.version}, pg_dump and tar from PATH`);
  const dbUrl = withDatabase(PG_URL, database);
  const conn = libpq(dbUrl);
  const keyEnv = { NINES_BENCH_BACKUP_KEY: randomBytes(32).toString('hex') };
  const tree = join(work, 'tree');
  const plain = config(join(work, 'plain.yaml'), join(work, 'repo-plain'), dbUrl, tree, false);
  const encrypted = config(join(work, 'encrypted.yaml'), join(work, 'repo-encrypted'), dbUrl, tree, true);
  const nines = (cfg: string, target: string) => () =>
    timed(process.execPath, [CLI, 'backup', 'create', '--target', target, '--config', cfg], keyEnv);

  const dump = FILES_ONLY ? undefined : await benchDatabase(dbUrl, conn, plain, encrypted, nines);
  const dbBytes = dump?.dbBytes ?? 0;

  const start = performance.now();
  const t = generateTree(tree);
  log(
    `tree: ${(t.bytes / MB).toFixed(0)} MB in ${t.files} files and ${t.links} symlinks, generated in ${((performance.now() - start) / 1000).toFixed(1)} s`,
  );
  const tarFile = join(work, 'tar', 'tree.tar.gz');
  const files = await rounds('files', [
    { name: 'tar czf', run: () => timed('tar', ['czf', tarFile, '-C', tree, '.']), output: join(work, 'tar') },
    { name: 'nines', run: nines(plain, 'tree'), output: join(work, 'repo-plain') },
    { name: 'nines encrypted', run: nines(encrypted, 'tree'), output: join(work, 'repo-encrypted') },
  ]);

  const fig = (m: Map<string, Runs>, name: string) => {
    const r = m.get(name) as Runs;
    return { ms: Math.round(median(r.ms)), rounds: r.ms.map(Math.round), cpuS: Math.round(median(r.cpuS) * 10) / 10, storedBytes: r.bytes };
  };
  const tar = fig(files, 'tar czf');
  const ninesFiles = fig(files, 'nines');
  const ninesFilesEnc = fig(files, 'nines encrypted');
  const ratio = (a: { ms: number }, b: { ms: number }) => Math.round((a.ms / b.ms) * 100) / 100;
  const target = (measured: number, limit: number) => ({ measured, limit, pass: measured <= limit });
  const row = (name: string, f: { ms: number; cpuS: number; storedBytes: number }, x?: number, vs?: { limit: number; pass: boolean }) =>
    log(
      `${pad(name, 26)} ${pad((f.ms / 1000).toFixed(2), 8, true)} ${pad(f.cpuS.toFixed(1), 7, true)} ${pad((f.storedBytes / MB).toFixed(1), 10, true)} ${pad(x === undefined ? '' : x.toFixed(2), 8, true)}   ${vs ? `≤ ${vs.limit}×: ${vs.pass ? 'PASS' : 'FAIL'}` : x === undefined ? '' : '(no target)'}`,
    );
  const filesRatio = target(ratio(ninesFiles, tar), TARGETS.files);
  log('');
  log(
    `${pad('backup', 26)} ${pad('wall s', 8, true)} ${pad('CPU s', 7, true)} ${pad('stored MB', 10, true)} ${pad('× peer', 8, true)}   target`,
  );
  let databaseFigures: object | undefined;
  let dumpTargets: object = {};
  if (dump !== undefined) {
    const pgDump = fig(dump.runs, 'pg_dump -Fc');
    const ninesDump = fig(dump.runs, 'nines');
    const ninesDumpEnc = fig(dump.runs, 'nines encrypted');
    const dumpRatio = target(ratio(ninesDump, pgDump), TARGETS.dump);
    const dumpEncryptedRatio = target(ratio(ninesDumpEnc, pgDump), TARGETS.dumpEncrypted);
    log(`database ${(dbBytes / MB).toFixed(0)} MB`);
    row('  pg_dump -Fc (peer)', pgDump);
    row('  nines backup create', ninesDump, dumpRatio.measured, dumpRatio);
    row('  nines, encrypted', ninesDumpEnc, dumpEncryptedRatio.measured, dumpEncryptedRatio);
    const { drill, pgRestoreS } = dump.drill;
    log(
      `${pad('  nines backup drill', 26)} ${pad(drill.recoveryS.toFixed(2), 8, true)}   recovery: restore ${drill.restoreS.toFixed(2)} s + compare ${drill.compareS.toFixed(2)} s; pg_restore alone ${pgRestoreS.toFixed(2)} s (no target)`,
    );
    databaseFigures = { bytes: dbBytes, pgDump, nines: ninesDump, ninesEncrypted: ninesDumpEnc, drill, pgRestoreS };
    dumpTargets = { dumpRatio, dumpEncryptedRatio };
  }
  log(`tree ${(t.bytes / MB).toFixed(0)} MB, ${t.files} files`);
  row('  tar czf (peer)', tar);
  row('  nines backup create', ninesFiles, filesRatio.measured, filesRatio);
  row('  nines, encrypted', ninesFilesEnc, ratio(ninesFilesEnc, tar));
  process.stdout.write(
    `${JSON.stringify({
      bench: 'backup',
      node: process.version,
      rounds: ROUNDS,
      ...(databaseFigures === undefined ? {} : { database: databaseFigures }),
      files: {
        bytes: t.bytes,
        files: t.files,
        symlinks: t.links,
        tar,
        nines: ninesFiles,
        ninesEncrypted: ninesFilesEnc,
        encryptedRatio: ratio(ninesFilesEnc, tar),
      },
      targets: { ...dumpTargets, filesRatio },
    })}\n`,
  );
}

const treeOnly = process.argv.indexOf('--tree');
if (treeOnly > 0) {
  // `node bench/backup.ts --tree DIR`: only writes the tree into DIR (kept), to profile against it
  const t = generateTree(process.argv[treeOnly + 1] ?? 'tree');
  rmSync(work, { recursive: true, force: true });
  log(`tree: ${(t.bytes / MB).toFixed(0)} MB in ${t.files} files and ${t.links} symlinks`);
} else {
  try {
    await main();
  } finally {
    await cleanup();
  }
}
