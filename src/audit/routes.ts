import { z } from 'zod';
import { route, type Route } from '../http/route.js';
import { id, isoTime, timestamp } from '../http/schemas.js';
import type { AuditLog } from './log.js';

const auditQuery = z
  .object({
    /** any id the entries name: a privacy request, instance, connection, anomaly, link, ticket key or workflow id */
    target: id.optional(),
    since: timestamp.optional(),
    until: timestamp.optional(),
    /** the `next_cursor` of the previous page */
    cursor: z.string().regex(/^\d{1,18}$/, 'must be the next_cursor of the previous page').optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

const entryAnswer = z
  .object({
    id: z.number().int(),
    at: isoTime,
    actor: z.enum(['api_token', 'jira_webhook', 'oauth_redirect', 'temporal_console', 'cli', 'anonymous']),
    token_id: z.string().nullable(),
    token_name: z.string().nullable(),
    method: z.string().nullable(),
    route: z.string(),
    targets: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
    status: z.number().int().nullable(),
    temporal: z.string().nullable(),
    request_id: z.string().nullable(),
  })
  .strict();
const pageAnswer = z.object({ items: z.array(entryAnswer), next_cursor: z.string().nullable() }).strict();

/** `GET /api/v1/audit`: the audit log, oldest first, for admins. */
export function auditRoutes(audit: AuditLog): Route[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/audit',
      summary: 'The audit log: who did what to which ids, and the outcome (oldest first; page with next_cursor)',
      tag: 'operations',
      query: auditQuery,
      answers: { 200: pageAnswer },
      handler: async ({ query }) => {
        const { items, more } = await audit.list({
          target: query.target,
          since: query.since ? new Date(query.since) : undefined,
          until: query.until ? new Date(query.until) : undefined,
          after: query.cursor ? Number(query.cursor) : undefined,
          limit: query.limit,
        });
        return {
          body: {
            items: items.map((e) => ({
              id: e.id,
              at: e.at,
              actor: e.actor as z.infer<typeof entryAnswer>['actor'],
              token_id: e.tokenId ?? null,
              token_name: e.tokenName ?? null,
              method: e.method ?? null,
              route: e.route,
              targets: e.targets,
              status: e.status ?? null,
              temporal: e.temporal ?? null,
              request_id: e.requestId ?? null,
            })),
            next_cursor: more && items.length ? String(items.at(-1)!.id) : null,
          },
        };
      },
    }),
  ];
}
