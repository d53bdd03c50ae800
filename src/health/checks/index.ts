/**
 * Built-in health checks. Each factory validates its options at once (a TypeError naming the
 * option) and returns a {@link HealthCheck}. A check throws when it cannot measure (refused,
 * unknown host, bad password, aborted) and returns `unhealthy` with its details when it measured
 * and the figures are out of bounds. Every check stops its I/O when `signal` aborts and leaves no
 * socket, client or timer behind.
 */

export { redactUrl } from '../../core/redact.js';
export { type DiskOptions, disk } from './disk.js';
export { dns } from './dns.js';
export { type EventLoopOptions, eventLoop } from './event-loop.js';
export { type ExpectStatus, type HttpCheckOptions, type HttpTlsOptions, http } from './http.js';
export { type MemoryOptions, memory } from './memory.js';
export { type PgPoolLike, type PgQueryable, postgres } from './postgres.js';
export { type RedisCheckOptions, type RedisLike, redis } from './redis.js';
export { tcp } from './tcp.js';
export { type TlsCertificateOptions, tlsCertificate } from './tls-certificate.js';
