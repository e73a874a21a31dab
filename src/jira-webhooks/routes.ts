import { z } from 'zod';
import type { JiraWebhooks } from './receiver.js';
import { key } from '../http/schemas.js';
import { route, type Route } from '../http/route.js';
import { DomainError, unavailable } from '../platform/errors.js';
import { problemOf } from '../http/problem.js';
import { metrics } from '../platform/metrics.js';

const outcome = z.union([
  z.object({ status: z.literal('applied'), signalled: z.number().int() }).strict(),
  z.object({ status: z.enum(['parked', 'ignored']), reason: z.string() }).strict(),
]);
const duplicate = z.object({ status: z.literal('duplicate') }).strict();
/** Jira's delivery: its issue event as JSON, verified against the exact bytes. */
const delivery = z.object({ webhookEvent: z.string().optional(), issue: z.object({}).passthrough().optional() }).passthrough();

/**
 * POST /webhooks/jira and /webhooks/jira/{connection_key}: Jira's deliveries. Open to the internet but
 * proven by signature; the body is kept raw because the signature covers its exact bytes. The reply waits
 * only for PostgreSQL and Temporal, never for Jira.
 */
export function webhookRoutes(webhooks: JiraWebhooks): Route[] {
  const receive = async (raw: unknown, headers: Record<string, string | string[] | undefined>, log: ((level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void) | undefined, connectionKey?: string) => {
    const body = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
    try {
      const result = await webhooks.receive(body, headers, connectionKey);
      metrics.webhookDeliveries.inc({ outcome: result.kind });
      log?.('info', 'jira webhook', { connection: connectionKey ?? null, ...result });
      if (Math.random() < 0.001) void webhooks.prune().catch(() => {});
      if (result.kind === 'duplicate') return { status: 200, body: { status: 'duplicate' } };
      return { body: result.kind === 'applied' ? { status: 'applied', signalled: result.signalled } : { status: result.kind, reason: result.reason } };
    } catch (err) {
      metrics.webhookDeliveries.inc({ outcome: err instanceof DomainError ? `refused_${problemOf(err).status}` : 'failed' });
      if (err instanceof DomainError) throw err;
      log?.('warn', 'webhook not applied; Jira will retry it', { err });
      throw unavailable('the delivery could not be applied now; it was not recorded, so a retry will be', 10);
    }
  };
  const common = { tag: 'webhooks' as const, body: delivery, rawBody: true, answers: { 202: outcome, 200: duplicate }, ok: 202, problems: [503], audit: { actor: 'jira_webhook' as const, temporal: 'signal ticketChanged / refresh' } };
  return [
    route({ ...common, method: 'post', path: '/webhooks/jira', summary: "Jira's webhook deliveries (X-Hub-Signature or an OAuth app's JWT)", handler: ({ body, req }) => receive(body, req.headers, req.log) }),
    route({
      ...common,
      method: 'post',
      path: '/webhooks/jira/:connectionKey',
      summary: "Jira's webhook deliveries for one connection",
      params: { connectionKey: key },
      handler: ({ params, body, req }) => receive(body, req.headers, req.log, params.connectionKey),
    }),
  ];
}
