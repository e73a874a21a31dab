import { describe, test } from 'node:test';
import { setLogLevel, setLogSink } from '../src/platform/log.js';
import assert from 'node:assert/strict';
import got from 'got';
import { SignJWT, UnsecuredJWT } from 'jose';
import { Connection } from '../src/platform/db/entities.js';
import { approvedRequest, configureConnection, OAUTH_CLIENT_SECRET, STRICT_PAT, STRICT_TOKEN, useStack } from './helpers/ticketflow.js';
import { jiraWebhooksWorkflowId } from '../src/jira-webhooks/messages.js';
import { createWebhookActivities } from '../src/jira-webhooks/activities.js';
import { eventually } from './helpers/infra.js';
import { mergeSecrets } from '../src/connections/service.js';
import { trackerWorkflowId } from '../src/tracker/messages.js';
import { stopWebhookKeepAlive } from '../src/jira-webhooks/starts.js';

/** Every auth mode end to end against the fake Jira: Cloud API token, scoped token, OAuth 2.0 (3LO), Data Center PAT and Basic. */

const ctx = useStack({ dynamicWebhooks: true });
const testTicket = async (key: string) => {
  const r = await ctx.tf.http.post(`api/v1/connection/${key}/jira/test-ticket`);
  assert.equal(r.statusCode, 201, JSON.stringify(r.body));
  return r.body as { ticket_key: string; ticket_url: string };
};
const lastRequest = async (j = ctx.jira, pred: (r: { method: string; path: string }) => boolean = () => true) => (await j.requests()).filter(pred).at(-1)!;

describe('Jira Cloud', () => {
  test('scoped API token: cloud id resolved from the site when saved, calls go through the gateway', async () => {
    await configureConnection(ctx.tf, 'scoped', ctx.jira.url, { auth_method: 'scoped_api_token' });
    const conn = (await ctx.tf.http.get('api/v1/connection/scoped')).body as any;
    assert.equal(conn.secrets.cloud_id, 'fake-cloud-id');
    const t = await testTicket('scoped');
    const req = await lastRequest(ctx.jira, (r) => r.method === 'POST' && r.path.endsWith('/issue'));
    assert.equal(req.path, '/ex/jira/fake-cloud-id/rest/api/3/issue');
    assert.equal(t.ticket_url, `${ctx.jira.url}/browse/${t.ticket_key}`, 'links point at the site, not the gateway');
  });
});

describe('OAuth 2.0 (3LO)', () => {
  const authorize = async (key: string) => {
    const init = await ctx.tf.http.post('api/v1/oauth/jira/initiate', { json: { connection_key: key } });
    assert.equal(init.statusCode, 200);
    const url = new URL((init.body as any).authorization_url);
    assert.equal(url.searchParams.get('audience'), 'api.atlassian.com');
    assert.equal(url.searchParams.get('scope'), 'read:jira-work write:jira-work read:jira-user offline_access');
    // The user consents at Atlassian, which redirects back to our callback with a code and the state.
    const consent = await got.get(url, { followRedirect: false, throwHttpErrors: false });
    assert.equal(consent.statusCode, 302);
    const back = new URL(consent.headers.location!);
    assert.equal(back.pathname, '/api/v1/oauth/jira/callback');
    return ctx.tf.http.get(`api/v1/oauth/jira/callback${back.search}`);
  };

  test('redirect round trip: tokens sealed, cloud id from accessible-resources, tickets through the gateway with Bearer', async () => {
    await configureConnection(ctx.tf, 'oauth', ctx.jira.url, { auth_method: 'oauth2', username: undefined, api_key: undefined });
    const before = await ctx.tf.http.get('api/v1/connection/oauth/jira/test');
    assert.equal(before.statusCode, 409, 'not authorized yet');
    assert.match((before.body as any).detail, /OAuth authorization/);

    const cb = await authorize('oauth');
    assert.equal(cb.statusCode, 200, JSON.stringify(cb.body));
    assert.deepEqual(cb.body, { status: 'connected', connection_key: 'oauth', auth_method: 'oauth2', cloud_id: 'fake-cloud-id', site_url: ctx.jira.url });

    const row = (await ctx.orm.em.getConnection().execute<any[]>('select secrets, credentials from connection where key = ?', ['oauth']))[0];
    assert.equal(row.secrets.access_token, undefined);
    assert.ok(!JSON.stringify(row).includes('at-'), 'tokens are sealed');
    await testTicket('oauth');
    assert.equal((await lastRequest(ctx.jira, (r) => r.path.endsWith('/issue'))).path, '/ex/jira/fake-cloud-id/rest/api/3/issue');
    const hour = Math.floor(Date.now() / 3_600_000);
    const charged = await ctx.orm.em.getConnection().execute<Array<{ key: string; points: number }>>(`select key, points from jira_budget where key like 'points:%'`);
    assert.deepEqual(charged.map((r) => r.key), [`points:ticketflow-test:${hour}`], "OAuth calls are charged to the app's points, API-token calls to none");
    assert.ok(charged[0]!.points >= 1);
  });

  test('dynamic webhooks: registered on authorization and kept by jira-webhooks/<key>; a change arrives signed by the app and moves the ticket without a poll', async () => {
    const url = `${ctx.tf.base}/webhooks/jira/oauth`;
    const live = () => ctx.jira.webhooks().then((hooks) => hooks.filter((w) => w.kind === 'dynamic' && w.url === url && !w.expired));
    await eventually(async () => (await live()).length > 0, 'dynamic webhooks registered by the keep-alive workflow');
    const keeper = await ctx.tf.client.workflow.getHandle(jiraWebhooksWorkflowId('oauth')).describe();
    assert.equal(keeper.status.name, 'RUNNING', 'it sleeps until the refresh is due');

    assert.equal((await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_oauth_hook') })).statusCode, 201);
    const open = await eventually(
      async () => ((await ctx.tf.http.get('api/v1/privacy-request/pri_oauth_hook/jira-tickets')).body as any[]).find((i) => i.connection_key === 'oauth' && i.task_state === 'open'),
      'the OAuth connection\'s ticket',
    );
    const reads = (await ctx.jira.requests()).length;
    const delivered = (await ctx.jira.deliveries()).length;
    await ctx.jira.transition(open.ticket_key, 'Done');
    const delivery = await eventually(async () => (await ctx.jira.deliveries()).slice(delivered).find((d: any) => d.url === url), 'a delivery to the dynamic webhook');
    const done = await eventually(
      async () => ((await ctx.tf.http.get('api/v1/privacy-request/pri_oauth_hook/jira-tickets')).body as any[]).find((i) => i.instance_id === open.instance_id && i.status === 'Done'),
      `the status from the dynamic webhook (polls are 10 minutes apart); delivery ${JSON.stringify(delivery)}`,
    );
    assert.equal(done.task_state, 'waiting_for_data');
    const since = (await ctx.jira.requests()).slice(reads);
    assert.ok(!since.some((r) => r.path.includes(open.ticket_key) || r.path.endsWith('/bulkfetch')), 'no Jira read for the change');

    // Every ~20 days the workflow runs this activity; when Jira has forgotten the webhooks it registers new ones.
    await ctx.jira.expireWebhooks();
    assert.equal((await live()).length, 0);
    const activities = createWebhookActivities({ orm: ctx.orm, kit: ctx.tf.kit, webhookBaseUrl: ctx.tf.base });
    const { expiresAt } = await activities.ensureDynamicWebhooks({ connectionKey: 'oauth' });
    assert.ok(Date.parse(expiresAt!) > Date.now() + 29 * 86_400_000, `expires ${expiresAt}`);
    assert.ok((await live()).length > 0, 'registered anew');
  });

  test('started from the console: the callback sends the browser back to the console, with the outcome; a refusal at Atlassian too', async () => {
    const init = await ctx.tf.http.post('api/v1/oauth/jira/initiate', { json: { connection_key: 'oauth', return_to: 'console' } });
    assert.equal(init.statusCode, 200);
    const consent = await got.get((init.body as any).authorization_url, { followRedirect: false });
    const back = new URL(consent.headers.location!);
    const cb = await ctx.tf.http.get(`api/v1/oauth/jira/callback${back.search}`, { followRedirect: false });
    assert.equal(cb.statusCode, 303);
    assert.equal(cb.headers.location, '/console/connections/oauth?authorized=1');

    const again = await ctx.tf.http.post('api/v1/oauth/jira/initiate', { json: { connection_key: 'oauth', return_to: 'console' } });
    const state = new URL((again.body as any).authorization_url).searchParams.get('state')!;
    const denied = await ctx.tf.http.get('api/v1/oauth/jira/callback', { searchParams: { state, error: 'access_denied', error_description: 'User did not authorize the request' }, followRedirect: false });
    assert.equal(denied.statusCode, 303);
    const to = new URL(denied.headers.location!, ctx.tf.base);
    assert.equal(to.pathname, '/console/connections/oauth');
    assert.match(to.searchParams.get('authorization_error')!, /access_denied: User did not authorize/);
    const sent = await ctx.tf.http.post('api/v1/oauth/jira/initiate', { json: { connection_key: 'oauth', return_to: 'https://evil.example' } });
    assert.equal(sent.statusCode, 422, 'only named places, never a URL');
  });

  test("a dynamic webhook's JWT: refused when expired (past the 60 s of skew), unsigned (alg none), of another algorithm or signed with another secret", async () => {
    const now = Math.floor(Date.now() / 1000);
    const signed = (alg: string, exp: number, secret = OAUTH_CLIENT_SECRET) =>
      new SignJWT({ iss: 'ticketflow-test' }).setProtectedHeader({ alg, typ: 'JWT' }).setIssuedAt(now - 300).setExpirationTime(exp).sign(new TextEncoder().encode(secret));
    const deliver = (token: string) =>
      ctx.tf.anonymous.post('webhooks/jira/oauth', { body: JSON.stringify({ webhookEvent: 'jira:issue_updated' }), headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });

    assert.equal((await deliver(await signed('HS256', now + 180))).statusCode, 202, 'a valid token');
    assert.equal((await deliver(await signed('HS256', now - 30))).statusCode, 202, 'expired 30 s ago: within the clock tolerance');
    const refused = {
      'expired 2 minutes ago': await signed('HS256', now - 120),
      'alg none': new UnsecuredJWT({ iss: 'ticketflow-test' }).setExpirationTime(now + 180).encode(),
      // The header says none, the signature is a real HS256 one: the algorithm is ours to choose, not the token's.
      'alg none with a signature': (await signed('HS256', now + 180)).replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')),
      HS512: await signed('HS512', now + 180),
      'another secret': await signed('HS256', now + 180, 'not-the-client-secret'),
      'not a JWT': 'abc.def',
    };
    for (const [what, token] of Object.entries(refused)) {
      const r = await deliver(token);
      assert.equal(r.statusCode, 401, `${what}: ${JSON.stringify(r.body)}`);
    }
  });

  test('the state is single-use', async () => {
    const init = await ctx.tf.http.post('api/v1/oauth/jira/initiate', { json: { connection_key: 'oauth' } });
    const consent = await got.get((init.body as any).authorization_url, { followRedirect: false });
    const search = new URL(consent.headers.location!).search;
    assert.equal((await ctx.tf.http.get(`api/v1/oauth/jira/callback${search}`)).statusCode, 200);
    const again = await ctx.tf.http.get(`api/v1/oauth/jira/callback${search}`);
    assert.equal(again.statusCode, 400);
    assert.equal((again.body as any).field, 'query.state');
  });

  test('a token that expires mid-run: the 401 triggers one refresh and the call succeeds', async () => {
    const stats0 = await ctx.jira.oauthStats();
    await ctx.jira.expireTokens();
    await testTicket('oauth');
    const stats1 = await ctx.jira.oauthStats();
    assert.equal(stats1.refreshToken - stats0.refreshToken, 1);
  });

  test('50 concurrent calls on an expired token make exactly one refresh request', async () => {
    // The connection's own workflows (its tracker, the webhook keep-alive) would meet the expired token too and
    // could refresh it before the 50 calls: they are ended first, so that the count is the API's alone.
    await ctx.tf.trackers.stop('oauth', 'the test counts refreshes');
    await stopWebhookKeepAlive(ctx.tf.client, 'oauth');
    for (const id of [trackerWorkflowId('oauth'), jiraWebhooksWorkflowId('oauth')]) await ctx.tf.client.workflow.getHandle(id).result().catch(() => {});
    await ctx.jira.expireTokens();
    // Our side also believes the token is stale, so every call takes the refresh path.
    // Merged under the row lock: a refresh of the worker's meanwhile (its calls met the expired token too) must
    // not be written over with the refresh token it rotated out.
    await mergeSecrets(ctx.orm.em.fork(), ctx.tf.secrets, 'oauth', { refresh_at: 0 });
    const stats0 = await ctx.jira.oauthStats();
    const answers = await Promise.all(Array.from({ length: 50 }, () => ctx.tf.http.get('api/v1/connection/oauth/jira/statuses')));
    assert.deepEqual([...new Set(answers.map((a) => a.statusCode))], [200], JSON.stringify(answers.find((a) => a.statusCode !== 200)?.body));
    const stats1 = await ctx.jira.oauthStats();
    assert.equal(stats1.refreshToken - stats0.refreshToken, 1, 'one refresh for 50 calls');
    assert.equal(stats1.reusedRefreshTokens, 0, 'no rotated-out refresh token was ever presented');
  });

  test('initiate for an unknown connection → 404; callback with a bad state → 400', async () => {
    assert.equal((await ctx.tf.http.post('api/v1/oauth/jira/initiate', { json: { connection_key: 'ghost' } })).statusCode, 404);
    assert.equal((await ctx.tf.http.get('api/v1/oauth/jira/callback?code=x&state=forged')).statusCode, 400);
  });
});

describe('Jira Server / Data Center', () => {
  test('personal access token (Bearer), REST v2, description in escaped wiki markup', async () => {
    await configureConnection(ctx.tf, 'dc', ctx.strictJira.url, { auth_method: 'pat', api_key: STRICT_PAT, username: undefined, description_template: 'Policy: __POLICY_NAME__' });
    assert.equal(((await ctx.tf.http.get('api/v1/connection/dc/jira/test')).body as any).status, 'connected');
    await ctx.tf.http.post('api/v1/privacy-request', { json: { id: 'pri_dc', request_type: 'access', status: 'approved', policy_name: 'x[link](http://evil) {code}' } });
    const instance = await eventually(
      async () => ((await ctx.tf.http.get('api/v1/privacy-request/pri_dc/jira-tickets')).body as any[]).find((i) => i.connection_key === 'dc' && i.ticket_key),
      'the Data Center ticket',
    );
    const create = (await ctx.strictJira.requests()).find((r) => r.method === 'POST' && r.path === '/rest/api/2/issue' && r.status === 201)!;
    assert.ok(create, 'created through REST v2');
    const issue = (await ctx.strictJira.issues()).find((i) => i.key === instance.ticket_key)!;
    assert.equal(issue.fields.description, 'Policy: x\\[link\\](http://evil) \\{code\\}');
  });

  test('escaping: user values are text in wiki markup', async () => {
    const { escapeWiki } = await import('../src/jira/client.js');
    assert.equal(escapeWiki('x[link](http://evil) {code} *b*'), 'x\\[link\\](http://evil) \\{code\\} \\*b\\*');
  });

  test('wrong PAT → bad_credentials; Basic user:password works', async () => {
    // Credentials alone are saved without asking Jira; the connection test then says what is wrong.
    assert.equal((await ctx.tf.http.put('api/v1/connection/dc/secret', { json: { auth_method: 'pat', api_key: 'wrong-pat' } })).statusCode, 200);
    assert.equal(((await ctx.tf.http.get('api/v1/connection/dc/jira/test')).body as any).reason, 'bad_credentials');
    await configureConnection(ctx.tf, 'dc', ctx.strictJira.url, { auth_method: 'basic', username: 'bot@example.com', api_key: STRICT_TOKEN });
    assert.equal(((await ctx.tf.http.get('api/v1/connection/dc/jira/test')).body as any).status, 'connected');
    const projects = await ctx.tf.http.get('api/v1/connection/dc/jira/projects/PRIV/issuetypes');
    assert.deepEqual((projects.body as any[]).map((t) => t.name).sort(), ['Bug', 'Story', 'Task']);
    await ctx.tf.http.patch('api/v1/connection', { json: [{ key: 'dc', name: 'dc', connection_type: 'jira_ticket', access: 'write', disabled: true }] });
  });
});

test('no secret, token, code or state reaches the logs', async () => {
  const lines: string[] = [];
  setLogSink((_level, line) => lines.push(line));
  setLogLevel('debug');
  try {
    await configureConnection(ctx.tf, 'logged', ctx.jira.url, { api_key: 'very-secret-api-key-42' });
    await ctx.tf.http.put('api/v1/connection/logged/secret', { json: { api_key: 'another-secret-api-key-43', username: 'private.person@example.com' } });
    await ctx.tf.http.put('api/v1/connection/logged/secret', { json: { auth_method: 'oauth2' } });
    const init = await ctx.tf.http.post('api/v1/oauth/jira/initiate', { json: { connection_key: 'logged' } });
    const consent = await got.get((init.body as any).authorization_url, { followRedirect: false });
    const back = new URL(consent.headers.location!);
    await ctx.tf.http.get(`api/v1/oauth/jira/callback${back.search}`);
    await ctx.tf.http.post('api/v1/connection/logged/jira/test-ticket');
    const c = await ctx.orm.em.fork().findOneOrFail(Connection, { key: 'logged' });
    const stored = ctx.tf.secrets.read(c);
    const secrets = ['very-secret-api-key-42', 'another-secret-api-key-43', 'private.person@example.com', back.searchParams.get('code')!, back.searchParams.get('state')!, String(stored.access_token), String(stored.refresh_token)];
    assert.ok(lines.length >= 6, `captured ${lines.length} lines`);
    for (const secret of secrets) assert.ok(!lines.some((l) => l.includes(secret)), `${secret.slice(0, 6)}… appears in the logs`);
  } finally {
    setLogSink(null);
    setLogLevel('warn');
    await ctx.tf.http.patch('api/v1/connection', { json: [{ key: 'logged', name: 'l', connection_type: 'jira_ticket', access: 'write', disabled: true }] });
  }
});
