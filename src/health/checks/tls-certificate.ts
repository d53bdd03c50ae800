import { isIP } from 'node:net';
import { connect, type PeerCertificate } from 'node:tls';
import { abortable } from '../../core/abort.js';
import { type Clock, systemClock } from '../../core/clock.js';
import { readable } from '../../core/redact.js';
import { checkInteger, checkNumber, checkString } from '../../core/validate.js';
import type { CheckOutcome, HealthCheck } from '../types.js';
import { localSource } from './http-connector.js';

const DAY = 86_400_000;

/** Options of {@link tlsCertificate}. */
export interface TlsCertificateOptions {
  /** Port to connect to. Default 443. */
  port?: number;
  /** Unhealthy when the certificate expires in fewer days than this (or has expired). Default 14. */
  minDaysLeft?: number;
  /** Degraded when it expires in fewer days than this. Default `2 × minDaysLeft`; 0 turns it off. */
  degradedDaysLeft?: number;
  /** SNI name to ask for. Default `host` (none when `host` is an IP address, as RFC 6066 requires). */
  servername?: string;
  /**
   * Fail when the chain is not trusted or does not match the name. Default false: this check is about
   * expiry, so it reads self-signed and private-CA certificates too and reports trust in `authorized`.
   */
  rejectUnauthorized?: boolean;
  /** Local IP address to connect from. Default: the system's choice. */
  localAddress?: string;
  /** Source of "now" for the days left. Default `systemClock`. */
  clock?: Clock;
}

/**
 * Reads the certificate `host` presents and checks how long it has left. Details: `daysLeft`,
 * `validTo` (ISO), `subject`, `issuer`, `authorized` (and `authorizationError` when not trusted).
 */
export function tlsCertificate(host: string, options: TlsCertificateOptions = {}): HealthCheck {
  checkString('host', host);
  const port = checkInteger('port', options.port ?? 443, 1, 65_535);
  const minDaysLeft = checkNumber('minDaysLeft', options.minDaysLeft ?? 14);
  const degradedDaysLeft = checkNumber('degradedDaysLeft', options.degradedDaysLeft ?? 2 * minDaysLeft);
  if (options.servername !== undefined) checkString('servername', options.servername);
  const servername = options.servername ?? (isIP(host) ? undefined : host);
  const rejectUnauthorized = options.rejectUnauthorized ?? false;
  const clock = options.clock ?? systemClock;
  const source = localSource(options.localAddress);

  return async ({ signal }) => {
    const socket = connect({ host, port, servername, rejectUnauthorized, ...source });
    const handshake = new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    let certificate: PeerCertificate;
    try {
      await abortable(handshake, signal);
      certificate = socket.getPeerCertificate();
    } catch (error) {
      throw readable(error);
    } finally {
      socket.destroy();
    }
    if (!certificate.valid_to) throw new Error(`${host}:${port} presented no certificate`);

    const validTo = new Date(certificate.valid_to);
    const validFrom = new Date(certificate.valid_from);
    const now = clock.now();
    const daysLeft = Math.floor((validTo.getTime() - now) / DAY);
    const details: Record<string, unknown> = {
      daysLeft,
      validTo: validTo.toISOString(),
      subject: formatName(certificate.subject),
      issuer: formatName(certificate.issuer),
      authorized: socket.authorized,
    };
    if (!socket.authorized && socket.authorizationError) details.authorizationError = String(socket.authorizationError);
    return verdict(details, now, validFrom, validTo, daysLeft, minDaysLeft, degradedDaysLeft);
  };
}

function verdict(
  details: Record<string, unknown>,
  now: number,
  validFrom: Date,
  validTo: Date,
  daysLeft: number,
  min: number,
  degraded: number,
): CheckOutcome {
  if (validTo.getTime() <= now) return { status: 'unhealthy', error: `certificate expired on ${validTo.toISOString()}`, details };
  if (validFrom.getTime() > now)
    return { status: 'unhealthy', error: `certificate is not valid before ${validFrom.toISOString()}`, details };
  if (daysLeft < min) return { status: 'unhealthy', error: `certificate expires in ${daysLeft} days (minDaysLeft ${min})`, details };
  if (daysLeft < degraded)
    return { status: 'degraded', error: `certificate expires in ${daysLeft} days (degradedDaysLeft ${degraded})`, details };
  return { details };
}

/** `{ CN: 'example.com', O: 'Acme' }` → `CN=example.com, O=Acme`. */
function formatName(name: Record<string, string | string[] | undefined> | undefined): string {
  if (!name) return '';
  return Object.entries(name)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : value}`)
    .join(', ');
}
