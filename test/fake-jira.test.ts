import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import got, { type Got } from 'got';
import { eventually, fakeJira, type FakeJira } from './helpers/infra.js';
import { fileCleanup } from './helpers/cleanup.js';

/** The fake Jira's own features for the product's sync and for benchmarks: bulk fetch, webhooks, call counting, rate limit. */

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
