// A real DNS server on 127.0.0.1 (UDP, port 0) answering from a table the test changes, built with dns-packet.
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import * as packet from 'dns-packet';

/** What the server answers for a name: records, or a failure. */
export type DnsEntry =
  | { a?: string[]; aaaa?: string[]; srv?: { target: string; port: number; priority?: number; weight?: number }[]; ttl?: number }
  | 'SERVFAIL'
  | 'NXDOMAIN'
  | 'silent';

/** A loopback DNS server; `records` is read on every query. */
export interface DnsServer {
  /** `127.0.0.1:PORT`, for `Resolver.setServers`. */
  address: string;
  records: Map<string, DnsEntry>;
  /** Queries received, as `TYPE name`. */
  queries: string[];
  close(): Promise<void>;
}

/** Starts a DNS server on a free loopback UDP port. */
export async function startDnsServer(): Promise<DnsServer> {
  const socket = createSocket('udp4');
  const records = new Map<string, DnsEntry>();
  const queries: string[] = [];
  socket.on('message', (msg, rinfo) => {
    const query = packet.decode(msg);
    const q = query.questions?.[0];
    if (q === undefined) return;
    queries.push(`${q.type} ${q.name}`);
    const entry = records.get(q.name.toLowerCase());
    if (entry === 'silent') return;
    const answers: packet.Answer[] = [];
    let rcode = 'NOERROR';
    if (entry === undefined || entry === 'NXDOMAIN') rcode = 'NXDOMAIN';
    else if (entry === 'SERVFAIL') rcode = 'SERVFAIL';
    else {
      const ttl = entry.ttl ?? 60;
      if (q.type === 'A') for (const data of entry.a ?? []) answers.push({ type: 'A', name: q.name, ttl, data });
      if (q.type === 'AAAA') for (const data of entry.aaaa ?? []) answers.push({ type: 'AAAA', name: q.name, ttl, data });
      if (q.type === 'SRV')
        for (const s of entry.srv ?? [])
          answers.push({
            type: 'SRV',
            name: q.name,
            ttl,
            data: { target: s.target, port: s.port, priority: s.priority ?? 0, weight: s.weight ?? 1 },
          });
    }
    const flags = packet.AUTHORITATIVE_ANSWER | (rcode === 'NXDOMAIN' ? 3 : rcode === 'SERVFAIL' ? 2 : 0);
    const reply = packet.encode({ id: query.id, type: 'response', flags, questions: query.questions, answers });
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    records,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
