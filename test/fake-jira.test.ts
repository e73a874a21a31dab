import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import got, { type Got } from 'got';
import { eventually, fakeJira, type FakeJira } from './helpers/infra.js';
import { fileCleanup } from './helpers/cleanup.js';

/**
 * The fake Jira's own features for the product's sync and for benchmarks: bulk fetch, webhooks, call counting, rate
 * limit; Jira Cloud's 2026 limits (points, the hourly quota per app, burst and per-issue write limits, 429 reasons and
 * their Beta headers), the clock, the lagging search index, the tracker's JQL, approximate-count, bulk seeding.
 */

const CLIENT_SECRET = 'the-oauth-app-secret';
let jira: FakeJira;
let basic: Got;

const cleanup = fileCleanup();
before(async () => {
  jira = await fakeJira(cleanup, { FAKE_JIRA_OAUTH_CLIENT_SECRET: CLIENT_SECRET, FAKE_JIRA_WEBHOOK_BACKOFF_MS: '50' });
  basic = got.extend({ prefixUrl: `${jira.url}/rest/api/3`, username: 'bot@example.com', password: 't', responseType: 'json', throwHttpErrors: false, retry: { limit: 0 } });
});

const createIssue = async (summary: string, project = 'PRIV') => {
  const r = await basic.post('issue', { json: { fields: { project: { key: project }, issuetype: { name: 'Task' }, summary, labels: ['fake-jira-test'] } } });
  assert.equal(r.statusCode, 201);
  return r.body as any as { id: string; key: string };
};

/** An OAuth 2.0 (3LO) access token for an app, the way the product gets one: consent, then the code exchange. */
async function oauthClient(clientId: string): Promise<Got> {
  const consent = await got.get(`${jira.url}/authorize`, {
    searchParams: { response_type: 'code', client_id: clientId, redirect_uri: 'http://127.0.0.1:9/callback', state: 's' },
    followRedirect: false,
  });
  const code = new URL(consent.headers.location!).searchParams.get('code');
  const token = (await got
    .post(`${jira.url}/oauth/token`, { json: { grant_type: 'authorization_code', client_id: clientId, client_secret: CLIENT_SECRET, code, redirect_uri: 'http://127.0.0.1:9/callback' } })
    .json()) as { access_token: string };
  return got.extend({
    prefixUrl: `${jira.url}/ex/jira/fake-cloud-id/rest/api/3`,
    headers: { authorization: `Bearer ${token.access_token}` },
    responseType: 'json',
    throwHttpErrors: false,
    retry: { limit: 0 },
  });
}

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: any;
}

/** A webhook receiver; `replies` are the statuses it answers next (then 204). */
async function receiver() {
  const received: Received[] = [];
  const replies: number[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      received.push({ headers: req.headers, raw, body: JSON.parse(raw) });
      res.writeHead(replies.shift() ?? 204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jira-events`,
    received,
    replies,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const violations = async () => (await jira.requests()).flatMap((r) => r.violations);

describe('bulk fetch', () => {
  test('returns existing issues in id order with the asked fields, leaves deleted and unknown ones out', async () => {
    const [a, b, c] = [await createIssue('bulk a'), await createIssue('bulk b'), await createIssue('bulk c')];
    await jira.transition(b.key, 'Done');
    await jira.remove(c.key);
    const r = await basic.post('issue/bulkfetch', {
      json: { issueIdsOrKeys: [b.id, a.key.toLowerCase(), c.key, 'NOPE-999'], fields: ['status', 'resolution', 'assignee', 'updated', 'summary'] },
    });
    assert.equal(r.statusCode, 200);
    const body = r.body as any as { issues: Array<{ id: string; key: string; fields: Record<string, any> }>; issueErrors: unknown[] };
    assert.deepEqual(body.issues.map((i) => i.key), [a.key, b.key]);
    assert.deepEqual(body.issueErrors, []);
    assert.deepEqual(Object.keys(body.issues[0]!.fields).sort(), ['assignee', 'resolution', 'status', 'summary', 'updated']);
    const done = body.issues[1]!.fields;
    assert.equal(done.status.name, 'Done');
    assert.equal(done.status.statusCategory.key, 'done');
    assert.equal(done.resolution.name, 'Done');
    assert.equal(done.assignee, null);
  });

  test('works through the gateway; more than 100 ids is a 400', async () => {
    const a = await createIssue('bulk gateway');
    const app = await oauthClient('bulk-app');
    const r = await app.post('issue/bulkfetch', { json: { issueIdsOrKeys: [a.key] } });
    assert.equal(r.statusCode, 200);
    assert.equal((r.body as any).issues[0].fields.summary, 'bulk gateway');
    const many = Array.from({ length: 101 }, (_, n) => `PRIV-${n + 1}`);
    const tooMany = await basic.post('issue/bulkfetch', { json: { issueIdsOrKeys: many } });
    assert.equal(tooMany.statusCode, 400);
    assert.match((tooMany.body as any).errorMessages[0], /100/);
    const logged = (await jira.requests()).at(-1)!;
    // A bulk fetch's 100 keys stay in the log (benchmarks count reads from it); anything longer is cut.
    assert.deepEqual((logged.body as any).issueIdsOrKeys.slice(-2), ['PRIV-100', '… 1 more'], 'a list over 100 is cut in the request log');
    assert.deepEqual(await violations(), []);
  });

  test('Data Center has no bulk fetch; its search takes key in (…) and skips unknown keys only without validation', async () => {
    const a = await createIssue('dc search');
    const dc = basic.extend({ prefixUrl: `${jira.url}/rest/api/2` });
    assert.equal((await dc.post('issue/bulkfetch', { json: { issueIdsOrKeys: [a.key] } })).statusCode, 404);
    const jql = `key in (${a.key}, PRIV-99999)`;
    const strict = await dc.post('search', { json: { jql } });
    assert.equal(strict.statusCode, 400);
    assert.match((strict.body as any).errorMessages[0], /PRIV-99999/);
    const lenient = await dc.post('search', { json: { jql, validateQuery: false, fields: ['status'], maxResults: 100 } });
    assert.equal(lenient.statusCode, 200);
    assert.deepEqual((lenient.body as any).issues.map((i: any) => i.key), [a.key]);
    assert.equal((lenient.body as any).total, 1);
  });
});

describe('dynamic webhooks (OAuth apps)', () => {
  test('Basic auth callers are refused: only apps may manage dynamic webhooks', async () => {
    for (const r of [await basic.get('webhook'), await basic.post('webhook', { json: { url: 'http://127.0.0.1:9/x', webhooks: [{ events: ['jira:issue_updated'], jqlFilter: 'project = PRIV' }] } })]) {
      assert.equal(r.statusCode, 403);
      assert.match((r.body as any).errorMessages[0], /apps/);
    }
  });

  test('register, list, refresh, deliver signed with the app secret, expire, delete', async () => {
    const app = await oauthClient('sync-app');
    const other = await oauthClient('other-app');
    const hook = await receiver();
    try {
      const reg = await app.post('webhook', {
        json: {
          url: hook.url,
          webhooks: [
            { events: ['jira:issue_updated', 'jira:issue_deleted'], jqlFilter: 'project = SCRUM', fieldIdsFilter: ['status'] },
            { events: [], jqlFilter: 'project = SCRUM' },
          ],
        },
      });
      assert.equal(reg.statusCode, 200);
      const [ok, refused] = (reg.body as any).webhookRegistrationResult;
      assert.ok(Number.isInteger(ok.createdWebhookId));
      assert.ok(refused.errors.length > 0);
      const id = ok.createdWebhookId as number;

      const list = (await app.get('webhook')).body as any;
      assert.deepEqual(list.values.map((v: any) => [v.id, v.jqlFilter, v.events]), [[id, 'project = SCRUM', ['jira:issue_updated', 'jira:issue_deleted']]]);
      const days = (list.values[0].expirationDate - Date.now()) / 86_400_000;
      assert.ok(days > 29.9 && days <= 30, `expires in ${days} days`);
      assert.equal(((await other.get('webhook')).body as any).total, 0, 'another app does not see it');

      const refreshed = await app.put('webhook/refresh', { json: { webhookIds: [id] } });
      assert.equal(refreshed.statusCode, 200);
      assert.ok((refreshed.body as any).expirationDate >= list.values[0].expirationDate);

      // Only SCRUM issues match the filter; the PRIV one is not delivered.
      const priv = await createIssue('not for the app');
      const scrum = await createIssue('for the app', 'SCRUM');
      await jira.transition(priv.key, 'In Progress');
      await jira.transition(scrum.key, 'In Progress');
      const got1 = await eventually(async () => hook.received[0], 'the dynamic webhook delivery');
      assert.equal(got1.body.webhookEvent, 'jira:issue_updated');
      assert.equal(got1.body.issue.key, scrum.key);
      const [header, payload, signature] = String(got1.headers.authorization).replace(/^Bearer /, '').split('.');
      assert.equal(createHmac('sha256', CLIENT_SECRET).update(`${header}.${payload}`).digest('base64url'), signature, 'JWT signed HS256 with the client secret');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      assert.equal(claims.iss, 'sync-app');
      assert.equal(claims.exp - claims.iat, 180);

      // Expired webhooks stop delivering and are gone for the app (it has to register again).
      await jira.expireWebhooks();
      await jira.transition(scrum.key, 'Done');
      await sleep(300);
      assert.equal(hook.received.length, 1);
      assert.equal(((await app.get('webhook')).body as any).total, 0);

      const again = ((await app.post('webhook', { json: { url: hook.url, webhooks: [{ events: ['jira:issue_deleted'], jqlFilter: '' }] } })).body as any).webhookRegistrationResult[0].createdWebhookId;
      await jira.remove(scrum.key);
      const deleted = await eventually(async () => hook.received.find((r) => r.body.webhookEvent === 'jira:issue_deleted'), 'the deletion');
      assert.equal(deleted.body.issue.key, scrum.key);

      assert.equal((await app.delete('webhook', { json: { webhookIds: [again] } })).statusCode, 202);
      assert.equal(((await app.get('webhook')).body as any).total, 0);
      assert.deepEqual(await violations(), []);
    } finally {
      await hook.close();
    }
  });
});

describe('admin webhooks and deliveries', () => {
  test('a transition reaches a secret webhook signed over the raw body, and a 500 is retried with the same identifier', async () => {
    const secret = 'admin-hook-secret';
    const hook = await receiver();
    const since = (await jira.deliveries()).at(-1)?.seq ?? 0;
    const id = await jira.addWebhook({ url: hook.url, secret, events: ['jira:issue_updated'] });
    try {
      const issue = await createIssue('watched');
      hook.replies.push(500);
      await jira.transition(issue.key, 'Done');
      await eventually(async () => hook.received.length >= 2 && hook.received, 'the retry');
      const [first, retry] = hook.received as [Received, Received];
      for (const r of [first, retry]) {
        assert.equal(r.headers['content-type'], 'application/json');
        assert.equal(r.headers['x-hub-signature'], `sha256=${createHmac('sha256', secret).update(r.raw).digest('hex')}`);
      }
      assert.ok(first.headers['x-atlassian-webhook-identifier']);
      assert.equal(retry.headers['x-atlassian-webhook-identifier'], first.headers['x-atlassian-webhook-identifier']);
      assert.equal(first.headers['x-atlassian-webhook-retry'], undefined);
      assert.equal(retry.headers['x-atlassian-webhook-retry'], '1');
      assert.equal(retry.raw, first.raw);

      const body = first.body;
      assert.equal(body.webhookEvent, 'jira:issue_updated');
      assert.equal(body.issue_event_type_name, 'issue_generic');
      assert.equal(body.user.accountId, 'fake-human');
      assert.equal(body.issue.key, issue.key);
      assert.equal(body.issue.fields.status.name, 'Done');
      assert.equal(body.issue.fields.status.statusCategory.key, 'done');
      assert.equal(body.issue.fields.resolution.name, 'Done');
      assert.deepEqual(
        body.changelog.items.map((i: any) => [i.field, i.fromString, i.toString]),
        [['status', 'To Do', 'Done'], ['resolution', null, 'Done']],
      );

      const log = (await jira.deliveries(since)).filter((d) => d.webhookId === id);
      assert.deepEqual(log.map((d) => [d.attempt, d.status, d.issueKey, d.event]), [[1, 500, issue.key, 'jira:issue_updated'], [2, 204, issue.key, 'jira:issue_updated']]);
      assert.equal(new Set(log.map((d) => d.identifier)).size, 1);

      // A benchmark moves issues quietly and sends its own deliveries.
      await jira.transition(issue.key, 'To Do', { webhook: false });
      await sleep(300);
      assert.equal(hook.received.length, 2);
    } finally {
      await jira.removeWebhooks();
      await hook.close();
    }
  });

  test('creations and comments are delivered too; a receiver that never answers 2xx gets the configured retries', async () => {
    const hook = await receiver();
    await jira.addWebhook({ url: hook.url });
    try {
      const issue = await createIssue('commented');
      await basic.post(`issue/${issue.key}/comment`, { json: { body: { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: 'hi' }] }] } } });
      await eventually(async () => hook.received.length >= 3, 'three events');
      assert.deepEqual(hook.received.map((r) => [r.body.webhookEvent, r.body.issue_event_type_name]).sort(), [
        ['comment_created', undefined],
        ['jira:issue_created', 'issue_created'],
        ['jira:issue_updated', 'issue_commented'],
      ]);
      assert.equal(hook.received.find((r) => r.body.webhookEvent === 'comment_created')!.body.comment.body.content[0].content[0].text, 'hi');
      assert.equal(hook.received[0]!.headers['x-hub-signature'], undefined, 'no secret, no signature');
    } finally {
      await jira.removeWebhooks();
      await hook.close();
    }
    const dead = await jira.addWebhook({ url: 'http://127.0.0.1:9/nobody', events: ['jira:issue_created'] });
    await jira.create({ project: { key: 'PRIV' }, issuetype: { name: 'Task' }, summary: 'undeliverable, created in the UI' });
    const deadLog = async () => (await jira.deliveries()).filter((d) => d.webhookId === dead);
    await eventually(async () => (await deadLog()).length === 4, 'four attempts');
    const attempts = await deadLog();
    assert.deepEqual(attempts.map((d) => [d.attempt, d.status]), [[1, null], [2, null], [3, null], [4, null]]);
    assert.ok(attempts[0]!.error);
    await sleep(600);
    assert.equal((await deadLog()).length, 4, 'no more than 3 retries');
    await jira.removeWebhooks();
    const left = await jira.webhooks();
    assert.ok(left.every((h) => h.kind === 'dynamic' && h.expired), `only the expired dynamic webhook is left: ${JSON.stringify(left)}`);
  });
});

describe('call counting and the rate limit switch', () => {
  test('a bulk fetch is one call; endpoints are named by template; the busiest second is measured', async () => {
    const a = await createIssue('counted');
    await jira.resetStats();
    await basic.post('issue/bulkfetch', { json: { issueIdsOrKeys: [a.key, a.id] } });
    const app = await oauthClient('stats-app');
    await app.get(`issue/${a.key}`);
    await basic.get(`issue/${a.id}`);
    await jira.issues(); // admin calls are not Jira calls
    let s = await jira.stats();
    assert.equal(s.total, 3);
    assert.deepEqual(s.byEndpoint, { 'POST /rest/api/3/issue/bulkfetch': 1, 'GET /rest/api/3/issue/{issueIdOrKey}': 2 });

    await jira.resetStats();
    await Promise.all(Array.from({ length: 20 }, () => basic.get('myself')));
    await sleep(1_100);
    await Promise.all(Array.from({ length: 5 }, () => basic.get('myself')));
    s = await jira.stats();
    assert.equal(s.total, 25);
    assert.equal(s.maxPerSecond, 20, 'the burst of 20, not the 25 spread over two seconds');
    assert.equal(s.rejected429, 0);
  });

  test('beyond the budget per second: 429 with Retry-After, counted; null lifts the limit', async () => {
    await jira.resetStats();
    await jira.rateLimit(5);
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => basic.get('myself')));
      assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 200, 200, 200, 200, 429, 429, 429]);
      const limited = answers.find((a) => a.statusCode === 429)!;
      assert.equal(limited.headers['retry-after'], '1');
      assert.equal(limited.headers['ratelimit-reason'], 'jira-burst-based');
      assert.deepEqual((limited.body as any).errorMessages, ['Rate limit exceeded.']);
      assert.equal((await jira.stats()).rejected429, 3);
      await sleep(1_100);
      assert.equal((await basic.get('myself')).statusCode, 200, 'the window slides');
    } finally {
      await jira.rateLimit(null);
    }
    const free = await Promise.all(Array.from({ length: 12 }, () => basic.get('myself')));
    assert.deepEqual([...new Set(free.map((a) => a.statusCode))], [200]);
    assert.deepEqual(await violations(), []);
  });
});

const HOUR = 3_600_000;
const adf = (text: string) => ({ type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text }] }] });
const clockNow = async (on: FakeJira = jira) => Date.parse((await on.clock()).now);
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
/** A search's keys in the order Jira gave them (or its status and messages when it is refused). */
async function search(client: Got, jql: string, extra: Record<string, unknown> = {}) {
  const r = await client.post('search/jql', { json: { jql, maxResults: 100, fields: ['status', 'updated'], ...extra } });
  const body = r.body as any;
  return { status: r.statusCode, keys: (body.issues ?? []).map((i: any) => i.key) as string[], body };
}
const keysOf = async (client: Got, jql: string) => {
  const r = await search(client, jql);
  assert.equal(r.status, 200, `${jql}: ${JSON.stringify(r.body)}`);
  return r.keys;
};
async function count(client: Got, jql: string) {
  const r = await client.post('search/approximate-count', { json: { jql } });
  return { status: r.statusCode, count: (r.body as any).count as number | undefined, body: r.body as any };
}
/** A wall-clock minute as Jira's JQL writes it, in a time zone. */
function wallMinute(ms: number, timeZone: string, sep = '-'): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).formatToParts(ms);
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.year}${sep}${p.month}${sep}${p.day} ${p.hour}:${p.minute}`;
}

describe('the clock', () => {
  test('moves forward and is set by offset; issues take their timestamps from it', async () => {
    const start = await jira.clock();
    assert.ok(Math.abs(Date.parse(start.now) - start.offsetMs - Date.now()) < 2_000);
    const moved = await jira.clock({ advanceMs: 86_400_000 });
    assert.equal(moved.offsetMs, start.offsetMs + 86_400_000);
    const issue = await createIssue('made tomorrow');
    const created = Date.parse(((await basic.get(`issue/${issue.key}`)).body as any).fields.created);
    assert.ok(Math.abs(created - (Date.now() + moved.offsetMs)) < 5_000, `created ${new Date(created).toISOString()} is on the fake's clock`);
    const set = await jira.clock({ offsetMs: moved.offsetMs + 5_000 });
    assert.equal(set.offsetMs, moved.offsetMs + 5_000);
    await assert.rejects(jira.clock({ advanceMs: -1 }), (e: any) => e.response.statusCode === 400);
  });
});

describe('points and the hourly quota', () => {
  test('every call is priced (reads 1 + 1 per issue, writes 1); only OAuth apps are charged, to their client id', async () => {
    const label = unique('points');
    const made = [] as Array<{ id: string; key: string }>;
    for (const n of [1, 2, 3]) made.push(await jira.create({ project: { key: 'PRIV' }, issuetype: { name: 'Task' }, summary: `priced ${n}`, labels: [label] }));
    const [a, b] = [made[0]!, made[1]!];
    await jira.resetStats();
    assert.equal((await basic.get(`issue/${a.key}`)).statusCode, 200);
    assert.equal((await basic.post('issue/bulkfetch', { json: { issueIdsOrKeys: [a.key, b.key], fields: ['status'] } })).statusCode, 200);
    assert.equal((await search(basic, `labels = "${label}"`)).keys.length, 3);
    assert.equal((await count(basic, `labels = "${label}"`)).count, 3);
    assert.equal((await basic.post(`issue/${a.key}/comment`, { json: { body: adf('priced') } })).statusCode, 201);
    assert.equal((await basic.get('myself')).statusCode, 200);
    let s = await jira.stats();
    assert.deepEqual(s.pointsByEndpoint, {
      'GET /rest/api/3/issue/{issueIdOrKey}': 2,
      'POST /rest/api/3/issue/bulkfetch': 3,
      'POST /rest/api/3/search/jql': 4,
      'POST /rest/api/3/search/approximate-count': 1,
      'POST /rest/api/3/issue/{issueIdOrKey}/comment': 1,
      'GET /rest/api/3/myself': 1,
    });
    assert.equal(s.points, 12);
    assert.equal(s.pointsCharged, 0, 'API-token traffic is exempt from the quota');
    assert.equal((await jira.quota()).used['points-app'], undefined);

    const app = await oauthClient('points-app');
    assert.equal((await app.get(`issue/${a.key}`)).statusCode, 200);
    assert.equal((await search(app, `labels = "${label}"`, { maxResults: 2 })).keys.length, 2);
    assert.equal((await app.post(`issue/${b.key}/comment`, { json: { body: adf('charged') } })).statusCode, 201);
    s = await jira.stats();
    assert.equal(s.points, 12 + 2 + 3 + 1);
    assert.equal(s.pointsCharged, 6);
    assert.equal((await jira.quota()).used['points-app'], 6);
    const logged = (await jira.requests()).filter((r) => r.path.startsWith('/ex/jira/'));
    assert.deepEqual(logged.slice(-3).map((r) => r.points), [2, 3, 1]);
    assert.deepEqual(await violations(), []);
  });

  test('an app over its quota gets 429 (jira-quota-global-based) until the top of the hour; 80 % on is marked near the limit', async () => {
    assert.equal((await jira.quota()).pointsPerHour, 65_000, 'the default quota');
    // Half past the hour on the fake's clock, so the window's end is known.
    const now = await clockNow();
    await jira.clock({ advanceMs: (((30 * 60_000 - (now % HOUR)) % HOUR) + HOUR) % HOUR });
    const top = Math.ceil((await clockNow()) / HOUR) * HOUR;
    const issue = await createIssue('over quota');
    await jira.resetStats();
    await jira.quota(10);
    try {
      const app = await oauthClient('quota-app');
      const near: Array<string | undefined> = [];
      for (let n = 0; n < 9; n++) {
        const r = await app.get('myself');
        assert.equal(r.statusCode, 200);
        near.push(r.headers['x-ratelimit-nearlimit'] as string | undefined);
      }
      assert.deepEqual(near, [undefined, undefined, undefined, undefined, undefined, undefined, undefined, 'true', 'true'], 'from 8 of 10 points on');
      // 9 used: a search for one issue costs 2, which would go over, so it is refused though 1 point is left.
      const tooDear = await app.post('search/jql', { json: { jql: `key = ${issue.key}`, fields: ['status'] } });
      assert.equal(tooDear.statusCode, 429);
      assert.equal((await app.get('myself')).headers['x-ratelimit-nearlimit'], 'true', 'the last point');
      const refused = [await app.get('myself'), await app.post(`issue/${issue.key}/comment`, { json: { body: adf('no') } })];
      for (const r of [tooDear, ...refused]) {
        assert.equal(r.statusCode, 429);
        assert.equal(r.headers['ratelimit-reason'], 'jira-quota-global-based');
        assert.equal(r.headers['x-ratelimit-reset'], `${new Date(top).toISOString().slice(0, 16)}Z`);
        const retryAfter = Number(r.headers['retry-after']);
        assert.ok(retryAfter > 1_700 && retryAfter <= 1_800, `Retry-After ${retryAfter} s is the time to the top of the hour`);
        assert.deepEqual((r.body as any).errorMessages, ['Rate limit exceeded.']);
      }
      assert.equal(((await basic.get(`issue/${issue.key}/comment`)).body as any).total, 0, 'the refused comment was not made');
      const exempt = await basic.get('myself');
      assert.equal(exempt.statusCode, 200, 'API-token traffic has no quota');
      assert.equal(exempt.headers['x-ratelimit-nearlimit'], undefined);
      let q = await jira.quota();
      assert.equal(q.used['quota-app'], 10);
      assert.equal(q.resetsAt, new Date(top).toISOString());
      const s = await jira.stats();
      assert.equal(s.rejected429ByReason['jira-quota-global-based'], 3);
      assert.equal(s.rejected429, 3);

      await jira.clock({ advanceMs: top - (await clockNow()) + 1_000 });
      const fresh = await app.get('myself');
      assert.equal(fresh.statusCode, 200, 'a new hour, a new window');
      assert.equal(fresh.headers['x-ratelimit-nearlimit'], undefined);
      q = await jira.quota();
      assert.equal(q.used['quota-app'], 1);
      assert.equal(q.resetsAt, new Date(top + HOUR).toISOString());

      await jira.quota(null);
      for (let n = 0; n < 12; n++) assert.equal((await app.get('myself')).statusCode, 200, 'no quota');
      assert.equal((await jira.quota()).used['quota-app'], 13, 'usage is kept without a quota');
    } finally {
      await jira.quota(65_000);
    }
    assert.deepEqual(await violations(), []);
  });
});

describe('per-issue write limits', () => {
  test('beyond 20 writes to one issue in 2 s: 429 jira-per-issue-on-write with Retry-After; other issues are not held up', async () => {
    const busy = await createIssue('busy');
    const quiet = await createIssue('quiet');
    await jira.resetStats();
    const answers = await Promise.all(Array.from({ length: 24 }, (_, n) => basic.post(`issue/${busy.key}/comment`, { json: { body: adf(`write ${n}`) } })));
    assert.deepEqual(answers.map((a) => a.statusCode).sort(), [...Array(20).fill(201), ...Array(4).fill(429)]);
    const limited = answers.find((a) => a.statusCode === 429)!;
    assert.equal(limited.headers['ratelimit-reason'], 'jira-per-issue-on-write');
    const wait = Number(limited.headers['retry-after']);
    assert.ok(wait === 1 || wait === 2, `Retry-After ${wait}`);
    assert.equal((await basic.put(`issue/${quiet.key}/assignee`, { json: { accountId: 'fake-human' } })).statusCode, 204, 'another issue');
    assert.equal((await basic.get(`issue/${busy.key}`)).statusCode, 200, 'reads are not writes');
    await sleep(wait * 1_000);
    assert.equal((await basic.put(`issue/${busy.key}/assignee`, { json: { accountId: 'fake-human' } })).statusCode, 204, 'after Retry-After');
    assert.equal(((await basic.get(`issue/${busy.key}/comment`)).body as any).total, 20);
    assert.equal((await jira.stats()).rejected429ByReason['jira-per-issue-on-write'], 4);
    assert.deepEqual(await violations(), []);
  });
});

describe('429 faults with reasons, Beta headers and the near-limit mark', () => {
  test('each reason is sent as RateLimit-Reason with Retry-After and X-RateLimit-Reset; beta sends the Beta forms instead', async () => {
    await jira.resetStats();
    const reasons = ['jira-quota-global-based', 'jira-quota-tenant-based', 'jira-burst-based', 'jira-per-issue-on-write', 'jira-something-new'];
    for (const reason of reasons) {
      await jira.fault({ kind: '429', path: '/myself', reason, retryAfterSeconds: 7 });
      const r = await basic.get('myself');
      assert.equal(r.statusCode, 429);
      assert.equal(r.headers['ratelimit-reason'], reason);
      assert.equal(r.headers['retry-after'], '7');
      const reset = Date.parse(r.headers['x-ratelimit-reset'] as string) - (await clockNow());
      assert.ok(reset > 4_000 && reset <= 7_000, `X-RateLimit-Reset ${r.headers['x-ratelimit-reset']} is 7 s ahead on the clock`);
      assert.equal(r.headers['x-beta-ratelimit-reason'], undefined);
    }
    await jira.fault({ kind: '429', path: '/myself', reason: 'jira-quota-tenant-based', beta: true, retryAfterSeconds: 3 });
    const beta = await basic.get('myself');
    assert.equal(beta.statusCode, 429);
    assert.equal(beta.headers['beta-retry-after'], '3');
    assert.equal(beta.headers['x-beta-ratelimit-reason'], 'jira-quota-tenant-based');
    assert.ok(Date.parse(beta.headers['x-beta-ratelimit-reset'] as string) > (await clockNow()));
    for (const plain of ['retry-after', 'ratelimit-reason', 'x-ratelimit-reset']) assert.equal(beta.headers[plain], undefined, `no ${plain} in beta`);

    await jira.fault({ kind: '429', path: '/myself' });
    const bare = await basic.get('myself');
    assert.equal(bare.headers['retry-after'], '1');
    assert.equal(bare.headers['ratelimit-reason'], undefined, 'no reason given, none sent');
    assert.deepEqual((await jira.stats()).rejected429ByReason, {
      'jira-quota-global-based': 1,
      'jira-quota-tenant-based': 2,
      'jira-burst-based': 1,
      'jira-per-issue-on-write': 1,
      'jira-something-new': 1,
      none: 1,
    });
    await assert.rejects(jira.fault({ kind: '429', reason: 42 } as never), (e: any) => e.response.statusCode === 400);
  });

  test('near_limit marks one answer and lets it through; nearLimit does it for any kind, beta as X-Beta-RateLimit-NearLimit', async () => {
    await jira.fault({ kind: 'near_limit', path: '/myself' });
    const marked = await basic.get('myself');
    assert.equal(marked.statusCode, 200);
    assert.equal((marked.body as any).accountId, 'fake-account');
    assert.equal(marked.headers['x-ratelimit-nearlimit'], 'true');
    assert.equal((await basic.get('myself')).headers['x-ratelimit-nearlimit'], undefined, 'once');
    await jira.fault({ kind: 'slow', delayMs: 10, path: '/myself', nearLimit: true });
    assert.equal((await basic.get('myself')).headers['x-ratelimit-nearlimit'], 'true');
    await jira.fault({ kind: 'near_limit', path: '/myself', beta: true });
    const beta = await basic.get('myself');
    assert.equal(beta.headers['x-beta-ratelimit-nearlimit'], 'true');
    assert.equal(beta.headers['x-ratelimit-nearlimit'], undefined);
    assert.deepEqual(await violations(), []);
  });
});

describe('the lagging search index', () => {
  test('a new issue is found lag ms after its creation; a change is seen late, the old fields until then; GET and bulk fetch are current', async () => {
    await jira.searchLag(60_000);
    try {
      assert.equal(await jira.searchLag(), 60_000);
      const label = unique('lag');
      const r = await basic.post('issue', { json: { fields: { project: { key: 'PRIV' }, issuetype: { name: 'Task' }, summary: 'lagging', labels: [label] } } });
      const issue = r.body as any as { key: string };
      assert.deepEqual(await keysOf(basic, `labels = "${label}"`), [], 'not indexed yet');
      assert.equal((await count(basic, `labels = "${label}"`)).count, 0);
      assert.equal((await basic.get(`issue/${issue.key}`)).statusCode, 200, 'GET issue is current');
      assert.equal(((await basic.post('issue/bulkfetch', { json: { issueIdsOrKeys: [issue.key] } })).body as any).issues.length, 1, 'bulk fetch is current');
      assert.equal((await search(basic, `key = ${issue.key}`)).status, 200, 'the key exists: no 400, just not found yet');
      await jira.clock({ advanceMs: 50_000 });
      assert.deepEqual(await keysOf(basic, `labels = "${label}"`), []);
      await jira.clock({ advanceMs: 11_000 });
      assert.deepEqual(await keysOf(basic, `labels = "${label}"`), [issue.key]);
      assert.equal((await count(basic, `labels = "${label}"`)).count, 1);

      await jira.clock({ advanceMs: 10 * 60_000 });
      assert.equal((await basic.post(`issue/${issue.key}/transitions`, { json: { transition: { id: 't10001' } } })).statusCode, 204);
      const delta = `labels = "${label}" AND updated >= -2m`;
      assert.deepEqual(await keysOf(basic, delta), [], 'the index still has the old updated');
      const stale = await search(basic, `labels = "${label}"`);
      assert.equal(stale.body.issues[0].fields.status.name, 'To Do', 'found with its fields as they were');
      assert.equal(((await basic.get(`issue/${issue.key}`)).body as any).fields.status.name, 'Done');
      await jira.clock({ advanceMs: 30_000 });
      assert.deepEqual(await keysOf(basic, delta), []);
      await jira.clock({ advanceMs: 31_000 });
      const seen = await search(basic, delta);
      assert.deepEqual(seen.keys, [issue.key], 'caught up');
      assert.equal(seen.body.issues[0].fields.status.name, 'Done');
    } finally {
      await jira.searchLag(0);
    }
    assert.deepEqual(await violations(), []);
  });
});

describe('the JQL the tracker sends', () => {
  test('relative and absolute updated and created, read on the clock and in UTC', async () => {
    const label = unique('dates');
    const issue = await jira.create({ project: { key: 'PRIV' }, issuetype: { name: 'Task' }, summary: 'dated', labels: [label] });
    const updated = Date.parse(((await basic.get(`issue/${issue.key}`)).body as any).fields.updated);
    const q = (clause: string) => keysOf(basic, `labels = "${label}" AND ${clause}`);
    assert.deepEqual(await q('updated >= -5m'), [issue.key]);
    await jira.clock({ advanceMs: 10 * 60_000 });
    assert.deepEqual(await q('updated >= -5m'), []);
    assert.deepEqual(await q('updated > -15m'), [issue.key]);
    for (const rel of ['-2h', '-1d', '-1w', '"-20m"']) assert.deepEqual(await q(`updated >= ${rel}`), [issue.key], rel);
    assert.deepEqual(await q('created >= -1h'), [issue.key]);
    assert.deepEqual(await q('created < -5m'), [issue.key]);
    assert.deepEqual(await q('created > -5m'), []);

    const minute = Math.floor(updated / 60_000) * 60_000;
    assert.deepEqual(await q(`updated >= "${wallMinute(minute, 'UTC')}"`), [issue.key]);
    assert.deepEqual(await q(`updated >= "${wallMinute(minute, 'UTC', '/')}"`), [issue.key], 'yyyy/MM/dd HH:mm');
    assert.deepEqual(await q(`updated >= "${wallMinute(minute + 60_000, 'UTC')}"`), []);
    assert.deepEqual(await q(`updated < "${wallMinute(minute + 60_000, 'UTC')}"`), [issue.key]);
    const day = new Date(updated).toISOString().slice(0, 10);
    assert.deepEqual(await q(`created >= "${day}"`), [issue.key], 'a date alone is the start of the day');
    assert.deepEqual(await q(`created < "${day}"`), []);
    const bad = await search(basic, 'updated >= "2026-13-45 10:20"');
    assert.equal(bad.status, 400);
    assert.match(bad.body.errorMessages[0], /Date value '2026-13-45 10:20' for field 'updated' is invalid/);
    assert.deepEqual(await violations(), []);
  });

  test('project in, labels in, OR groups in parentheses, ORDER BY updated, created, key and a second key', async () => {
    const label = unique('shape');
    const other = unique('shape-other');
    const make = async (project: string, labels: string[]) => {
      const i = await jira.create({ project: { key: project }, issuetype: { name: 'Task' }, summary: 'shaped', labels });
      await jira.clock({ advanceMs: 1_000 });
      return i.key;
    };
    const p1 = await make('PRIV', [label]);
    const s1 = await make('SCRUM', [label]);
    const p2 = await make('PRIV', [label, other]);
    await jira.touch([p1]);
    const L = `labels = "${label}"`;
    assert.deepEqual(await keysOf(basic, `project in (PRIV, scrum) AND ${L}`), [p1, s1, p2], 'creation order without ORDER BY');
    assert.deepEqual(await keysOf(basic, `project = priv AND ${L}`), [p1, p2]);
    assert.deepEqual(await keysOf(basic, `labels in ("${other}", "no-such-label")`), [p2]);
    assert.deepEqual(await keysOf(basic, `(project = PRIV OR project = SCRUM) AND ${L} AND updated >= -20m`), [p1, s1, p2]);
    assert.deepEqual(await keysOf(basic, `(${L}) AND (project = SCRUM)`), [s1]);
    assert.deepEqual(await keysOf(basic, `(key = ${p2} OR issue = ${s1}) AND ${L}`), [s1, p2]);
    assert.deepEqual(await keysOf(basic, `${L} AND (project = SCRUM OR labels = "${other}")`), [s1, p2]);

    assert.deepEqual(await keysOf(basic, `${L} ORDER BY updated ASC`), [s1, p2, p1]);
    assert.deepEqual(await keysOf(basic, `${L} ORDER BY updated DESC`), [p1, p2, s1]);
    assert.deepEqual(await keysOf(basic, `${L} ORDER BY created`), [p1, s1, p2]);
    assert.deepEqual(await keysOf(basic, `${L} ORDER BY created DESC`), [p2, s1, p1]);
    assert.deepEqual(await keysOf(basic, `${L} ORDER BY key`), [p1, p2, s1], 'by project key, then number');
    assert.deepEqual(await keysOf(basic, `${L} ORDER BY key DESC`), [s1, p2, p1]);

    // Seeded at once, many share their updated millisecond: the second key decides among them.
    const many = unique('ties');
    await jira.bulkCreate({ count: 60, project: 'SCRUM', labels: [many] });
    await jira.bulkCreate({ count: 60, project: 'PRIV', labels: [many] });
    for (const [jql, second] of [
      [`labels = "${many}" ORDER BY updated ASC, key DESC`, -1],
      [`labels = "${many}" ORDER BY updated DESC, key ASC`, 1],
    ] as const) {
      const r = await search(basic, jql);
      const rows = r.body.issues.map((i: any) => ({ updated: i.fields.updated as string, key: i.key as string }));
      assert.equal(rows.length, 100);
      const keyCmp = (a: string, b: string) => a.split('-')[0]!.localeCompare(b.split('-')[0]!) || Number(a.split('-')[1]) - Number(b.split('-')[1]);
      let ties = 0;
      for (let k = 1; k < rows.length; k++) {
        const [prev, cur] = [rows[k - 1], rows[k]];
        const first = second === -1 ? prev.updated.localeCompare(cur.updated) : cur.updated.localeCompare(prev.updated);
        assert.ok(first <= 0, `${jql}: ${prev.updated} then ${cur.updated}`);
        if (first === 0) {
          ties += 1;
          assert.ok(second * keyCmp(prev.key, cur.key) < 0, `${jql}: ${prev.key} then ${cur.key} at ${cur.updated}`);
        }
      }
      assert.ok(ties > 10, `${ties} ties, enough to show the second key`);
    }

    for (const jql of ['status = Done', `${L} ORDER BY summary`, 'project = PRIV OR', 'project ~ PRIV', '(project = PRIV']) {
      const r = await search(basic, jql);
      assert.equal(r.status, 400, jql);
      assert.match(r.body.errorMessages[0], /JQL|sort/, jql);
    }
    assert.deepEqual(await violations(), []);
  });

  test('Cloud answers a missing or deleted key with a 400 naming each, in search/jql and approximate-count', async () => {
    const kept = await createIssue('kept');
    const gone = await createIssue('gone');
    await jira.remove(gone.key);
    const msg = (k: string) => `The value '${k}' does not exist for the field 'key'.`;
    const r = await search(basic, `key in (${kept.key}, PRIV-999999, ${gone.key})`);
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { errorMessages: [msg('PRIV-999999'), msg(gone.key)], errors: {} });
    const c = await count(basic, `key = PRIV-999998`);
    assert.equal(c.status, 400);
    assert.deepEqual(c.body, { errorMessages: [msg('PRIV-999998')], errors: {} });
    const inOr = await search(basic, `project = SCRUM OR key = ${gone.key}`);
    assert.deepEqual(inOr.body.errorMessages, [msg(gone.key)], 'anywhere in the query');
    assert.deepEqual((await search(basic, `key in (${kept.key.toLowerCase()})`)).keys, [kept.key]);
    assert.deepEqual(await violations(), []);
  });

  test('approximate-count counts the matches; search/jql returns the asked fields and pages with nextPageToken', async () => {
    const label = unique('paged');
    await jira.bulkCreate({ count: 45, project: 'PRIV', labels: [label] });
    await jira.bulkCreate({ count: 5, project: 'SCRUM', labels: [label] });
    assert.equal((await count(basic, `labels = "${label}"`)).count, 50);
    assert.equal((await count(basic, `labels = "${label}" AND project = SCRUM`)).count, 5);
    assert.equal((await count(basic, 'summary = x')).status, 400);

    const seen: string[] = [];
    const pages: boolean[] = [];
    let token: string | undefined;
    do {
      const r = await search(basic, `labels = "${label}" ORDER BY key ASC`, { maxResults: 20, fields: ['summary'], ...(token ? { nextPageToken: token } : {}) });
      assert.equal(r.status, 200);
      for (const i of r.body.issues) assert.deepEqual(Object.keys(i.fields), ['summary']);
      seen.push(...r.keys);
      pages.push(r.body.isLast);
      token = r.body.nextPageToken;
    } while (token);
    assert.deepEqual(pages, [false, false, true]);
    assert.equal(new Set(seen).size, 50);
    assert.deepEqual(seen.slice(-5).map((k) => k.split('-')[0]), Array(5).fill('SCRUM'));
    const all = await search(basic, `labels = "${label}"`, { maxResults: 5000, fields: ['status', '-status', 'labels'] });
    assert.equal(all.keys.length, 50);
    assert.equal(all.body.isLast, true);
    assert.deepEqual(Object.keys(all.body.issues[0].fields), ['labels']);
    assert.deepEqual(await violations(), []);
  });
});

describe('bulk seeding and touch', () => {
  test('seeds issues at once, quietly and uncounted; touch moves updated and status, with webhooks only when asked', async () => {
    const hook = await receiver();
    await jira.addWebhook({ url: hook.url });
    try {
      const label = unique('seeded');
      await jira.resetStats();
      const seeded = await jira.bulkCreate({ count: 5, project: 'SCRUM', summaryPrefix: 'seeded', labels: [label], status: 'In Progress' });
      const keys = seeded.keys!;
      assert.equal(keys.length, 5);
      const n0 = Number(keys[0]!.split('-')[1]);
      assert.deepEqual(keys, [0, 1, 2, 3, 4].map((d) => `SCRUM-${n0 + d}`));
      assert.deepEqual([seeded.first, seeded.last], [keys[0], keys[4]]);
      assert.equal((await jira.stats()).total, 0, 'admin seeding is not an API call');
      const fetch = async (ks: string[]) => ((await basic.post('issue/bulkfetch', { json: { issueIdsOrKeys: ks, fields: ['summary', 'status', 'labels', 'updated', 'resolution'] } })).body as any).issues as any[];
      const before = await fetch(keys);
      assert.deepEqual(before.map((i) => [i.fields.summary, i.fields.status.name, i.fields.labels]), [1, 2, 3, 4, 5].map((n) => [`seeded ${n}`, 'In Progress', [label]]));

      const big = await jira.bulkCreate({ count: 1001, project: 'PRIV' });
      assert.equal(big.keys, undefined, 'keys only up to 1,000');
      assert.equal(Number(big.last.split('-')[1]) - Number(big.first.split('-')[1]), 1000);
      for (const bad of [{ count: 0, project: 'PRIV' }, { count: 1, project: 'NOPE' }, { count: 1, project: 'PRIV', status: 'Nope' }, { count: 1, project: 'PRIV', labels: ['two words'] }]) {
        await assert.rejects(jira.bulkCreate(bad), (e: any) => e.response.statusCode === 400, JSON.stringify(bad));
      }

      await jira.clock({ advanceMs: 5 * 60_000 });
      assert.deepEqual(await jira.touch([keys[0]!, keys[1]!], { status: 'Done' }), { touched: 2 });
      const done = await fetch([keys[0]!, keys[1]!]);
      for (const [n, i] of done.entries()) {
        assert.equal(i.fields.status.name, 'Done');
        assert.equal(i.fields.resolution.name, 'Done');
        assert.ok(Date.parse(i.fields.updated) >= Date.parse(before[n].fields.updated) + 5 * 60_000, 'updated moved with the clock');
      }
      assert.deepEqual(await keysOf(basic, `labels = "${label}" AND updated >= -1m ORDER BY key`), [keys[0], keys[1]]);
      await sleep(300);
      assert.equal(hook.received.length, 0, 'neither seeding nor a quiet touch fires webhooks');

      await jira.touch([keys[2]!], { webhook: true });
      await jira.touch([keys[3]!], { status: 'Done', webhook: true });
      await eventually(async () => hook.received.length >= 2, 'two deliveries');
      const byKey = Object.fromEntries(hook.received.map((r) => [r.body.issue.key, r.body]));
      assert.equal(byKey[keys[2]!].webhookEvent, 'jira:issue_updated');
      assert.equal(byKey[keys[2]!].issue.fields.status.name, 'In Progress');
      assert.deepEqual(byKey[keys[3]!].changelog.items.map((i: any) => [i.field, i.toString]), [['status', 'Done'], ['resolution', 'Done']]);

      await assert.rejects(jira.touch(['NOPE-1', keys[4]!], { status: 'Done' }), (e: any) => e.response.statusCode === 404);
      assert.equal((await fetch([keys[4]!]))[0].fields.status.name, 'In Progress', 'nothing changed');
    } finally {
      await jira.removeWebhooks();
      await hook.close();
    }
    assert.deepEqual(await violations(), []);
  });
});

describe('a fake Jira configured from the environment (Europe/Berlin, burst 10, quota 30, lag 250 ms) with 100,000 issues', () => {
  let zoned: FakeJira;
  let client: Got;
  before(async () => {
    zoned = await fakeJira(cleanup, { FAKE_JIRA_TIME_ZONE: 'Europe/Berlin', FAKE_JIRA_BURST_PER_SECOND: '10', FAKE_JIRA_POINTS_PER_HOUR: '30', FAKE_JIRA_SEARCH_LAG_MS: '250' });
    client = basic.extend({ prefixUrl: `${zoned.url}/rest/api/3` });
  });
  after(() => zoned.stop());

  test('the variables are in force: quota, lag, time zone', async () => {
    assert.equal((await zoned.quota()).pointsPerHour, 30);
    assert.equal(await zoned.searchLag(), 250);
    await zoned.searchLag(0);
    assert.equal(((await client.get('myself')).body as any).timeZone, 'Europe/Berlin');
  });

  test('absolute dates are read in the user time zone', async () => {
    const label = unique('berlin');
    const issue = await zoned.create({ project: { key: 'PRIV' }, issuetype: { name: 'Task' }, summary: 'zoned', labels: [label] });
    const minute = Math.floor(Date.parse(((await client.get(`issue/${issue.key}`)).body as any).fields.updated) / 60_000) * 60_000;
    const q = (clause: string) => keysOf(client, `labels = "${label}" AND ${clause}`);
    assert.deepEqual(await q(`updated >= "${wallMinute(minute, 'Europe/Berlin')}"`), [issue.key]);
    assert.deepEqual(await q(`updated >= "${wallMinute(minute + 60_000, 'Europe/Berlin')}"`), []);
    // The next UTC minute, read as Berlin time, is an hour or two earlier: before the update.
    assert.deepEqual(await q(`updated >= "${wallMinute(minute + 60_000, 'UTC')}"`), [issue.key]);
    assert.deepEqual(await q(`updated < "${wallMinute(minute + 60_000, 'UTC')}"`), []);
  });

  test('beyond the burst per endpoint and method: 429 jira-burst-based, Retry-After 1; other endpoints go on', async () => {
    // The previous test's call must be out of the window.
    await sleep(1_100);
    await zoned.resetStats();
    const [answers, other] = await Promise.all([Promise.all(Array.from({ length: 15 }, () => client.get('myself'))), client.get('priority')]);
    assert.deepEqual(answers.map((a) => a.statusCode).sort(), [...Array(10).fill(200), ...Array(5).fill(429)]);
    assert.equal(other.statusCode, 200);
    const limited = answers.find((a) => a.statusCode === 429)!;
    assert.equal(limited.headers['ratelimit-reason'], 'jira-burst-based');
    assert.equal(limited.headers['retry-after'], '1');
    assert.deepEqual((await zoned.stats()).rejected429ByReason, { 'jira-burst-based': 5 });
    await sleep(1_100);
    assert.equal((await client.get('myself')).statusCode, 200, 'the second slides');
  });

  test('a search over 100,000 seeded issues answers well under a second', async (t) => {
    const seedStart = performance.now();
    const seeded = await zoned.bulkCreate({ count: 100_000, project: 'PRIV', labels: ['bulk'] });
    t.diagnostic(`seeding 100,000 issues: ${Math.round(performance.now() - seedStart)} ms`);
    const timed = async (what: string, run: () => Promise<{ status: number }>) => {
      const start = performance.now();
      const r = await run();
      const ms = performance.now() - start;
      t.diagnostic(`${what}: ${Math.round(ms)} ms`);
      assert.equal(r.status, 200, what);
      assert.ok(ms < 2_000, `${what} took ${Math.round(ms)} ms`);
      return r;
    };
    const jql = 'project = PRIV AND updated >= -1h ORDER BY updated ASC, key ASC';
    const first = (await timed('first page of 100 by updated', () => search(client, jql))) as Awaited<ReturnType<typeof search>>;
    assert.equal(first.keys.length, 100);
    assert.equal(first.body.isLast, false);
    const total = (await timed('approximate-count', () => count(client, 'project = PRIV'))) as Awaited<ReturnType<typeof count>>;
    assert.equal(total.count, 100_001, 'the seeded issues and the zoned one');
    const last = (await timed('the last page', () => search(client, jql, { nextPageToken: '99901' }))) as Awaited<ReturnType<typeof search>>;
    assert.equal(last.body.isLast, true);
    assert.equal(last.keys.at(-1), seeded.last);
    await timed('a label and text search', () => search(client, 'labels = bulk AND summary ~ "issue 99999"'));
    const page = (await timed('a page of 1000 by key, descending', () => search(client, 'project in (PRIV, SCRUM) ORDER BY key DESC', { maxResults: 1000 }))) as Awaited<ReturnType<typeof search>>;
    assert.equal(page.keys[0], seeded.last);

    await zoned.clock({ advanceMs: 10 * 60_000 });
    const changed = [seeded.last, seeded.first, 'PRIV-50000'];
    await zoned.touch(changed);
    const delta = (await timed('the delta after touching 3', () => search(client, 'project in (PRIV, SCRUM) AND updated >= -1m ORDER BY updated ASC, key ASC'))) as Awaited<ReturnType<typeof search>>;
    assert.deepEqual([...delta.keys].sort(), [...changed].sort());
    assert.deepEqual((await zoned.requests()).flatMap((r) => r.violations), []);
  });
});
