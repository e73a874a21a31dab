import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { Orm } from '../platform/db/orm.js';
import { log } from '../platform/log.js';
import { metrics } from '../platform/metrics.js';
import type { ConnectionKit } from '../connections/kit.js';
import { connectionRoutes } from '../connections/routes.js';
import { oauthRoutes } from '../connections/oauth-routes.js';
import { AnomalyService } from '../anomalies/service.js';
import { AnomalyStarts } from '../anomalies/starts.js';
import { anomalyRoutes } from '../anomalies/routes.js';
import { JiraWebhooks } from '../jira-webhooks/receiver.js';
import { webhookRoutes } from '../jira-webhooks/routes.js';
import { refreshWebhookKeepAlive, stopWebhookKeepAlive } from '../jira-webhooks/starts.js';
import { PrivacyRequestService, type ServiceSettings } from '../privacy-requests/service.js';
import { privacyRequestRoutes } from '../privacy-requests/routes.js';
import type { TicketWorkflowStarts } from '../privacy-requests/starts.js';
import type { ConnectionTrackers } from '../tracker/starts.js';
import { authenticate, tokenFrom } from './auth.js';
import { jsonBody, methodNotAllowed, refuseNulInBody, refuseNulInUrl, requireJson } from './body.js';
import { codecGate, codecRoutes, type CodecRouterOptions } from './codec-routes.js';
import { DOCS_INIT, DOCS_PAGE, openApiDocument } from './openapi.js';
import { operationsRoutes } from './operations-routes.js';
import { errorHandler, Problem, sendProblem } from './problem.js';
import { mount, type Route } from './route.js';
import { ApiTokens, grants } from './tokens.js';
import { sessionRoutes, type TemporalUi } from './session-routes.js';
import { serveConsole } from './console.js';
import { AuditLog } from '../audit/log.js';
import { auditCalls } from '../audit/http.js';
import { auditRoutes } from '../audit/routes.js';
import { PersonalDataService } from '../personal-data/service.js';
import { personalDataRoutes } from '../personal-data/routes.js';
import { DEFAULT_PRIVACY_SETTINGS, type PrivacySettings } from '../personal-data/starts.js';

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
  /** how long personal data and audit entries are kept (PERSONAL_DATA_RETENTION_DAYS, AUDIT_LOG_RETENTION_DAYS) */
  privacy?: PrivacySettings;
  /** The Temporal UI, for the console's links to workflows; absent: no links. */
  temporalUi?: TemporalUi;
  /** Where the built console is (default: dist/console beside dist/src); served at /console. */
  consoleDir?: string;
  /** ticketflow's public URL (WEBHOOK_BASE_URL), which the webhook set-up an administrator pastes names */
  webhookBaseUrl?: () => string | undefined;
}

/**
 * Every route the API serves, declared once: served by createApp, and documented by the OpenAPI document
 * that the console's typed client is generated from at build time (tools/console/build.ts).
 */
export function apiRoutes(deps: AppDeps & { tokens: ApiTokens; audit: AuditLog }): Route[] {
  const { orm, temporal, kit, tokens, audit } = deps;
  const personal = new PersonalDataService(orm, kit.secrets.keyring, temporal, deps.settings.taskQueue, deps.privacy ?? DEFAULT_PRIVACY_SETTINGS);
  return [
    ...operationsRoutes({ orm, temporal, tokens, metrics: deps.metrics }),
    ...sessionRoutes({ oauthConfigured: !!kit.oauth.cloud, temporalUi: deps.temporalUi }),
    ...auditRoutes(audit),
    ...connectionRoutes(orm, kit, deps.trackers, {
      refresh: (connectionKey) => refreshWebhookKeepAlive(temporal, deps.settings.taskQueue, connectionKey),
      stop: (connectionKey) => stopWebhookKeepAlive(temporal, connectionKey),
      baseUrl: () => deps.webhookBaseUrl?.(),
    }),
    ...oauthRoutes(orm, kit, (connectionKey) => refreshWebhookKeepAlive(temporal, deps.settings.taskQueue, connectionKey)),
    ...privacyRequestRoutes(new PrivacyRequestService(orm, temporal, kit, deps.starts, personal)),
    ...personalDataRoutes(personal),
    ...anomalyRoutes(new AnomalyService(orm, temporal, kit, new AnomalyStarts(temporal, deps.settings))),
    ...webhookRoutes(new JiraWebhooks(orm, temporal, kit.secrets, { oauthClientSecret: kit.oauth.cloud?.clientSecret })),
    ...(deps.codec ? codecRoutes(deps.codec) : []),
  ];
}

/**
 * The HTTP API: every feature's routes, declared once (src/http/route.ts) and both served and documented
 * from that, behind the middleware they share (request ids and access log, NUL and body checks, tokens).
 */
export function createApp(deps: AppDeps) {
  const tokens = deps.tokens ?? new ApiTokens(deps.orm);
  const audit = new AuditLog(deps.orm);
  const routes = apiRoutes({ ...deps, tokens, audit });
  const document = openApiDocument(routes);

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

  // The API's description, rendered by the Swagger UI bundled with the app (no CDN).
  app.get('/openapi.json', (_req, res) => void res.json(document));
  app.get('/docs', (_req, res) => void res.type('html').send(DOCS_PAGE));
  app.get('/docs/init.js', (_req, res) => void res.type('js').send(DOCS_INIT));
  app.use('/docs/assets', express.static(dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json')), { index: false }));
  // The console: static files that hold no data (it asks the API with the token the person signs in with).
  app.use('/console', ...serveConsole(deps.consoleDir));

  // Everything under /api needs a token and a JSON body; health, webhooks (signed) and the codec (its own
  // check) are outside.
  app.use('/api', authenticate(tokens), jsonBody, requireJson, refuseNulInBody);
  // Decrypting history is an operator's read: a token with scope read, unless the deployment says otherwise.
  const operator = async (req: Request) => {
    const token = await tokenFrom(tokens, req);
    return !!token && grants(token.scopes, 'read');
  };
  if (deps.codec) app.use('/codec', ...codecGate({ authorize: operator, ...deps.codecEndpoint }));
  const router = express.Router();
  // Every state-changing call is recorded in the audit log before it is answered.
  mount(router, routes, auditCalls(audit));
  app.use(router);
  app.use(methodNotAllowed(routes));
  app.use((req: Request, res: Response) => sendProblem(res, new Problem(404, 'Not Found', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler);
  return Object.assign(app, { routes, document });
}
