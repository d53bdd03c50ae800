import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { isNinesError, NinesError } from '../core/errors.js';
import { redactText } from '../core/redact.js';

/** An error that answers with its own status code and message (never a 500). */
export class HttpError extends NinesError {
  /** HTTP status to answer with. */
  readonly statusCode: number;
  /** Extra machine-readable detail, safe to show. */
  readonly details: unknown;

  /** An error answered as `statusCode` with `{ error: message, details }`. */
  constructor(statusCode: number, message: string, details?: unknown) {
    super('NINES_HTTP_ERROR', message);
    this.statusCode = statusCode;
    this.details = details;
  }
}

/** `work`, with a failure of `what` (its PostgreSQL down) answered 503, never 500; logged without the URL. */
export async function orUnavailable<T>(request: FastifyRequest, work: Promise<T>, what: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    request.log.warn({ err: { type: (error as Error).name, message: redactText((error as Error).message) } }, `${what} unavailable`);
    throw new HttpError(503, `${what} unavailable; try again shortly`);
  }
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: string;
  details?: unknown;
}

/** Validation problems as `{ in, path, message }`, without the values that failed. */
function validationDetails(error: FastifyError): Array<{ in: string; path: string; message: string }> {
  return (error.validation ?? []).map((v) => ({
    in: error.validationContext ?? 'request',
    path: v.instancePath === '' ? String((v.params as { missingProperty?: string }).missingProperty ?? '') : v.instancePath.slice(1),
    message: v.message ?? 'is invalid',
  }));
}

/**
 * JSON errors everywhere: 400 `{ error, details }` for invalid input, the status of any 4xx error
 * or {@link HttpError},
 * 404 for unknown routes, 503 while the history store fails, and a bare 500 (logged, never shown:
 * no stack, no secrets) for the rest.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler<FastifyError>((error, request, reply) => {
    if (error.validation) {
      const body: ErrorBody = { error: 'invalid request', details: validationDetails(error) };
      return reply.code(400).send(body);
    }
    const status = error.statusCode ?? 500;
    if ((status >= 400 && status < 500) || error instanceof HttpError) {
      const body: ErrorBody = { error: error.message };
      if (error instanceof HttpError && error.details !== undefined) body.details = error.details;
      return reply.code(status).send(body);
    }
    if (isNinesError(error, 'NINES_STORE_UNAVAILABLE')) {
      // the history store is down or partitioned: the service is fine, the answer is not available yet
      request.log.warn({ err: { type: error.name, message: error.message } }, 'store unavailable');
      const body: ErrorBody = { error: 'history store unavailable; try again shortly' };
      return reply.code(503).header('retry-after', '5').send(body);
    }
    // the message may quote a connection URL: scrub passwords before it reaches the log
    request.log.error({ err: { type: error.name, message: redactText(error.message) } }, 'request failed');
    const body: ErrorBody = { error: 'internal error' };
    return reply.code(500).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = { error: `not found: ${request.method} ${request.url.split('?')[0]}` };
    return reply.code(404).send(body);
  });
}
