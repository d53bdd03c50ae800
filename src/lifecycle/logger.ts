import type { Clock } from '../core/clock.js';

/** The pino-compatible logger shutdown reports to: pass a pino instance, or any object with these three methods. */
export interface ShutdownLogger {
  /** A normal step of the shutdown. */
  info(obj: object, msg: string): void;
  /** Something was cut or took too long. */
  warn(obj: object, msg: string): void;
  /** A hook failed or the exit was forced. */
  error(obj: object, msg: string): void;
}

// pino's numeric levels, so pino-pretty and log pipelines read these lines like pino's own.
const LEVELS = { info: 30, warn: 40, error: 50 } as const;

/** A {@link ShutdownLogger} writing one pino-style JSON line per event through `write` (default: stderr). */
export function jsonLogger(clock: Clock, write: (line: string) => void = (line) => process.stderr.write(line)): ShutdownLogger {
  const log = (level: keyof typeof LEVELS) => (obj: object, msg: string) =>
    write(`${JSON.stringify({ level: LEVELS[level], time: clock.now(), name: 'nines-shutdown', ...obj, msg })}\n`);
  return { info: log('info'), warn: log('warn'), error: log('error') };
}
