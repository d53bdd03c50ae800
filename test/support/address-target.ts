/**
 * An HTTP target on loopback that answers by the client's address: 200 by default, 503 for the
 * addresses in `failing`, no answer at all for those in `hanging`. Each HA instance under test
 * probes from its own source address (127.0.0.2, .3, …), so one network path can fail alone.
 * In-process with {@link startAddressTarget}; in a process of its own with
 * {@link startAddressTargetProcess} (driven over HTTP from 127.0.0.1: `PUT /__paths`, `GET /__seen`).
 * Only node: imports, so plain node runs it as a child.
 */
import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface AddressTarget {
  /** `http://127.0.0.1:<port>`; any path answers. */
  url: string;
  /** Client addresses answered with 503. */
  failing: Set<string>;
  /** Client addresses never answered (their checks time out). */
  hanging: Set<string>;
  /** Paths answered with 503 whoever asks: a real outage of those components. */
  down: Set<string>;
  /** Requests seen, by client address. */
  seen: Map<string, number>;
  close(): Promise<void>;
}

/** The paths of a target in another process: set them with `paths`, read what it saw with `seen`. */
export interface AddressTargetProcess {
  url: string;
  paths(p: { failing?: string[]; hanging?: string[]; down?: string[] }): Promise<void>;
  seen(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export async function startAddressTarget(port = 0): Promise<AddressTarget> {
  const failing = new Set<string>();
  const hanging = new Set<string>();
  const down = new Set<string>();
  const seen = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const from = req.socket.remoteAddress ?? '';
    if (req.url?.startsWith('/__') && from === '127.0.0.1') return control(req.method ?? 'GET', req.url, req, res);
    seen.set(from, (seen.get(from) ?? 0) + 1);
    if (hanging.has(from)) return; // left open: the check's timeout ends it
    const failed = failing.has(from) || down.has(req.url ?? '');
    res.writeHead(failed ? 503 : 200, { 'content-type': 'text/plain' }).end(failed ? 'down\n' : 'ok\n');
  });
  const control = (method: string, url: string, req: NodeJS.ReadableStream, res: import('node:http').ServerResponse) => {
    if (method === 'GET' && url === '/__seen') return res.end(JSON.stringify(Object.fromEntries(seen)));
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const p = JSON.parse(body || '{}') as { failing?: string[]; hanging?: string[]; down?: string[] };
      for (const [set, list] of [
        [failing, p.failing],
        [hanging, p.hanging],
        [down, p.down],
      ] as const) {
        set.clear();
        for (const a of list ?? []) set.add(a);
      }
      res.end('{}');
    });
  };
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    failing,
    hanging,
    down,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The target in a child process, so a stall of the test's own process fails no check. */
export async function startAddressTargetProcess(): Promise<AddressTargetProcess> {
  const child = fork(fileURLToPath(import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`address target exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    paths: async (p) => {
      await (await fetch(`${url}/__paths`, { method: 'PUT', body: JSON.stringify(p) })).text();
    },
    seen: async () => (await (await fetch(`${url}/__seen`)).json()) as Record<string, number>,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

if (process.send !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = await startAddressTarget();
  process.send({ port: Number(new URL(target.url).port) });
  process.on('disconnect', () => process.exit(0));
}
