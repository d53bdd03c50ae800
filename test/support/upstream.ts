// Upstreams for the failover end-to-end tests and bench:failover: each a node:http server in its own
// child process (test/support/upstream-child.ts), so killing, stopping and restarting one is real.
// Only node: imports, so plain `node bench/failover.ts` can load it as well as vitest.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** How an upstream answers: 200, 503, never, after `slowMs`, 200 with `/readiness` at 503 (draining), or 503 for 1 % of requests at random (`flaky`). */
export type UpstreamMode = 'ok' | '503' | 'hang' | 'slow' | 'drain' | 'flaky';

/** What an upstream process has received since it started (a restart starts from zero). */
export interface UpstreamStats {
  /** Requests other than `/readiness`, by the mode the upstream was in when each arrived. */
  byMode: Record<UpstreamMode, number>;
  /** 503s answered at random in `flaky` mode. */
  errors: number;
  /** `GET /readiness` requests. */
  readiness: number;
  /** Sum of `byMode`. */
  total: number;
  /** Epoch ms of the first and the last request counted in `byMode`; null before the first. */
  firstAt: number | null;
  lastAt: number | null;
  /** Connections open now. */
  connections: number;
}

/** Options of `startUpstream`. */
export interface UpstreamOptions {
  /** Mode at start; default `'ok'`. */
  mode?: UpstreamMode;
  /** Delay of `slow` mode in ms; default 200. */
  slowMs?: number;
  /** Port to listen on; default 0 (any free one). */
  port?: number;
}

const CHILD = fileURLToPath(new URL('./upstream-child.ts', import.meta.url));
const START_TIMEOUT_MS = 15_000;
const REPLY_TIMEOUT_MS = 10_000;

interface Reply {
  type: string;
  id?: number;
  port?: number;
  stats?: UpstreamStats;
}

/** A running upstream process and its controls. */
export class Upstream {
  #proc: ChildProcess;
  #port: number;
  #options: UpstreamOptions;
  #nextId = 1;
  #stopped = false;

  private constructor(proc: ChildProcess, port: number, options: UpstreamOptions) {
    this.#proc = proc;
    this.#port = port;
    this.#options = options;
  }

  /** Starts an upstream process and resolves once it listens on 127.0.0.1. */
  static async start(options: UpstreamOptions = {}): Promise<Upstream> {
    const { proc, port } = await spawnChild(options);
    return new Upstream(proc, port, options);
  }

  /** The port it listens on; the same across restarts. */
  get port(): number {
    return this.#port;
  }

  /** `http://127.0.0.1:<port>`. */
  get origin(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** The process id of the current child. */
  get pid(): number | undefined {
    return this.#proc.pid;
  }

  /** Whether the current child process is alive (stopped counts as alive). */
  get alive(): boolean {
    return this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  /** Switches how it answers from the next request on. */
  async setMode(mode: UpstreamMode, slowMs?: number): Promise<void> {
    await this.#ask({ type: 'mode', mode, ...(slowMs === undefined ? {} : { slowMs }) });
  }

  /** Its counters; rejects while the process is stopped or dead. */
  async stats(): Promise<UpstreamStats> {
    const reply = await this.#ask({ type: 'stats' });
    return reply.stats as UpstreamStats;
  }

  /** Sends `signal` (default SIGKILL) and resolves once the process has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.#proc.once('exit', () => resolve()));
    if (this.#stopped && signal !== 'SIGKILL') this.#proc.kill('SIGCONT');
    this.#proc.kill(signal);
    await exited;
    this.#stopped = false;
  }

  /** SIGSTOP: the kernel still accepts connections, nothing answers them (a black hole). */
  pause(): void {
    this.#proc.kill('SIGSTOP');
    this.#stopped = true;
  }

  /** SIGCONT after `pause()`. */
  resume(): void {
    this.#proc.kill('SIGCONT');
    this.#stopped = false;
  }

  /** Kills the current process if alive and starts a fresh one on the same port (counters from zero). */
  async restart(options: UpstreamOptions = {}): Promise<void> {
    await this.kill('SIGKILL');
    this.#options = { ...this.#options, ...options, port: this.#port };
    const { proc } = await spawnChild(this.#options);
    this.#proc = proc;
  }

  /** Stops it for good: disconnects (the child exits on that), SIGKILL if it lingers or is stopped. */
  async close(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.#proc.once('exit', () => resolve()));
    if (this.#stopped || !this.#proc.connected) this.#proc.kill('SIGKILL');
    else this.#proc.disconnect();
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }

  #ask(command: Record<string, unknown>): Promise<Reply> {
    const proc = this.#proc;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (!proc.connected || this.#stopped) return reject(new Error(`upstream ${this.#port} is not running`));
      const done = (err: Error | null, reply?: Reply): void => {
        clearTimeout(timer);
        proc.off('message', onMessage);
        proc.off('exit', onExit);
        if (err) reject(err);
        else resolve(reply as Reply);
      };
      const onMessage = (msg: Reply): void => {
        if (msg.id === id) done(null, msg);
      };
      const onExit = (): void => done(new Error(`upstream ${this.#port} exited`));
      const timer = setTimeout(() => done(new Error(`upstream ${this.#port} did not answer ${command.type}`)), REPLY_TIMEOUT_MS);
      proc.on('message', onMessage);
      proc.once('exit', onExit);
      proc.send({ ...command, id });
    });
  }
}

/** Starts `count` upstreams at once. */
export function startUpstreams(count: number, options: UpstreamOptions = {}): Promise<Upstream[]> {
  return Promise.all(Array.from({ length: count }, () => Upstream.start(options)));
}

function spawnChild(options: UpstreamOptions): Promise<{ proc: ChildProcess; port: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, UPSTREAM_PORT: String(options.port ?? 0), UPSTREAM_MODE: options.mode ?? 'ok' };
  if (options.slowMs !== undefined) env.UPSTREAM_SLOW_MS = String(options.slowMs);
  // execArgv cleared: the parent may run under vitest or with --expose-gc; the child needs neither.
  const proc = fork(CHILD, [], { env, execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`upstream ${why}`));
    };
    const timer = setTimeout(() => fail(`did not listen within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    proc.once('error', (e) => fail(`failed to start: ${e.message}`));
    proc.once('exit', (code, signal) => fail(`exited before listening (code ${code}, signal ${signal})`));
    proc.on('message', function onMessage(msg: Reply) {
      if (msg.type !== 'listening') return;
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      proc.removeAllListeners('error');
      proc.off('message', onMessage);
      proc.on('error', () => {}); // a signal sent to a process that just died
      resolve({ proc, port: msg.port as number });
    });
  });
}
