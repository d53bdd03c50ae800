import { connect } from 'node:net';
import { abortable } from '../../core/abort.js';
import { readable } from '../../core/redact.js';
import { checkInteger, checkString } from '../../core/validate.js';
import type { HealthCheck } from '../types.js';
import { localSource } from './http-connector.js';
import { since } from './util.js';

/** Options of {@link tcp}. */
export interface TcpOptions {
  /** Local IP address to connect from. Default: the system's choice. */
  localAddress?: string;
}

/** Passes when a TCP connection to `host:port` opens; closes it at once. Details: `connectMs`, `ip` (the address connected to). */
export function tcp(host: string, port: number, options: TcpOptions = {}): HealthCheck {
  checkString('host', host);
  checkInteger('port', port, 1, 65_535);
  const source = localSource(options.localAddress);
  return async ({ signal }) => {
    const start = performance.now();
    const socket = connect({ host, port, ...source });
    const connected = new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    try {
      await abortable(connected, signal);
      return { details: { connectMs: since(start), ip: socket.remoteAddress } };
    } catch (error) {
      throw readable(error);
    } finally {
      socket.destroy();
    }
  };
}
