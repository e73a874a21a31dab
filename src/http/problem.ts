import type { NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { z } from 'zod';
import { DomainError, type DomainErrorKind } from '../platform/errors.js';

/** An RFC 9457 problem. `field` names the input at fault, `state` the state that refused the action. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

/** How each kind of domain failure is answered over HTTP: the only place that knows. */
const STATUS: Record<DomainErrorKind, [number, string]> = {
  not_found: [404, 'Not Found'],
  conflict: [409, 'Conflict'],
  invalid: [422, 'Unprocessable Content'],
  malformed: [400, 'Bad Request'],
  unauthenticated: [401, 'Unauthorized'],
  unavailable: [503, 'Service Unavailable'],
  upstream: [502, 'Bad Gateway'],
};

export function problemOf(err: DomainError): Problem {
  const [status, title] = STATUS[err.kind];
  const { errors, ...rest } = err.details;
  const extra: Record<string, unknown> = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  if (err.kind === 'invalid' && err.details.field) extra.errors = errors ?? [{ field: err.details.field, message: err.message }];
  else if (errors) extra.errors = errors;
  return new Problem(status, title, err.message, extra);
}

/** Parses input with a schema; a failure becomes a 422 that lists every field at fault. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, where: 'body' | 'path' | 'query' = 'body'): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.map((i) => ({
    field: [where, ...i.path].join('.'),
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
  }));
  throw new Problem(422, 'Unprocessable Content', errors.map((e) => `${e.field}: ${e.message}`).join('; '), {
    field: errors[0]?.field,
    errors,
  });
}

export function sendProblem(res: Response, p: Problem): void {
  if (typeof p.extra.retryAfterSeconds === 'number') res.set('retry-after', String(p.extra.retryAfterSeconds));
  res
    .status(p.status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: 'about:blank', title: p.title, status: p.status, detail: p.detail, ...p.extra }));
}

/** How an error is answered: the one mapping from failures to problems (the error handler and the audit log both use it). */
export function problemFor(err: unknown): Problem {
  if (err instanceof Problem) return err;
  if (err instanceof DomainError) return problemOf(err);
  const e = err as { type?: string; status?: number; message?: string };
  if (e.type === 'entity.parse.failed') return new Problem(400, 'Bad Request', 'request body is not valid JSON', { field: 'body' });
  if (e.type === 'entity.too.large') return new Problem(413, 'Content Too Large', 'request body is too large', { field: 'body' });
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return new Problem(415, 'Unsupported Media Type', e.message ?? 'unsupported encoding', { field: 'body' });
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return new Problem(e.status, 'Bad Request', e.message ?? 'bad request');
  if (isDatabaseUnavailable(err)) return new Problem(503, 'Service Unavailable', 'the database cannot be reached; nothing was changed, retry later', { retryAfterSeconds: 5 });
  return new Problem(500, 'Internal Server Error', 'unexpected error; see the server log');
}

export function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  const p = problemFor(err);
  if (p.status === 503 && !(err instanceof Problem) && !(err instanceof DomainError)) req.log?.('warn', 'PostgreSQL unavailable', { err });
  if (p.status === 500) req.log?.('error', 'unhandled error', { err });
  sendProblem(res, p);
}

const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'the request line and headers are larger than the server accepts (16 KiB)'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Content Too Large', 'the chunk extensions are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'the request was not received in time'],
};

/**
 * Requests Node's HTTP parser refuses before Express sees them (a URL or headers over 16 KiB, malformed HTTP)
 * get a problem too, with the status Node would send, instead of a bare status line without a body.
 */
export function problemsForClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable || socket.bytesWritten > 0) return void socket.destroy();
    const [status, title, detail] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'Bad Request', `the request is not valid HTTP (${err.code ?? 'parse error'})`];
    const body = JSON.stringify({ type: 'about:blank', title, status, detail });
    socket.end(`HTTP/1.1 ${status} ${title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
}

declare module 'express-serve-static-core' {
  interface Request {
    log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  }
}

/** PostgreSQL is down or restarting: connection refused or dropped, or the server shutting down (SQLSTATE 57P0x, 08xxx). */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const code = String(e.code ?? '');
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code) || /^(57P0[1-3]|08\d{3})$/.test(code)) return true;
    if (/Connection terminated|connect ECONNREFUSED|the database system is (starting up|shutting down)|timeout exceeded when trying to connect/i.test(String(e.message ?? ''))) return true;
  }
  return false;
}
