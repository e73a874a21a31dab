import express, { type Request, type Response, type RequestHandler } from 'express';
import { z } from 'zod';
import { parse, problemFor } from './problem.js';

/** The tags of the OpenAPI document, in its order. */
export const TAGS = ['privacy requests', 'anomalies', 'connections', 'webhooks', 'operations'] as const;
export type Tag = (typeof TAGS)[number];

/** What a handler answers: a status (default: the route's first success), a JSON body or raw text, headers. */
export interface Reply {
  status?: number;
  body?: unknown;
  /** a body that is not JSON (the metrics' text, the docs page), with its content type */
  text?: { type: string; body: string };
  headers?: Record<string, string>;
}

/** A success answer's body: a zod schema for JSON, or a media type for anything else. */
export type Answer = z.ZodType | { type: string; description: string };

type Params = Record<string, z.ZodType>;
type Input<P extends Params, Q extends z.ZodType, B extends z.ZodType> = {
  params: { [K in keyof P]: z.infer<P[K]> };
  query: z.infer<Q>;
  body: z.infer<B>;
  req: Request;
  res: Response;
};

/**
 * One operation of the API, declared once: Express serves it from this, and the OpenAPI document at
 * /openapi.json is generated from the same zod schemas (requests, parameters and every answer), so neither can
 * drift from the other.
 */
export interface Route<P extends Params = Params, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express syntax (`:id`); the document writes `{id}` */
  path: string;
  summary: string;
  tag: Tag;
  /** path parameters, each parsed (a failure is a 422 naming `path`); unlisted ones are bounded strings */
  params?: P;
  query?: Q;
  body?: B;
  /** the body may be left out entirely (every field optional) */
  bodyOptional?: boolean;
  /**
   * The body arrives as bytes, not JSON (signed webhook deliveries: the signature covers the exact bytes);
   * `body` then only documents it.
   */
  rawBody?: boolean;
  /** success answers by status */
  answers: Record<number, Answer>;
  /** the status of a success unless the handler says otherwise; needed where there are several answers */
  ok?: number;
  /** problem+json answers besides the ones every route of its kind has (400/404/422, 401/403, 413/415) */
  problems?: number[];
  /**
   * The audit log (src/audit): every route that is not a GET is recorded, whatever its outcome, unless `false`
   * (a read that takes a body); a GET only with `true` or settings (the OAuth callback changes state). `temporal`:
   * the Temporal message the route sends; `actor`: who calls a route that takes no token. A handler may add
   * targets and the message it sent in `res.locals.audit`.
   */
  audit?: boolean | { temporal?: string; actor?: 'jira_webhook' | 'oauth_redirect' };
  handler: (input: Input<P, Q, B>) => Promise<Reply>;
}

/** Whether a call of the route is audited. */
export const audited = (r: Route): boolean => (r.audit === undefined ? r.method !== 'get' : r.audit !== false);

/** What a handler adds to its audit entry: ids found in the body or made by the call, the Temporal message it sent. */
export interface AuditLocals {
  targets?: Record<string, string | string[] | null | undefined>;
  temporal?: string;
}

/** Adds to the call's audit entry (ids found in its body or made by it, the Temporal message it sent). */
export function auditNote(res: Response, note: AuditLocals): void {
  const prev = (res.locals.audit ?? {}) as AuditLocals;
  res.locals.audit = { targets: { ...prev.targets, ...note.targets }, temporal: note.temporal ?? prev.temporal };
}

/** Called once a routed call has its outcome, before the answer is sent (the audit log hooks in here). */
export type Answered = (r: Route, req: Request, res: Response, status: number) => Promise<void>;

/** Declares a route; the handler's input is typed from the route's own schemas. */
export function route<P extends Params = Record<never, z.ZodType>, Q extends z.ZodType = z.ZodType<Record<string, never>>, B extends z.ZodType = z.ZodType<unknown>>(r: Route<P, Q, B>): Route {
  return r as unknown as Route;
}

const anyPathParam = z.string().min(1).max(128);

function okOf(r: Route): number {
  const statuses = Object.keys(r.answers).map(Number);
  if (r.ok) return r.ok;
  if (statuses.length === 1) return statuses[0]!;
  throw new Error(`${r.method.toUpperCase()} ${r.path} answers ${statuses.join(' or ')}: its handler must say which (or the route its ok status)`);
}
export const pathParamSchema = (r: Route, name: string): z.ZodType => r.params?.[name] ?? anyPathParam;

/**
 * Serves the routes on a router: parameters, query and body parsed with their schemas, then the handler's
 * reply. `answered` hears each call's status (a failure's too, as the error handler will answer it) before
 * anything is sent.
 */
export function mount(router: express.Router, routes: Route[], answered?: Answered): void {
  for (const r of routes) {
    const handlers: RequestHandler[] = [];
    if (r.rawBody) handlers.push(express.raw({ type: () => true, limit: '2mb' }));
    handlers.push(async (req, res) => {
      let reply: Reply;
      try {
        const names = [...r.path.matchAll(/:(\w+)/g)].map(([, n]) => n!);
        const params = Object.fromEntries(names.map((n) => [n, parse(pathParamSchema(r, n), req.params[n], 'path')]));
        const query = r.query ? parse(r.query, req.query, 'query') : {};
        const body = r.rawBody ? req.body : r.body ? parse(r.body, r.bodyOptional && req.body === undefined ? {} : req.body) : undefined;
        reply = await r.handler({ params, query, body, req, res } as never);
      } catch (err) {
        await answered?.(r, req, res, problemFor(err).status);
        throw err;
      }
      await answered?.(r, req, res, reply.status ?? okOf(r));
      if (reply.headers) res.set(reply.headers);
      res.status(reply.status ?? okOf(r));
      if (reply.text) res.type(reply.text.type).send(reply.text.body);
      else if (reply.body === undefined) res.end();
      else res.json(reply.body);
    });
    router[r.method](r.path, ...handlers);
  }
}
