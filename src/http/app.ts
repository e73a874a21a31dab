import { randomUUID } from 'node:crypto';
import express, { type Request, type Response, type NextFunction } from 'express';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Orm } from '../platform/db/orm.js';
import { connectionRouter } from '../connections/routes.js';
import type { ConnectionKit } from '../connections/kit.js';
import { oauthRouter } from '../connections/oauth-routes.js';
import { anomalyRouter } from '../anomalies/routes.js';
import { webhookRouter } from '../jira-webhooks/routes.js';
import { authenticate, tokenFrom } from './auth.js';
import { ApiTokens, grants } from './tokens.js';
import type { jiraWebhookKeepAlive } from '../jira-webhooks/keep-alive.js';
import { jiraWebhooksWorkflowId } from '../jira-webhooks/messages.js';
import { JiraWebhooks } from '../jira-webhooks/receiver.js';
import { id, key, timestamp } from './schemas.js';
import { instanceJson, PrivacyRequestService, type ServiceSettings } from '../privacy-requests/service.js';
import { log } from '../platform/log.js';
import { metrics, metricsText } from '../platform/metrics.js';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { DOCS_INIT, DOCS_PAGE, openApiDocument, operations } from './openapi.js';
import { errorHandler, notFound, parse, Problem, sendProblem } from './problem.js';
import { codecRouter, type CodecRouterOptions } from './codec-routes.js';
import type { TicketWorkflowStarts } from '../privacy-requests/starts.js';
import type { ConnectionTrackers } from '../tracker/start.js';
import type { PayloadCodec } from '@temporalio/common';

export interface AppDeps {
  orm: Orm;
  temporal: Client;
  kit: ConnectionKit;
  settings: ServiceSettings;
  /** starts the ticket workflows of approvals; its owner runs its sweep and stops it */
  starts: TicketWorkflowStarts;
  /** starts and stops the connections' trackers as connections are enabled and disabled */
  trackers: ConnectionTrackers;
  tokens?: ApiTokens;
  /** /metrics: open (default), behind a read token, or off; with the Temporal SDK's metrics appended when they are exported here */
  metrics?: { mode: 'open' | 'token' | 'off'; sdkMetricsUrl?: string };
  /** The payload codec (PAYLOAD_KEYS): served at /codec for the Temporal UI when given. */
  codec?: PayloadCodec;
  codecEndpoint?: CodecRouterOptions;
}

const REQUEST_STATUSES = [
  'pending', 'identity_unverified', 'requires_manual_identity_verification', 'approved', 'in_processing', 'paused',
  'pending_external', 'requires_input', 'awaiting_email_send', 'complete', 'error', 'canceled', 'denied',
] as const;

export const privacyRequestSchema = z
  .object({
    id,
    request_type: z.enum(['access', 'erasure', 'consent', 'update']),
    status: z.enum(REQUEST_STATUSES),
    submitted_at: timestamp.nullish(),
    approved_at: timestamp.nullish(),
    due_date: timestamp.nullish(),
    policy_name: z.string().max(500).nullish(),
    identity: z
      .object({ email: z.email().max(320).nullish(), phone: z.string().regex(/^\+?[0-9 ().-]{3,40}$/, 'must be a phone number').nullish() })
      .strict()
      .nullish(),
    request_url: z.url({ protocol: /^https?$/ }).max(2000).nullish(),
  })
  .strict();

export const statusPatchSchema = z.object({ status: z.enum(REQUEST_STATUSES) }).strict();
export const submitDataSchema = z.object({ data: z.record(z.string(), z.unknown()) }).strict();
export const linkSchema = z
  .object({ ticket_key: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*-\d+$/, 'must be a Jira issue key such as PRIV-456'), connection_key: key.optional() })
  .strict();

const date = (v: string | null | undefined) => (v ? new Date(v) : null);

/** Bodies must be UTF-8 as JSON requires: bytes that are not would otherwise become U+FFFD and be stored. */
const utf8 = new TextDecoder('utf-8', { fatal: true });
const jsonBody = express.json({
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
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && !req.is('application/json')) return next(new Problem(415, 'Unsupported Media Type', 'send the body as application/json', { field: 'content-type' }));
  next();
}

/**
 * A documented path asked with a method it does not serve: 405 with `Allow` (RFC 9110 §15.5.6), not 404.
 * Runs after every route, so a method that is documented but switched off here (METRICS=off, no codec) still
 * falls through to the 404.
 */
function methodNotAllowed() {
  const byPath = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const op of operations()) {
    const entry = byPath.get(op.path) ?? { pattern: new RegExp(`^${op.path.replace(/:\w+/g, '[^/]+')}/?$`), methods: new Set<string>() };
    entry.methods.add(op.method.toUpperCase());
    if (op.method === 'get') entry.methods.add('HEAD');
    byPath.set(op.path, entry);
  }
  return (req: Request, res: Response, next: NextFunction): void => {
    const allowed = new Set([...byPath.values()].filter((e) => e.pattern.test(req.path)).flatMap((e) => [...e.methods]));
    if (allowed.size === 0 || allowed.has(req.method)) return next();
    const allow = [...allowed].join(', ');
    res.set('allow', allow);
    sendProblem(res, new Problem(405, 'Method Not Allowed', `${req.method} is not served at ${req.path}; it answers ${allow}`));
  };
}

/**
 * PostgreSQL's text and jsonb cannot hold NUL (U+0000): a NUL in an id, a name or submitted data used to reach
 * a query and come back as a 500 (or a webhook's 503). The URL is checked for every route, JSON bodies by the
 * API's routers once parsed.
 */
function refuseNulInUrl(req: Request, _res: Response, next: NextFunction): void {
  const nul = req.originalUrl.search(/%00/i);
  if (nul < 0) return next();
  const query = req.originalUrl.indexOf('?');
  next(new Problem(400, 'Bad Request', 'the URL contains a NUL character (%00)', { field: query >= 0 && nul > query ? 'query' : 'path' }));
}

function refuseNulInBody(req: Request, _res: Response, next: NextFunction): void {
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

export function createApp(deps: AppDeps) {
  const { orm, temporal } = deps;
  const service = new PrivacyRequestService(orm, temporal, deps.kit, deps.starts);
  const tokens = deps.tokens ?? new ApiTokens(orm);
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use((req: Request, res: Response, next: NextFunction) => {
    const requestId = req.get('x-request-id')?.slice(0, 100) || randomUUID();
    res.set('x-request-id', requestId);
    req.log = (level, msg, fields) => log[level](msg, { requestId, method: req.method, path: req.path, ...fields });
    const started = process.hrtime.bigint();
    // One line per request; the query string is left out (the OAuth callback carries a code and state there).
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log.info('http', { requestId, method: req.method, path: req.path, status: res.statusCode, ms });
      // The route template, not the path: ids would make a label per request.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      metrics.httpRequests.inc({ route, method: req.method, status: res.statusCode });
      metrics.httpDuration.observe({ route, method: req.method }, ms / 1000);
    });
    next();
  });

  app.use(refuseNulInUrl);

  if (deps.metrics?.mode !== 'off') {
    app.get('/metrics', async (req, res, next) => {
      if (deps.metrics?.mode === 'token') {
        const token = await tokenFrom(tokens, req);
        if (!token || !grants(token.scopes, 'read')) return next(new Problem(401, 'Unauthorized', 'metrics need a token with scope read (METRICS=token)', { field: 'header.authorization' }));
      }
      res.type('text/plain; version=0.0.4').send(await metricsText(deps.metrics?.sdkMetricsUrl));
    });
  }
  app.get('/openapi.json', (_req, res) => void res.json(openApiDocument()));
  app.get('/docs', (_req, res) => void res.type('html').send(DOCS_PAGE));
  app.get('/docs/init.js', (_req, res) => void res.type('js').send(DOCS_INIT));
  app.use('/docs/assets', express.static(dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json')), { index: false }));
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    await orm.em.getConnection().execute('select 1').then(
      () => (checks.postgres = 'ok'),
      (e: Error) => (checks.postgres = e.message),
    );
    await temporal.connection.workflowService.getSystemInfo({}).then(
      () => (checks.temporal = 'ok'),
      (e: Error) => (checks.temporal = e.message),
    );
    const ready = Object.values(checks).every((v) => v === 'ok');
    if (!ready) res.set('retry-after', '5');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });

  // Everything under /api needs a token; health, webhooks (signed) and the codec (its own check) are outside.
  app.use('/api', authenticate(tokens));

  const api = express.Router();
  api.use(jsonBody);
  api.use(requireJson, refuseNulInBody);

  api.use('/connection', connectionRouter(orm, deps.kit, deps.trackers));
  api.use(
    '/oauth/jira',
    oauthRouter(orm, deps.kit, async (connectionKey) => {
      await temporal.workflow.start<typeof jiraWebhookKeepAlive>('jiraWebhookKeepAlive', {
        workflowId: jiraWebhooksWorkflowId(connectionKey),
        taskQueue: deps.settings.taskQueue,
        args: [{ connectionKey }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        staticSummary: `Keeps the Jira webhooks of connection ${connectionKey} alive`,
      });
    }),
  );

  const requestJson = async (requestId: string) => {
    const r = await service.get(requestId);
    const instances = await service.instancesOf(requestId);
    return {
      id: r.id,
      request_type: r.requestType,
      status: r.status,
      submitted_at: r.submittedAt,
      approved_at: r.approvedAt,
      due_date: r.dueDate,
      policy_name: r.policyName,
      request_url: r.requestUrl,
      manual_tasks_completed_at: r.manualTasksCompletedAt,
      jira_tickets: instances.map(instanceJson),
    };
  };

  api.post('/privacy-request', async (req, res) => {
    const b = parse(privacyRequestSchema, req.body);
    const { created } = await service.upsert({
      id: b.id,
      requestType: b.request_type,
      status: b.status,
      submittedAt: date(b.submitted_at),
      approvedAt: date(b.approved_at) ?? (b.status === 'approved' ? new Date() : null),
      dueDate: date(b.due_date),
      policyName: b.policy_name ?? null,
      email: b.identity?.email ?? null,
      phone: b.identity?.phone ?? null,
      requestUrl: b.request_url ?? null,
    });
    res.status(created ? 201 : 200).json(await requestJson(b.id));
  });

  api.get('/privacy-request/:id', async (req, res) => {
    res.json(await requestJson(parse(id, req.params.id, 'path')));
  });

  api.patch('/privacy-request/:id', async (req, res) => {
    const requestId = parse(id, req.params.id, 'path');
    const { status } = parse(statusPatchSchema, req.body);
    await service.setStatus(requestId, status);
    res.json(await requestJson(requestId));
  });

  api.get('/privacy-request/:id/jira-tickets', async (req, res) => {
    const instances = await service.instances(parse(id, req.params.id, 'path'));
    res.json(instances.map(instanceJson));
  });

  // Link, refresh and retry answer the instance as the workflow left it (an Update); 202 when the workflow
  // takes longer than the API waits, with the instance as it stands.
  const answered = (res: Response, { instance, settled }: Awaited<ReturnType<PrivacyRequestService['refresh']>>, message: string) =>
    void res.status(settled ? 200 : 202).json({ ...instanceJson(instance), message: settled ? message : `${message}: still in progress; the instance shows the result when it is done` });

  api.post('/privacy-request/:id/jira-tickets/link', async (req, res) => {
    const requestId = parse(id, req.params.id, 'path');
    const body = parse(linkSchema, req.body);
    const result = await service.link(requestId, body.ticket_key.toUpperCase(), body.connection_key);
    answered(res, result, `Tracking ${result.instance.ticketKey ?? body.ticket_key.toUpperCase()} for instance ${result.instance.instanceId}`);
  });

  api.post('/privacy-request/:id/jira-tickets/:instance/submit-data', async (req, res) => {
    const requestId = parse(id, req.params.id, 'path');
    const { data } = parse(submitDataSchema, req.body);
    const { signalled } = await service.submitData(requestId, String(req.params.instance), data);
    if (!signalled) req.log?.('warn', 'data stored, workflow not signalled; its next poll will see it', { instanceId: req.params.instance });
    res.status(202).json({ instance_id: req.params.instance, data_submitted: true });
  });

  api.post('/privacy-request/:id/jira-tickets/:instance/refresh', async (req, res) => {
    answered(res, await service.refresh(parse(id, req.params.id, 'path'), String(req.params.instance)), 'Read from Jira just now');
  });

  api.post('/privacy-request/:id/jira-tickets/:instance/retry', async (req, res) => {
    answered(res, await service.retry(parse(id, req.params.id, 'path'), String(req.params.instance)), 'Creating the ticket again');
  });

  app.use('/api/v1', api);
  // The anomaly API keeps the reference product's paths (no /v1), so its clients can switch as they are.
  const anomalies = express.Router();
  anomalies.use(jsonBody, requireJson, refuseNulInBody);
  anomalies.use(anomalyRouter(orm, temporal, deps.kit, deps.settings));
  app.use('/api', anomalies);
  app.use('/webhooks', webhookRouter(new JiraWebhooks(orm, temporal, deps.kit.secrets, { oauthClientSecret: deps.kit.oauth?.config.clientSecret })));
  // Decrypting history is an operator's read: a token with scope read, unless the deployment says otherwise.
  const operator = async (req: Request) => {
    const token = await tokenFrom(tokens, req);
    return !!token && grants(token.scopes, 'read');
  };
  if (deps.codec) app.use('/codec', codecRouter(deps.codec, { authorize: operator, ...deps.codecEndpoint }));
  app.use(methodNotAllowed());
  app.use((req: Request, res: Response) => sendProblem(res, new Problem(404, 'Not Found', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler);
  return app;
}
