import express, { type NextFunction, type Request, type Response } from 'express';
import { Problem, sendProblem } from './problem.js';
import type { Route } from './route.js';

/** Bodies must be UTF-8 as JSON requires: bytes that are not would otherwise become U+FFFD and be stored. */
const utf8 = new TextDecoder('utf-8', { fatal: true });
export const jsonBody = express.json({
  limit: '1mb',
  strict: false,
  verify: (_req, _res, buf) => {
    try {
      utf8.decode(buf);
    } catch {
      throw new Problem(400, 'Bad Request', 'request body is not valid UTF-8', { field: 'body' });
    }
  },
});

/** Action endpoints such as refresh take no body; anything with a body must be JSON. */
export function requireJson(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && !req.is('application/json')) return next(new Problem(415, 'Unsupported Media Type', 'send the body as application/json', { field: 'content-type' }));
  next();
}

/**
 * PostgreSQL's text and jsonb cannot hold NUL (U+0000): a NUL in an id, a name or submitted data used to reach
 * a query and come back as a 500 (or a webhook's 503). The URL is checked for every route, JSON bodies by the
 * API's routers once parsed.
 */
export function refuseNulInUrl(req: Request, _res: Response, next: NextFunction): void {
  const nul = req.originalUrl.search(/%00/i);
  if (nul < 0) return next();
  const query = req.originalUrl.indexOf('?');
  next(new Problem(400, 'Bad Request', 'the URL contains a NUL character (%00)', { field: query >= 0 && nul > query ? 'query' : 'path' }));
}

export function refuseNulInBody(req: Request, _res: Response, next: NextFunction): void {
  const pending: Array<[unknown, string]> = [[req.body, 'body']];
  while (pending.length) {
    const [value, field] = pending.pop()!;
    let at: string | undefined;
    if (typeof value === 'string') at = value.includes('\0') ? field : undefined;
    else if (Array.isArray(value)) value.forEach((v, i) => pending.push([v, `${field}.${i}`]));
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k.includes('\0')) at = field;
        pending.push([v, `${field}.${k}`]);
      }
    }
    if (at) return next(new Problem(422, 'Unprocessable Content', `${at}: must not contain NUL characters (\\u0000)`, { field: at, errors: [{ field: at, message: 'must not contain NUL characters (\\u0000)' }] }));
  }
  next();
}

/**
 * A served path asked with a method it does not serve: 405 with `Allow` (RFC 9110 §15.5.6), not 404. Runs
 * after every route.
 */
export function methodNotAllowed(routes: Route[]) {
  const byPath = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const r of routes) {
    const entry = byPath.get(r.path) ?? { pattern: new RegExp(`^${r.path.replace(/:\w+/g, '[^/]+')}/?$`), methods: new Set<string>() };
    entry.methods.add(r.method.toUpperCase());
    if (r.method === 'get') entry.methods.add('HEAD');
    byPath.set(r.path, entry);
  }
  return (req: Request, res: Response, next: NextFunction): void => {
    const allowed = new Set([...byPath.values()].filter((e) => e.pattern.test(req.path)).flatMap((e) => [...e.methods]));
    if (allowed.size === 0 || allowed.has(req.method)) return next();
    const allow = [...allowed].join(', ');
    res.set('allow', allow);
    sendProblem(res, new Problem(405, 'Method Not Allowed', `${req.method} is not served at ${req.path}; it answers ${allow}`));
  };
}
