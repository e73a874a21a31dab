import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import got from 'got';
import pg from 'pg';
import { NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { openDatabase, type Orm } from '../../src/platform/db/orm.js';
import { startFakeJiraProcess } from '../../tools/fake-jira/process.js';
import type { Fault, LoggedRequest } from '../../tools/fake-jira/server.js';
import type { Delivery } from '../../tools/fake-jira/webhooks.js';
import type { Cleanup } from './cleanup.js';

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests with \`npm test\` (its global setup starts PostgreSQL and Temporal)`);
  return v;
}

export const uniqueName = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;

/** A fresh database on the shared test PostgreSQL, migrated, for one test file; closed by `cleanup`. */
export async function testDatabase(cleanup: Cleanup): Promise<Orm> {
  const base = required('TEST_DATABASE_URL');
  const name = uniqueName('tf');
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return cleanup.keep(`database ${name}`, await openDatabase(url.toString(), { poolMax: 5 }), (orm) => orm.close());
}

export const workflowBundle = () => ({ codePath: required('TEST_WORKFLOW_BUNDLE') });
export const temporalAddress = () => required('TEST_TEMPORAL_ADDRESS');

let claimed: string | undefined;
/**
 * This test file's own Temporal namespace on the shared dev server, claimed from the global setup's pool (a
 * file created exclusively per namespace), so that fixed workflow ids of different files never meet.
 */
export function testNamespace(): string {
  if (claimed) return claimed;
  const dir = required('TEST_NAMESPACE_CLAIMS');
  for (const ns of required('TEST_NAMESPACES').split(',')) {
    try {
      closeSync(openSync(join(dir, ns), 'wx'));
      return (claimed = ns);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error('every test namespace is taken: more test files than namespaces; make the pool in test/global-setup.ts larger');
}

export async function temporalConnections(cleanup: Cleanup) {
  const address = temporalAddress();
  const native = cleanup.keep('Temporal worker connection', await NativeConnection.connect({ address }), (c) => c.close());
  const connection = cleanup.keep('Temporal client connection', await Connection.connect({ address }), (c) => c.close());
  const namespace = testNamespace();
  return { native, connection, namespace, client: new Client({ connection, namespace }) };
}

/** The fake Jira in its own process, checking every exchange against the OpenAPI file, with its admin API; stopped by `cleanup`. */
export async function fakeJira(cleanup: Cleanup, env: Record<string, string> = {}) {
  const proc = await startFakeJiraProcess({ port: 0, validate: true, env });
  const stop = cleanup.add(`fake Jira ${proc.url}`, () => proc.stop());
  const admin = got.extend({ prefixUrl: `${proc.url}/_fake`, responseType: 'json', retry: { limit: 0 } });
  return {
    url: proc.url,
    stop,
    /** Creates an issue as a person in Jira's UI would (webhooks fire; not counted as an API call) */
    create: async (fields: Record<string, unknown>) => (await admin.post('issues', { json: { fields } }).json()) as { id: string; key: string },
    issues: async () => (await admin.get('issues').json()) as Array<{ key: string; fields: Record<string, any>; comments: unknown[] }>,
    /** webhook: false moves the issue without telling the webhooks */
    transition: (key: string, status: 'To Do' | 'In Progress' | 'Done' | 'In Review' | "Won't Do", opts: { webhook?: boolean } = {}) => admin.post(`issues/${key}/transition`, { json: { status, ...opts } }).json(),
    remove: (key: string) => admin.delete(`issues/${key}`),
    fault: (f: Fault) => admin.post('faults', { json: f }).json(),
    clearFaults: () => admin.delete('faults'),
    requests: async () => (await admin.get('requests').json()) as LoggedRequest[],
    reset: () => admin.post('reset'),
    oauthStats: async () => (await admin.get('oauth').json()) as { authorizationCode: number; refreshToken: number; reusedRefreshTokens: number; liveAccessTokens: number },
    expireTokens: () => admin.post('oauth/expire'),
    /** Data Center: an incoming application link (OAuth 2.0): its client id and secret */
    dcOAuthClient: async (redirectUri: string) => (await admin.post('dc/oauth2-clients', { json: { name: 'ticketflow', redirectUri } }).json()) as { client_id: string; client_secret: string },
    expireDcTokens: () => admin.post('dc/oauth2/expire'),
    /** Data Center: an application link's incoming authentication (OAuth 1.0a): consumer key and public key */
    appLink: (consumerKey: string, publicKey: string) => admin.post('dc/application-links', { json: { consumerKey, publicKey } }).json(),
    dcStats: async () =>
      (await admin.get('dc').json()) as {
        oauth2: { authorizationCode: number; refreshToken: number; reusedRefreshTokens: number; pkceFailures: number; liveAccessTokens: number };
        oauth1: { requestTokens: number; accessTokens: number; signedCalls: number; refused: number };
        rateLimit: { limit: number; fillRate: number; intervalSeconds: number } | null;
      },
    /** Data Center's rate limiter (token bucket); null turns it off */
    dcRateLimit: (s: { limit: number; fillRate: number; intervalSeconds: number } | null) => admin.post('dc/rate-limit', { json: s ?? { limit: null } }).json(),
    addWebhook: async (hook: { url: string; secret?: string; events?: string[]; jqlFilter?: string }) => ((await admin.post('webhooks', { json: hook }).json()) as { id: number }).id,
    webhooks: async () =>
      (await admin.get('webhooks').json()) as Array<{ id: number; kind: 'admin' | 'dynamic'; url: string; expired?: boolean; jqlFilter: string | null; hasSecret?: boolean; registered?: boolean; name?: string }>,
    removeWebhooks: () => admin.delete('webhooks'),
    removeWebhook: (id: number) => admin.delete(`webhooks/${id}`),
    expireWebhooks: () => admin.post('webhooks/expire'),
    deliveries: async (since = 0) => (await admin.get('webhooks/deliveries', { searchParams: { since } }).json()) as Delivery[],
    stats: async () => (await admin.get('stats').json()) as FakeJiraStats,
    resetStats: () => admin.post('stats/reset'),
    rateLimit: (perSecond: number | null) => admin.post('rate-limit', { json: { perSecond } }),
    /** The fake's clock; moves it forward (advanceMs) or sets its offset from real time (offsetMs) */
    clock: async (change?: { advanceMs: number } | { offsetMs: number }) =>
      (await (change ? admin.post('clock', { json: change }) : admin.get('clock')).json()) as { now: string; offsetMs: number },
    /** The OAuth apps' hourly points quota; sets it when given (null: none) */
    quota: async (pointsPerHour?: number | null) =>
      (await (pointsPerHour === undefined ? admin.get('quota') : admin.post('quota', { json: { pointsPerHour } })).json()) as { pointsPerHour: number | null; used: Record<string, number>; resetsAt: string },
    /** How far searches lag behind changes (ms); sets it when given */
    searchLag: async (ms?: number) => ((await (ms === undefined ? admin.get('search-lag') : admin.post('search-lag', { json: { ms } })).json()) as { ms: number }).ms,
    /** Seeds issues at once (no webhooks, not API calls); keys only up to 1,000 */
    bulkCreate: async (spec: { count: number; project: string; summaryPrefix?: string; labels?: string[]; status?: string }) =>
      (await admin.post('issues/bulk', { json: spec }).json()) as { first: string; last: string; keys?: string[] },
    /** Moves `updated` of several issues (and their status, if given); webhooks only with webhook: true */
    touch: async (keys: string[], opts: { status?: string; webhook?: boolean } = {}) => (await admin.post('issues/touch', { json: { keys, ...opts } }).json()) as { touched: number },
  };
}
export type FakeJira = Awaited<ReturnType<typeof fakeJira>>;

export type { TrafficStats as FakeJiraStats } from '../../tools/fake-jira/traffic.js';

/** Polls `fn` until it returns a truthy value or the deadline passes (then fails with the last value seen). */
export async function eventually<T>(fn: () => Promise<T>, what: string, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

// Worker lifecycle chatter and access logs drown the test report; warnings and errors still show.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { setLogLevel } from '../../src/platform/log.js';
import type { TrafficStats as FakeJiraStats } from '../../tools/fake-jira/traffic.js';
Runtime.install({ logger: new DefaultLogger('WARN') });
setLogLevel('warn');
