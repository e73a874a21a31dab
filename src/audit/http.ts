import type { Request, Response } from 'express';
import { audited, type Answered, type AuditLocals, type Route } from '../http/route.js';
import type { AuditLog } from './log.js';

/** Path parameters by name, as the kinds of ids the audit log files them under. */
const KIND: Record<string, string> = {
  id: 'privacy_request',
  instance: 'instance',
  key: 'connection',
  connectionKey: 'connection',
  anomaly_id: 'anomaly',
  link_id: 'link',
  ticket_id: 'ticket',
  project: 'project',
};

/**
 * Records every audited call (see Route.audit) once its outcome is known and before it is answered: the
 * token's id and name, the route template, the ids in its path and those the handler added, the status, and
 * the Temporal message it sent. Never the body, the query string or any personal data. Calls refused before
 * they reach a route (no or a bad token, a body that is not JSON) are in the access log only.
 */
export function auditCalls(audit: AuditLog): Answered {
  return async (r: Route, req: Request, res: Response, status: number) => {
    if (!audited(r)) return;
    const spec = typeof r.audit === 'object' ? r.audit : {};
    const locals = (res.locals.audit ?? {}) as AuditLocals;
    const targets: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.params ?? {})) if (typeof value === 'string' && value) targets[KIND[name] ?? name] = value;
    for (const [kind, value] of Object.entries(locals.targets ?? {})) if (value && value.length) targets[kind] = value;
    await audit.record({
      actor: req.token ? 'api_token' : (spec.actor ?? 'anonymous'),
      tokenId: req.token?.id,
      tokenName: req.token?.name,
      method: r.method.toUpperCase(),
      route: `${r.method.toUpperCase()} ${r.path}`,
      targets,
      status,
      temporal: locals.temporal ?? spec.temporal ?? null,
      requestId: res.get('x-request-id') ?? null,
    });
  };
}

