import express from 'express';
import { JiraWebhooks, WebhookError } from './receiver.js';
import { Problem } from '../http/problem.js';
import { metrics } from '../platform/metrics.js';

const TITLES = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found' } as const;

/**
 * POST /webhooks/jira and /webhooks/jira/{connection_key}: Jira's deliveries. Open to the internet but
 * proven by signature; the body is kept raw because the signature covers its exact bytes. The reply waits
 * only for PostgreSQL and Temporal, never for Jira.
 */
export function webhookRouter(webhooks: JiraWebhooks): express.Router {
  const r = express.Router();
  r.post(['/jira', '/jira/:connectionKey'], express.raw({ type: () => true, limit: '2mb' }), async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    try {
      const outcome = await webhooks.receive(body, req.headers, req.params.connectionKey as string | undefined);
      metrics.webhookDeliveries.inc({ outcome: outcome.kind });
      req.log?.('info', 'jira webhook', { connection: req.params.connectionKey ?? null, ...outcome });
      if (Math.random() < 0.001) void webhooks.prune().catch(() => {});
      if (outcome.kind === 'duplicate') return void res.status(200).json({ status: 'duplicate' });
      res.status(202).json(outcome.kind === 'applied' ? { status: 'applied', signalled: outcome.signalled } : { status: outcome.kind, reason: outcome.reason });
    } catch (err) {
      metrics.webhookDeliveries.inc({ outcome: err instanceof WebhookError ? `refused_${err.status}` : 'failed' });
      if (err instanceof WebhookError) throw new Problem(err.status, TITLES[err.status], err.message, { field: err.status === 401 ? 'header.x-hub-signature' : err.status === 404 ? 'path.connection_key' : 'body' });
      req.log?.('warn', 'webhook not applied; Jira will retry it', { err });
      throw new Problem(503, 'Service Unavailable', 'the delivery could not be applied now; it was not recorded, so a retry will be', { retryAfterSeconds: 10 });
    }
  });
  return r;
}
