import type { NextFunction, Request, Response } from 'express';
import { grants, type ApiTokens, type Scope, type TokenInfo } from './tokens.js';
import { Problem } from './problem.js';

/**
 * The scope a request under /api needs: connections (credentials, OAuth), erasing personal data and reading
 * the audit log need admin, changes need write, reads need read. OAuth's callback is the one exception:
 * Atlassian sends the user's browser there, which cannot carry a token; the single-use `state` it must
 * present authenticates it instead.
 */
export function requiredScope(method: string, rawPath: string): Scope | null {
  // Express matches routes case-insensitively and with or without a trailing slash: so does this.
  const path = rawPath.toLowerCase().replace(/(.)\/+$/, '$1');
  if (method === 'GET' && path === '/v1/oauth/jira/callback') return null;
  if (path.startsWith('/v1/connection') || path.startsWith('/v1/oauth/') || path === '/v1/audit' || /^\/v1\/privacy-request\/[^/]+\/personal-data$/.test(path)) return 'admin';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** The bearer token's identity, if it is valid (and has `scope`). */
export async function tokenFrom(tokens: ApiTokens, req: Request): Promise<TokenInfo | null> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
  return bearer ? tokens.verify(bearer) : null;
}

export function authenticate(tokens: ApiTokens) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const needed = requiredScope(req.method, req.path);
    if (!needed) return next();
    const token = await tokenFrom(tokens, req);
    if (!token) {
      res.set('www-authenticate', 'Bearer realm="ticketflow"');
      return next(new Problem(401, 'Unauthorized', 'send Authorization: Bearer <token>; create one with `npm run token -- create --scope write --name <who>`', { field: 'header.authorization' }));
    }
    if (!grants(token.scopes, needed)) {
      return next(new Problem(403, 'Forbidden', `this route needs a token with scope "${needed}"; token ${token.id} has ${token.scopes.join(', ')}`, { field: 'header.authorization', required_scope: needed }));
    }
    req.log = ((log) => (level, msg, fields) => log?.(level, msg, { tokenId: token.id, ...fields }))(req.log);
    req.token = token;
    next();
  };
}

declare module 'express-serve-static-core' {
  interface Request {
    /** the verified token of a request under /api, which the audit log names (absent on the OAuth callback, which needs none) */
    token?: TokenInfo;
  }
}
