import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import got from 'got';
import { createApp } from '../../src/http/app.js';
import { TicketWorkflowStarts } from '../../src/privacy-requests/starts.js';
import { ConnectionTrackers, type TrackerSettings } from '../../src/tracker/starts.js';
import { connectionKit } from '../../src/connections/kit.js';
import type { OAuthConfig } from '../../src/connections/oauth.js';
import { Keyring } from '../../src/platform/keyring.js';
import { ApiTokens } from '../../src/http/tokens.js';
import { PayloadEncryptionCodec } from '../../src/platform/temporal/codec.js';
import { ticketflowClient } from '../../src/platform/temporal/client.js';
import { createWorker } from '../../src/main/build-worker.js';
import { adoptIfUnchosen } from '../../src/platform/temporal/deployments.js';
import type { Orm } from '../../src/platform/db/orm.js';
import { registerSearchAttributes } from '../../src/platform/temporal/register-search-attributes.js';
import { before } from 'node:test';
import { fakeJira, temporalConnections, testDatabase, uniqueName, workflowBundle, type FakeJira } from './infra.js';
import { fileCleanup, type Cleanup } from './cleanup.js';
import { apiContract } from './contract.js';
import { problemsForClientErrors } from '../../src/http/problem.js';

export interface Callback {
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  signatureValid: boolean;
}

/** An upstream system that receives ticketflow's signed callbacks and checks their signatures; closed by `cleanup`. */
export async function callbackReceiver(cleanup: Cleanup, secret: string) {
  const received: Callback[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const ts = String(req.headers['x-ticketflow-timestamp']);
      const sig = String(req.headers['x-ticketflow-signature'] ?? '');
      const expected = `sha256=${createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex')}`;
      const signatureValid = sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
      received.push({ headers: req.headers, body: JSON.parse(raw) as Record<string, unknown>, signatureValid });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = cleanup.add('callback receiver', () => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks`;
  return { url, received, close };
}

/**
 * The product as it runs in production, in this process: the worker (real activities) and the API on a
 * free port, against the shared Temporal dev server and the given database, on a task queue of its own.
 */
export async function startTicketflow(
  cleanup: Cleanup,
  orm: Orm,
  opts: {
    upstream?: { url: string; secret: string };
    jira?: { url: string };
    oauth?: Omit<OAuthConfig, 'gatewayUrl'>;
    startSweepMs?: number;
    dynamicWebhooks?: boolean;
    /** the trackers' cadence; by default cycles are far apart, and tests ask for one with `syncNow` */
    tracker?: Partial<Omit<TrackerSettings, 'taskQueue'>>;
    /** Jira's search lag as ticket creation assumes it (default: none, and no wait on a retry) */
    search?: { lagSeconds: number; waitOnRetry: boolean };
    /** the API's port (default: any free one); OAuth's redirect URI needs it known before the API starts */
    port?: number;
  } = {},
) {
  const { value, close } = await cleanup.assemble('ticketflow (API and worker)', async (parts) => {
    const t = await temporalConnections(parts);
    await registerSearchAttributes(t.connection, t.namespace);
    const taskQueue = uniqueName('tq');
    const secretKeys = Keyring.generateSpec('test');
    const kit = connectionKit(orm, { secretKeys, jiraTimeoutMs: 3_000, allowHttpHosts: [], gatewayUrl: opts.jira?.url ?? 'https://api.atlassian.com', oauth: opts.oauth });
    parts.add('Jira budget', () => kit.close());
    const secrets = kit.secrets;
    // Payloads are encrypted as in production, with keys of this test file's own.
    const payloadKeys = PayloadEncryptionCodec.generateSpec('test');
    const codec = new PayloadEncryptionCodec(payloadKeys);
    const client = ticketflowClient(t.connection, t.namespace, codec);
    const settings = { taskQueue, createMaxAttempts: 3 };
    const starts = new TicketWorkflowStarts(orm, client, settings, { sweepMs: opts.startSweepMs }).start();
    parts.add('workflow starts', () => starts.stop());
    const trackerSettings: TrackerSettings = { taskQueue, intervalMinutes: 24 * 60, webhookIntervalMinutes: 24 * 60, overlapMinutes: 5, reconcileIntervalMinutes: 7 * 24 * 60, ...opts.tracker };
    // Started by connection changes (PATCH /connection), as in production; no periodic pass in tests.
    const trackers = new ConnectionTrackers(orm, client, trackerSettings);
    let base = '';
    const app = createApp({
      orm,
      temporal: client,
      kit,
      settings,
      starts,
      trackers,
      codec,
      temporalUi: { url: 'http://localhost:8233', namespace: t.namespace },
      webhookBaseUrl: () => (opts.dynamicWebhooks ? base : undefined),
    });
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(opts.port ?? 0, '127.0.0.1', () => resolve(s));
    });
    parts.add('API server', () => new Promise<void>((r) => server.close(() => r())));
    problemsForClientErrors(server);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A deployment of its own, whose first version becomes current by itself, as a new cluster's does.
    const version = { deploymentName: uniqueName('ticketflow'), buildId: 'test' };
    const worker = await createWorker({
      connection: t.native,
      namespace: t.namespace,
      taskQueue,
      workflowBundle: workflowBundle(),
      version,
      orm,
      kit,
      temporal: client,
      upstream: opts.upstream ?? {},
      search: opts.search,
      // OAuth connections then register dynamic webhooks that deliver to this API
      webhookBaseUrl: opts.dynamicWebhooks ? base : undefined,
      dataConverter: { payloadCodecs: [codec] },
    });
    const running = worker.run();
    parts.add('worker', async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });
    const adopted = await adoptIfUnchosen(client, version, taskQueue);
    if (adopted.made !== 'current') throw new Error(`the test worker's version did not become current: ${JSON.stringify(adopted)}`);
    const tokens = new ApiTokens(orm);
    const { token } = await tokens.create('tests', ['admin']);
    /** The API without credentials; `http` is the same with an admin token. */
    // Every answer the tests receive is checked against the OpenAPI document the API serves.
    const contract = apiContract(app.document as never);
    const httpWith = (headers: Record<string, string>) =>
      got.extend({ prefixUrl: base, throwHttpErrors: false, retry: { limit: 0 }, responseType: 'json', headers, hooks: { afterResponse: [(res) => contract.hook(res)] } });
    const anonymous = httpWith({});
    const http = httpWith({ authorization: `Bearer ${token}` });
    return { base, http, anonymous, tokens, app, kit, settings, starts, trackers, client, taskQueue, secrets, secretKeys, codec, payloadKeys };
  });
  return { ...value, stop: close };
}
export type Ticketflow = Awaited<ReturnType<typeof startTicketflow>>;

/** Creates (or updates) a Jira connection through the API, pointing at the given Jira. */
export async function configureConnection(tf: Ticketflow, key: string, jiraUrl: string, extra: Record<string, unknown> = {}) {
  const a = await tf.http.patch('api/v1/connection', { json: [{ key, name: `Jira ${key}`, connection_type: 'jira_ticket', access: 'write' }] });
  if (a.statusCode !== 200) throw new Error(`PATCH connection: ${a.statusCode} ${JSON.stringify(a.body)}`);
  const b = await tf.http.put(`api/v1/connection/${key}/secret`, {
    json: {
      domain: jiraUrl,
      username: 'bot@example.com',
      api_key: 'secret-token-123',
      project_key: 'PRIV',
      issue_type: 'Task',
      summary_template: 'DSR: __REQUEST_TYPE__ for __EMAIL__',
      description_template: 'Request __REQUEST_ID__ submitted on __SUBMISSION_DATE__.',
      due_date_config: { type: 'fixed_days', days: 30 },
      ...extra,
    },
  });
  if (b.statusCode !== 200) throw new Error(`PUT secret: ${b.statusCode} ${JSON.stringify(b.body)}`);
}

export { approvedRequest } from '../../tools/dev-stack/sample-request.js';

export interface StackContext {
  orm: Orm;
  /** the fake Jira that connection "jira" points at; accepts any credentials */
  jira: FakeJira;
  /** a second fake Jira that accepts only bot@example.com / STRICT_TOKEN, or the personal access token STRICT_PAT */
  strictJira: FakeJira;
  tf: Ticketflow;
}
export const STRICT_TOKEN = 'the-right-token';
/** the OAuth app's client secret: the fake Jira signs dynamic webhook deliveries with it */
export const OAUTH_CLIENT_SECRET = 'client-secret';
export const STRICT_PAT = 'pat-0123456789';
/** valid credentials on the first fake Jira, but without any permission (403) */
export const FORBIDDEN_USER = 'readonly@example.com';

/**
 * Registers before/after hooks that bring up, for one test file: its own database, two fake Jira processes,
 * and ticketflow (worker + API) with a connection "jira" configured against the first.
 */
export function useStack(
  opts: { upstream?: { url: string; secret: string } | (() => { url: string; secret: string }); startSweepMs?: number; dynamicWebhooks?: boolean; search?: { lagSeconds: number; waitOnRetry: boolean } } = {},
): StackContext {
  const ctx = {} as StackContext;
  const cleanup = fileCleanup();
  before(async () => {
    [ctx.orm, ctx.jira, ctx.strictJira] = await Promise.all([
      testDatabase(cleanup),
      // It signs dynamic webhook deliveries with the OAuth app's secret, as Jira does.
      fakeJira(cleanup, { FAKE_JIRA_FORBIDDEN_USER: FORBIDDEN_USER, FAKE_JIRA_OAUTH_CLIENT_SECRET: OAUTH_CLIENT_SECRET }),
      fakeJira(cleanup, { FAKE_JIRA_USERNAME: 'bot@example.com', FAKE_JIRA_API_TOKEN: STRICT_TOKEN, FAKE_JIRA_PAT: STRICT_PAT }),
    ]);
    const upstream = typeof opts.upstream === 'function' ? opts.upstream() : opts.upstream;
    // The first fake Jira doubles as Atlassian's API gateway and authorization server.
    ctx.tf = await startTicketflow(cleanup, ctx.orm, {
      upstream,
      startSweepMs: opts.startSweepMs,
      dynamicWebhooks: opts.dynamicWebhooks,
      search: opts.search,
      jira: ctx.jira,
      oauth: { clientId: 'ticketflow-test', clientSecret: OAUTH_CLIENT_SECRET, redirectUri: 'http://127.0.0.1/api/v1/oauth/jira/callback', authUrl: ctx.jira.url },
    });
    await configureConnection(ctx.tf, 'jira', ctx.jira.url);
  });
  return ctx;
}
