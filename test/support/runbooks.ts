/**
 * The shell blocks of a runbook (docs/runbooks/README.md): which run, what they must print, and a
 * runner that executes them with bash so a runbook cannot drift from the CLI.
 */
import { spawn } from 'node:child_process';

/** One fenced shell block of a runbook. */
export interface RunbookBlock {
  /** 1-based line of the opening fence, for the test's name and the failure message. */
  line: number;
  /** `exec`: the test runs it; `no-exec`: shown only (a cluster, root, another machine). */
  mode: 'exec' | 'no-exec';
  /** The block's text. */
  script: string;
  /** Substrings its stdout must contain, from `<!-- expect: … -->` lines just above the fence. */
  expect: string[];
}

const SHELL = new Set(['sh', 'bash', 'shell', 'console', 'zsh']);
const FENCE = /^(`{3,}|~{3,})\s*(.*)$/;
const EXPECT = /^<!--\s*expect:\s*(.*?)\s*-->$/;

/**
 * The shell blocks of `markdown`. Throws on a shell block with neither marker, so no command in a
 * runbook is left untested by oversight.
 */
export function shellBlocks(markdown: string, file = 'runbook'): RunbookBlock[] {
  const lines = markdown.split('\n');
  const blocks: RunbookBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (open === null) continue;
    const [fence = '', info = ''] = [open[1], open[2]];
    const end = lines.findIndex((l, j) => j > i && l.trim().startsWith(fence) && l.trim().slice(fence.length).trim() === '');
    if (end === -1) throw new Error(`${file}:${i + 1}: unclosed fence`);
    const [lang = '', ...flags] = info.trim().split(/\s+/);
    if (SHELL.has(lang)) {
      const mode = flags.includes('exec') ? 'exec' : flags.includes('no-exec') ? 'no-exec' : undefined;
      if (mode === undefined) throw new Error(`${file}:${i + 1}: a shell block without \`exec\` or \`no-exec\` after \`${lang}\``);
      const expect: string[] = [];
      for (let k = i - 1; k >= 0; k--) {
        const m = EXPECT.exec((lines[k] ?? '').trim());
        if (m === null) break;
        expect.unshift(m[1] ?? '');
      }
      blocks.push({ line: i + 1, mode, script: lines.slice(i + 1, end).join('\n'), expect });
    }
    i = end;
  }
  return blocks;
}

/** What one block did. */
export interface BlockRun {
  /** Exit code; null when killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Why it counts as failed (a non-zero exit, a missing expected text); undefined when it passed. */
  failure?: string;
}

/** Runs `block` with `bash -euo pipefail` in `cwd` with `env`, and says whether it did what the runbook says. */
export function runBlock(block: RunbookBlock, options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<BlockRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', block.script], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    // a hang guard, not a speed limit: a block waiting forever is a failure, not a stuck suite
    const guard = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      const missing = block.expect.filter((e) => !stdout.includes(e));
      const failure =
        code !== 0
          ? `exited with ${code}`
          : missing.length > 0
            ? `stdout lacks ${missing.map((m) => JSON.stringify(m)).join(', ')}`
            : undefined;
      resolve({ code, stdout, stderr, ...(failure === undefined ? {} : { failure }) });
    });
  });
}

/** The `index`-th block of `blocks`; throws when there is none (for tests that build their own markdown). */
export function blockAt(blocks: RunbookBlock[], index: number): RunbookBlock {
  const block = blocks[index];
  if (block === undefined) throw new Error(`no block ${index}: ${blocks.length} found`);
  return block;
}
