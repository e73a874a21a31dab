import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import got from 'got';
import { Connection } from '../src/platform/db/entities.js';
import { approvedRequest, configureConnection, STRICT_PAT, STRICT_TOKEN, useStack } from './helpers/ticketflow.js';
import { eventually } from './helpers/infra.js';
import { generateOAuth1KeyPair } from '../src/connections/oauth1.js';
import { mergeSecrets } from '../src/connections/service.js';

/**
 * Every Jira setup end to end against the fake Jira: the OAuth modes (Cloud OAuth 2.0, Data Center OAuth 2.0,
 * OAuth 1.0a) from initiate to disconnect, the token modes (Cloud API token, scoped token, Data Center PAT and
 * Basic) from connect to disconnect; Data Center webhooks registered and removed; the status mapping; required
 * and custom fields; closing the loop in Jira.
 */

const ctx = useStack({ dynamicWebhooks: true });
const CALLBACK = 'http://127.0.0.1/api/v1/oauth/jira/callback';
const http = () => ctx.tf.http;

const createConnection = async (key: string) => {
  const r = await http().patch('api/v1/connection', { json: [{ key, name: `Jira ${key}`, connection_type: 'jira_ticket', access: 'write' }] });
  assert.equal(r.statusCode, 200);
};
const putSecret = async (key: string, json: Record<string, unknown>, status = 200) => {
  const r = await http().put(`api/v1/connection/${key}/secret`, { json });
  assert.equal(r.statusCode, status, JSON.stringify(r.body));
  return r.body as any;
};
const ticketSettings = { project_key: 'PRIV', issue_type: 'Task', summary_template: 'DSR: __REQUEST_TYPE__ __REQUEST_ID__' };
const disable = (key: string) => http().patch('api/v1/connection', { json: [{ key, name: key, connection_type: 'jira_ticket', access: 'write', disabled: true }] });
const testTicket = async (key: string) => {
  const r = await http().post(`api/v1/connection/${key}/jira/test-ticket`);
  assert.equal(r.statusCode, 201, JSON.stringify(r.body));
  return r.body as { ticket_key: string; ticket_id: string };
};
/** The ticket's status as Jira says it now, through the connection (a direct read). */
const statusOf = async (key: string, ticketKey: string) => {
  const r = await http().get(`api/integrations/ticketing/tickets/${ticketKey}?connection_key=${key}`);
  assert.equal(r.statusCode, 200, JSON.stringify(r.body));
  return (r.body as any).status as string;
};
const disconnect = async (key: string) => {
  const r = await http().post(`api/v1/connection/${key}/disconnect`);
  assert.equal(r.statusCode, 200, JSON.stringify(r.body));
  return r.body as any;
};
const stored = async (key: string) => ctx.tf.secrets.read(await ctx.orm.em.fork().findOneOrFail(Connection, { key }));
/** Follows the authorization URL as the user's browser would, and hands the callback's query to ticketflow. */
const consent = async (authorizationUrl: string) => {
  const page = await got.get(authorizationUrl, { followRedirect: false, throwHttpErrors: false });
  assert.equal(page.statusCode, 302, page.body);
  const back = new URL(page.headers.location!);
  assert.equal(back.pathname, '/api/v1/oauth/jira/callback');
  return { back, answer: await http().get(`api/v1/oauth/jira/callback${back.search}`) };
};
const initiate = async (key: string) => {
  const r = await http().post('api/v1/oauth/jira/initiate', { json: { connection_key: key } });
  assert.equal(r.statusCode, 200, JSON.stringify(r.body));
  return new URL((r.body as any).authorization_url);
};
const requests = async (pred: (r: { method: string; path: string; status: number }) => boolean, j = ctx.jira) => (await j.requests()).filter(pred);

describe('OAuth modes: initiate → callback → create → refresh → disconnect', () => {
  test('Jira Cloud, OAuth 2.0 (3LO): dynamic webhooks removed and the grant revoked on disconnect', async () => {
    await configureConnection(ctx.tf, 'cloud3lo', ctx.jira.url, { auth_method: 'oauth2', username: undefined, api_key: undefined });
    const url = await initiate('cloud3lo');
    assert.equal(url.pathname, '/authorize');
    const { answer } = await consent(url.toString());
    assert.deepEqual(answer.body, { status: 'connected', connection_key: 'cloud3lo', auth_method: 'oauth2', cloud_id: 'fake-cloud-id', site_url: ctx.jira.url });
    const t = await testTicket('cloud3lo');
    assert.equal((await requests((r) => r.method === 'POST' && r.path.endsWith('/issue'))).at(-1)!.path, '/ex/jira/fake-cloud-id/rest/api/3/issue');
    // refresh: an expired token is refreshed once and the call goes on
    const before = await ctx.jira.oauthStats();
    await ctx.jira.expireTokens();
    assert.equal(await statusOf('cloud3lo', t.ticket_key), 'To Do');
    assert.equal((await ctx.jira.oauthStats()).refreshToken - before.refreshToken, 1);
    // disconnect
    const hook = `${ctx.tf.base}/webhooks/jira/cloud3lo`;
    await eventually(async () => (await ctx.jira.webhooks()).some((w) => w.kind === 'dynamic' && w.url === hook), 'dynamic webhooks registered');
    await eventually(async () => !!(await stored('cloud3lo')).dynamic_webhooks, 'their ids stored');
    const live = (await ctx.jira.oauthStats()).liveAccessTokens;
    const done = await disconnect('cloud3lo');
    assert.equal(done.revocation, 'revoked');
    assert.ok(done.webhooks_removed.length >= 1, JSON.stringify(done));
    assert.deepEqual(done.webhooks_left, []);
    assert.ok(['access_token', 'refresh_token', 'dynamic_webhooks'].every((k) => done.forgotten.includes(k)), done.forgotten.join());
    assert.ok(!(await ctx.jira.webhooks()).some((w) => w.kind === 'dynamic' && w.url === hook), 'no dynamic webhook left');
    assert.ok((await ctx.jira.oauthStats()).liveAccessTokens < live, 'the grant was revoked at Atlassian');
    const s = await stored('cloud3lo');
    assert.equal(s.access_token, undefined);
    assert.equal(s.project_key, 'PRIV', 'ticket settings stay');
    const after = await http().get('api/v1/connection/cloud3lo/jira/test');
    assert.equal(after.statusCode, 409);
    await disable('cloud3lo');
  });

  test('Jira Data Center, OAuth 2.0 (incoming link, PKCE): its own client id and secret sealed, rotating refresh, manual webhook', async () => {
    const app = await ctx.jira.dcOAuthClient(CALLBACK);
    await createConnection('dco2');
    const put = await putSecret('dco2', { auth_method: 'dc_oauth2', domain: `${ctx.jira.url}/rest/api/2/`, oauth_client_id: app.client_id, oauth_client_secret: app.client_secret, redirect_uri: CALLBACK, ...ticketSettings });
    assert.equal(put.secrets.oauth_client_secret, '**********');
    assert.equal(put.secrets.domain, `${ctx.jira.url}/rest/api/2/`, 'stored as given');
    const row = (await ctx.orm.em.getConnection().execute<any[]>('select secrets, credentials from connection where key = ?', ['dco2']))[0];
    assert.ok(!JSON.stringify(row).includes(app.client_secret), 'the client secret is sealed');
    const pending = await http().get('api/v1/connection/dco2/jira/test');
    assert.equal(pending.statusCode, 409);
    assert.match((pending.body as any).detail, /OAuth authorization/);

    const url = await initiate('dco2');
    assert.equal(`${url.origin}${url.pathname}`, `${ctx.jira.url}/rest/oauth2/latest/authorize`, 'the legacy /rest/api/2/ suffix is cut back to the site');
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('scope'), 'WRITE');
    assert.equal(url.searchParams.get('client_id'), app.client_id);
    const { answer } = await consent(url.toString());
    assert.equal(answer.statusCode, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { status: 'connected', connection_key: 'dco2', auth_method: 'dc_oauth2', site_url: ctx.jira.url });
    assert.equal((await ctx.jira.dcStats()).oauth2.pkceFailures, 0);

    const t = await testTicket('dco2');
    const create = (await requests((r) => r.method === 'POST' && r.path === '/rest/api/2/issue' && r.status === 201)).at(-1)!;
    assert.ok(create, 'created through REST v2 with the Bearer token');
    // refresh: expired on both sides → one refresh, the rotated token committed before use
    await ctx.jira.expireDcTokens();
    // Merged under the row lock: a refresh of the worker's meanwhile (its calls met the expired token too) must
    // not be written over with the refresh token it rotated out.
    await mergeSecrets(ctx.orm.em.fork(), ctx.tf.secrets, 'dco2', { refresh_at: 0 });
    const before = (await ctx.jira.dcStats()).oauth2;
    const answers = await Promise.all(Array.from({ length: 10 }, () => statusOf('dco2', t.ticket_key)));
    assert.deepEqual([...new Set(answers)], ['To Do']);
    const after = (await ctx.jira.dcStats()).oauth2;
    assert.equal(after.refreshToken - before.refreshToken, 1, 'one refresh for ten calls');
    assert.equal(after.reusedRefreshTokens, 0);

    // webhooks: a Data Center OAuth 2.0 link cannot manage them, so an administrator pastes one
    const info = (await http().get('api/v1/connection/dco2/jira/webhook')).body as any;
    assert.equal(info.mode, 'manual');
    assert.match(info.detail, /cannot manage webhooks/);
    assert.equal(info.url, `${ctx.tf.base}/webhooks/jira/dco2`);
    assert.equal(info.jql_filter, 'project = "PRIV"');
    assert.deepEqual(info.events, ['jira:issue_created', 'jira:issue_updated', 'jira:issue_deleted', 'comment_created']);
    assert.equal(info.secret, undefined);
    const minted = (await http().post('api/v1/connection/dco2/jira/webhook-secret')).body as any;
    assert.ok(minted.secret.length >= 32, 'the secret to paste, shown once');
    assert.equal(((await http().get('api/v1/connection/dco2/jira/webhook')).body as any).secret_set, true);
    const adminHook = await ctx.jira.addWebhook({ url: info.url, secret: minted.secret, jqlFilter: info.jql_filter });

    const done = await disconnect('dco2');
    assert.equal(done.revocation, 'not_offered');
    assert.ok(done.manual_steps.some((m: string) => /Authorized applications/.test(m)));
    assert.ok(done.manual_steps.some((m: string) => /admin webhook/.test(m)), 'the manual webhook is left to the administrator');
    assert.ok(done.forgotten.includes('access_token') && done.forgotten.includes('webhook_secret'));
    const kept = await stored('dco2');
    assert.equal(kept.oauth_client_id, app.client_id, 'the application link stays registered: authorize again to reconnect');
    assert.equal(kept.refresh_token, undefined);
    await ctx.jira.removeWebhook(adminHook);
    await disable('dco2');
  });

  test('OAuth 1.0a (RSA-SHA1 application link): key pair made here, public key shown, request → authorize → access token, every call signed', async () => {
    await createConnection('o1');
    const put = await putSecret('o1', { auth_method: 'oauth1', domain: `${ctx.jira.url}/secure/Dashboard.jspa`, oauth1_consumer_key: 'ticketflow-o1', oauth1_generate_key: true, redirect_uri: CALLBACK, ...ticketSettings });
    assert.equal(put.secrets.oauth1_private_key, '**********');
    assert.match(put.secrets.oauth1_public_key, /^-----BEGIN PUBLIC KEY-----/);
    assert.equal(put.secrets.oauth1_generate_key, undefined);
    const shown = ((await http().get('api/v1/connection/o1')).body as any).secrets.oauth1_public_key;
    assert.equal(shown, put.secrets.oauth1_public_key, 'the API shows the public key to paste into the application link');
    // The Jira administrator's part: the application link's incoming authentication
    await ctx.jira.appLink('ticketflow-o1', shown);

    const url = await initiate('o1');
    assert.equal(`${url.origin}${url.pathname}`, `${ctx.jira.url}/plugins/servlet/oauth/authorize`);
    const { back, answer } = await consent(url.toString());
    assert.ok(back.searchParams.get('oauth_token') && back.searchParams.get('oauth_verifier'), 'the callback carries oauth_token and oauth_verifier');
    assert.equal(back.searchParams.get('state'), null);
    assert.equal(answer.statusCode, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { status: 'connected', connection_key: 'o1', auth_method: 'oauth1', site_url: ctx.jira.url });
    const again = await http().get(`api/v1/oauth/jira/callback${back.search}`);
    assert.equal(again.statusCode, 400, 'the request token is single-use');
    assert.equal((again.body as any).field, 'query.oauth_token');

    const signed0 = (await ctx.jira.dcStats()).oauth1.signedCalls;
    const t = await testTicket('o1');
    assert.equal(await statusOf('o1', t.ticket_key), 'To Do');
    await ctx.jira.transition(t.ticket_key, 'In Progress');
    assert.equal(await statusOf('o1', t.ticket_key), 'In Progress', 'read again: OAuth 1.0a has no token refresh, the access token stays valid');
    const stats = (await ctx.jira.dcStats()).oauth1;
    assert.ok(stats.signedCalls - signed0 >= 3, `signed calls ${stats.signedCalls - signed0}`);
    assert.equal(stats.refused, 0, 'every signature verified');

    // a request signed with another key is refused by Jira's check (node:crypto, not the client's library)
    // Merged under the row lock, key only: the webhook keep-alive records its registration meanwhile.
    const real = (await stored('o1')).oauth1_private_key;
    await mergeSecrets(ctx.orm.em.fork(), ctx.tf.secrets, 'o1', { oauth1_private_key: generateOAuth1KeyPair().privateKey });
    assert.equal(((await http().get('api/v1/connection/o1/jira/test')).body as any).reason, 'bad_credentials');
    await mergeSecrets(ctx.orm.em.fork(), ctx.tf.secrets, 'o1', { oauth1_private_key: real });
    assert.equal(((await http().get('api/v1/connection/o1/jira/test')).body as any).status, 'connected');

    // An administrator's OAuth 1.0a user registers a Data Center webhook; disconnect removes it.
    await eventually(async () => (await stored('o1')).server_webhook, 'a Data Center webhook registered for the OAuth 1.0a connection');
    const done = await disconnect('o1');
    assert.equal(done.revocation, 'not_offered');
    assert.equal(done.webhooks_removed.length, 1);
    assert.ok(done.forgotten.includes('oauth1_access_token'));
    assert.ok(createPrivateKey(String((await stored('o1')).oauth1_private_key)), 'the key pair stays with the application link');
    assert.equal((await http().get('api/v1/connection/o1/jira/test')).statusCode, 409);
    await disable('o1');
  });
});

describe('token modes: connect → create → status → disconnect', () => {
  const cases = [
    { name: 'Cloud API token', key: 'tok_cloud', jira: () => ctx.strictJira, extra: { auth_method: 'api_token', username: 'bot@example.com', api_key: STRICT_TOKEN }, path: '/rest/api/3/issue' },
    { name: 'Cloud scoped API token', key: 'tok_scoped', jira: () => ctx.jira, extra: { auth_method: 'scoped_api_token' }, path: '/ex/jira/fake-cloud-id/rest/api/3/issue' },
    { name: 'Data Center PAT', key: 'tok_pat', jira: () => ctx.strictJira, extra: { auth_method: 'pat', api_key: STRICT_PAT, username: undefined }, path: '/rest/api/2/issue' },
    { name: 'Data Center Basic', key: 'tok_basic', jira: () => ctx.strictJira, extra: { auth_method: 'basic', username: 'bot@example.com', api_key: STRICT_TOKEN, domain: undefined }, path: '/rest/api/2/issue' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const jira = c.jira();
      const domain = c.key === 'tok_basic' ? `${jira.url}/browse/PRIV-1` : jira.url;
      await configureConnection(ctx.tf, c.key, domain, { ...c.extra, domain });
      assert.equal(((await http().get(`api/v1/connection/${c.key}/jira/test`)).body as any).status, 'connected');
      const t = await testTicket(c.key);
      assert.ok((await requests((r) => r.method === 'POST' && r.path === c.path && r.status === 201, jira)).length, `created through ${c.path}`);
      assert.equal(await statusOf(c.key, t.ticket_key), 'To Do');
      await jira.transition(t.ticket_key, 'Done');
      assert.equal(await statusOf(c.key, t.ticket_key), 'Done');
      const done = await disconnect(c.key);
      assert.ok(done.forgotten.includes('api_key'), done.forgotten.join());
      assert.equal(done.revocation, 'not_offered');
      assert.ok(done.manual_steps.length >= 1, 'says where the owner revokes the token');
      // An administrator's connection has its webhook registered by the keep-alive, which may still be doing so
      // while the disconnect runs: the keep-alive then removes what it registered itself.
      const hook = `${ctx.tf.base}/webhooks/jira/${c.key}`;
      await eventually(async () => !(await jira.webhooks()).some((w) => w.registered && w.url === hook), 'no registered webhook left for the connection');
      const after = await http().get(`api/v1/connection/${c.key}/jira/test`);
      assert.equal(after.statusCode, 409);
      assert.ok((after.body as any).missing.includes('api_key'));
      await disable(c.key);
    });
  }
});

describe('Data Center webhooks', () => {
  test("an administrator's PAT registers one with the connection's JQL scope and a secret; a delivery moves the ticket; a new scope re-registers it; disconnect deletes it", async () => {
    await configureConnection(ctx.tf, 'dchook', ctx.strictJira.url, { auth_method: 'pat', api_key: STRICT_PAT, username: undefined, jql_scope: 'project = "PRIV" AND labels = "dsr"', labels: ['dsr'] });
    const hook = await eventually(async () => (await ctx.strictJira.webhooks()).find((w) => w.registered && w.url === `${ctx.tf.base}/webhooks/jira/dchook`), 'the registered webhook');
    assert.equal(hook.jqlFilter, 'project = "PRIV" AND labels = "dsr"');
    assert.equal(hook.hasSecret, true, 'Jira 10+ signs its deliveries with the secret ticketflow gave it');
    const info = await eventually(async () => {
      const i = (await http().get('api/v1/connection/dchook/jira/webhook')).body as any;
      return i.registered ? i : null;
    }, 'the registration recorded');
    assert.equal(info.mode, 'registered');
    assert.equal(info.registered.id, String(hook.id));
    assert.equal((await http().post('api/v1/connection/dchook/jira/webhook-secret')).statusCode, 409, 'no manual webhook beside a registered one');

    await http().post('api/v1/privacy-request', { json: approvedRequest('pri_dchook') });
    const open = await eventually(
      async () => ((await http().get('api/v1/privacy-request/pri_dchook/jira-tickets')).body as any[]).find((i) => i.connection_key === 'dchook' && i.task_state === 'open'),
      'the ticket',
    );
    const reads = (await ctx.strictJira.requests()).length;
    await ctx.strictJira.transition(open.ticket_key, 'Done');
    const moved = await eventually(
      async () => ((await http().get('api/v1/privacy-request/pri_dchook/jira-tickets')).body as any[]).find((i) => i.instance_id === open.instance_id && i.task_state === 'waiting_for_data'),
      'the change delivered by the Data Center webhook',
    );
    assert.equal(moved.resolution, 'Done');
    assert.ok(!(await ctx.strictJira.requests()).slice(reads).some((r) => r.path.includes(open.ticket_key)), 'applied without reading Jira');

    await putSecret('dchook', { jql_scope: 'project = "PRIV"' });
    const moved2 = await eventually(
      async () => (await ctx.strictJira.webhooks()).find((w) => w.registered && w.url === `${ctx.tf.base}/webhooks/jira/dchook` && w.jqlFilter === 'project = "PRIV"'),
      'the webhook registered anew for the new scope',
    );
    assert.ok(!(await ctx.strictJira.webhooks()).some((w) => w.id === hook.id), 'the old one deleted');
    const done = await disconnect('dchook');
    assert.deepEqual(done.webhooks_removed, [String(moved2.id)]);
    const left = (await ctx.strictJira.webhooks()).filter((w) => w.registered && w.url === `${ctx.tf.base}/webhooks/jira/dchook`);
    assert.deepEqual(left, [], 'no registered webhook left');
    await disable('dchook');
  });

  test("the tracker's delta read is bounded by the connection's JQL scope", async () => {
    await configureConnection(ctx.tf, 'scoped_read', ctx.jira.url, { jql_scope: 'project = "PRIV" AND labels = "scoped"', labels: ['scoped'] });
    await http().post('api/v1/privacy-request', { json: approvedRequest('pri_scope') });
    await eventually(async () => ((await http().get('api/v1/privacy-request/pri_scope/jira-tickets')).body as any[]).find((i) => i.connection_key === 'scoped_read' && i.ticket_key), 'the ticket');
    const { trackerWorkflowId } = await import('../src/tracker/messages.js');
    const { syncNowSignal } = await import('../src/tracker/messages.js');
    await ctx.tf.client.workflow.getHandle(trackerWorkflowId('scoped_read')).signal(syncNowSignal);
    await ctx.tf.client.workflow.getHandle(trackerWorkflowId('scoped_read')).signal(syncNowSignal);
    const search = await eventually(async () => (await ctx.jira.requests()).find((r) => r.path.endsWith('/search/jql') && JSON.stringify(r.body).includes('labels = \\"scoped\\"')), 'a delta read with the scope', 60_000);
    assert.match((search.body as any).jql, /^\(project = "PRIV" AND labels = "scoped"\) AND updated >= -\d+m ORDER BY updated ASC$/);
    await disable('scoped_read');
  });
});

describe('status mapping', () => {
  test('discovery lists statuses per issue type; an unknown status is refused naming it; the mapping decides when the task completes', async () => {
    const statuses = (await http().get('api/v1/connection/jira/jira/projects/PRIV/statuses')).body as any[];
    const task = statuses.find((t) => t.issue_type === 'Task');
    assert.deepEqual(task.statuses.map((s: any) => s.name), ['To Do', 'In Progress', 'Done', 'In Review', "Won't Do"]);
    const id = (name: string) => task.statuses.find((s: any) => s.name === name).id;

    await configureConnection(ctx.tf, 'mapped', ctx.jira.url);
    const bad = await http().put('api/v1/connection/mapped/secret', { json: { done_status_ids: [id('Done'), '99999'] } });
    assert.equal(bad.statusCode, 422);
    assert.equal((bad.body as any).field, 'body.done_status_ids.1');
    assert.match((bad.body as any).detail, /status 99999/);
    // "In Review" and "Done" count as done; "Won't Do" (done category) does not.
    await putSecret('mapped', { done_status_ids: [id('In Review'), id('Done')] });

    await http().post('api/v1/privacy-request', { json: approvedRequest('pri_mapped') });
    const open = await eventually(
      async () => ((await http().get('api/v1/privacy-request/pri_mapped/jira-tickets')).body as any[]).find((i) => i.connection_key === 'mapped' && i.task_state === 'open'),
      'the ticket',
    );
    const refresh = async () => {
      const r = await http().post(`api/v1/privacy-request/pri_mapped/jira-tickets/${open.instance_id}/refresh`);
      assert.equal(r.statusCode, 200, JSON.stringify(r.body));
      return r.body as any;
    };
    await ctx.jira.transition(open.ticket_key, "Won't Do");
    const wontDo = await refresh();
    assert.equal(wontDo.status_category, 'done');
    assert.equal(wontDo.resolution, "Won't Do", 'the resolution is shown');
    assert.equal(wontDo.task_state, 'open', "Won't Do is not done by this mapping");
    await ctx.jira.transition(open.ticket_key, 'In Review');
    const inReview = await refresh();
    assert.equal(inReview.status_category, 'indeterminate');
    assert.equal(inReview.task_state, 'waiting_for_data', 'In Review counts as done by this mapping');
    const submit = await http().post(`api/v1/privacy-request/pri_mapped/jira-tickets/${open.instance_id}/submit-data`, { json: { data: { rows: 1 } } });
    assert.equal(submit.statusCode, 202);
    await eventually(async () => ((await http().get('api/v1/privacy-request/pri_mapped/jira-tickets')).body as any[]).find((i) => i.instance_id === open.instance_id && i.task_state === 'completed'), 'completed');
    await disable('mapped');
  });

  test('without a mapping, the done category decides, "Won\'t Do" included', async () => {
    await configureConnection(ctx.tf, 'unmapped', ctx.jira.url);
    await http().post('api/v1/privacy-request', { json: approvedRequest('pri_unmapped') });
    const open = await eventually(
      async () => ((await http().get('api/v1/privacy-request/pri_unmapped/jira-tickets')).body as any[]).find((i) => i.connection_key === 'unmapped' && i.task_state === 'open'),
      'the ticket',
    );
    await ctx.jira.transition(open.ticket_key, "Won't Do");
    const r = (await http().post(`api/v1/privacy-request/pri_unmapped/jira-tickets/${open.instance_id}/refresh`)).body as any;
    assert.equal(r.task_state, 'waiting_for_data');
    assert.equal(r.resolution, "Won't Do");
    await disable('unmapped');
  });
});

describe('required and custom fields', () => {
  test('discovery lists the required fields with their allowed values', async () => {
    const fields = (await http().get('api/v1/connection/jira/jira/projects/PRIV/issuetypes/Bug/fields')).body as any[];
    const category = fields.find((f) => f.field_id === 'customfield_10020');
    assert.equal(category.required, true);
    assert.deepEqual(category.allowed_values.map((v: any) => v.value), ['Personal', 'Sensitive', 'Anonymous']);
    assert.equal(fields.find((f) => f.field_id === 'summary').required, true);
    assert.equal(fields.find((f) => f.field_id === 'customfield_10020' && f.required) !== undefined, true);
    const task = (await http().get('api/v1/connection/jira/jira/projects/PRIV/issuetypes/Task/fields')).body as any[];
    assert.equal(task.find((f) => f.field_id === 'customfield_10020').required, false);
  });

  test('a required field is refused at save, a disallowed value too; once given, tickets carry typed values', async () => {
    await configureConnection(ctx.tf, 'bugs', ctx.jira.url);
    const unset = await http().put('api/v1/connection/bugs/secret', { json: { issue_type: 'Bug' } });
    assert.equal(unset.statusCode, 422);
    assert.equal((unset.body as any).field, 'body.custom_fields.customfield_10020');
    assert.match((unset.body as any).detail, /Data category.*Personal, Sensitive, Anonymous/);
    assert.equal((await stored('bugs')).issue_type, 'Task', 'nothing saved');
    const disallowed = await http().put('api/v1/connection/bugs/secret', { json: { issue_type: 'Bug', custom_fields: { customfield_10020: 'Secret' } } });
    assert.equal(disallowed.statusCode, 422);
    assert.equal((disallowed.body as any).field, 'body.custom_fields.customfield_10020');
    const badPriority = await http().put('api/v1/connection/bugs/secret', { json: { priority: 'Urgent' } });
    assert.equal(badPriority.statusCode, 422);
    assert.equal((badPriority.body as any).field, 'body.priority');

    await putSecret('bugs', {
      issue_type: 'Bug',
      custom_fields: {
        customfield_10020: 'Personal',
        customfield_10030: ['CRM', 'Billing'],
        customfield_10040: 'acc-reviewer',
        customfield_10050: '42',
        customfield_10060: '2025-03-01',
        customfield_10011: ['__REQUEST_TYPE__', 'policy __POLICY_NAME__'],
        customfield_10070: 'Policy: __POLICY_NAME__',
        customfield_10010: '{{ __POLICY_NAME__ | upper }}',
      },
    });
    await http().post('api/v1/privacy-request', { json: approvedRequest('pri_bug') });
    const instance = await eventually(
      async () => ((await http().get('api/v1/privacy-request/pri_bug/jira-tickets')).body as any[]).find((i) => i.connection_key === 'bugs' && i.ticket_key),
      'the Bug ticket',
    );
    const issue = (await ctx.jira.issues()).find((i) => i.key === instance.ticket_key)!;
    assert.deepEqual(issue.fields.customfield_10020, { value: 'Personal' });
    assert.deepEqual(issue.fields.customfield_10030, [{ value: 'CRM' }, { value: 'Billing' }]);
    assert.deepEqual(issue.fields.customfield_10040, { accountId: 'acc-reviewer' });
    assert.equal(issue.fields.customfield_10050, 42);
    assert.equal(issue.fields.customfield_10060, '2025-03-01');
    assert.deepEqual(issue.fields.customfield_10011, ['erasure', 'policy_Default_Erasure_Policy']);
    assert.equal(issue.fields.customfield_10070.type, 'doc', 'multi-line text is ADF on Cloud');
    assert.equal(issue.fields.customfield_10010, 'DEFAULT ERASURE POLICY');

    const spec = (await http().get('api/integrations/ticketing/form-specification?connection_key=bugs')).body as any;
    const byName = Object.fromEntries(spec.fields.map((f: any) => [f.name, f]));
    assert.equal(spec.issue_type, 'Bug');
    assert.deepEqual(byName.customfield_10020.options.map((o: any) => o.value), ['Personal', 'Sensitive', 'Anonymous']);
    assert.equal(byName.customfield_10020.required, true);
    assert.equal(byName.customfield_10020.set_by_connection, true);
    assert.deepEqual(byName.priority.options.map((o: any) => o.value), ['Highest', 'High', 'Medium', 'Low', 'Lowest']);
    await disable('bugs');
  });
});

describe('closing the loop in Jira', () => {
  test('a canceled request: one comment, posted once though its reply was lost, and the ticket moved to the configured status', async () => {
    const done = ((await http().get('api/v1/connection/jira/jira/projects/PRIV/statuses')).body as any[])[0].statuses.find((s: any) => s.name === 'Done').id;
    await configureConnection(ctx.tf, 'closing', ctx.jira.url, { close_loop: { comment: true, status_id: done } });
    const bad = await http().put('api/v1/connection/closing/secret', { json: { close_loop: { comment: true, status_id: '424242' } } });
    assert.equal(bad.statusCode, 422);
    assert.equal((bad.body as any).field, 'body.close_loop.status_id');
    await http().post('api/v1/privacy-request', { json: approvedRequest('pri_closing') });
    const open = await eventually(
      async () => ((await http().get('api/v1/privacy-request/pri_closing/jira-tickets')).body as any[]).find((i) => i.connection_key === 'closing' && i.task_state === 'open'),
      'the ticket',
    );
    await ctx.jira.fault({ kind: 'lost_reply', method: 'POST', path: `/issue/${open.ticket_key}/comment`, times: 1 });
    assert.equal((await http().patch('api/v1/privacy-request/pri_closing', { json: { status: 'canceled' } })).statusCode, 200);
    const issue = await eventually(async () => {
      const i = (await ctx.jira.issues()).find((x) => x.key === open.ticket_key)!;
      return i.fields.status.name === 'Done' ? i : null;
    }, 'the ticket moved to Done', 30_000);
    const closing = (issue.comments as Array<{ properties: Record<string, any>; body: unknown }>).filter((c) => c.properties['ticketflow.closing']);
    assert.equal(closing.length, 1, 'exactly one closing comment');
    assert.equal(closing[0]!.properties['ticketflow.closing'].id, `${open.instance_id}/canceled`);
    assert.match(JSON.stringify(closing[0]!.body), /was canceled upstream/);
    const posts = await requests((r) => r.method === 'POST' && r.path.endsWith(`/issue/${open.ticket_key}/comment`));
    assert.equal(posts.length, 1, 'the retry found the comment instead of posting again');
    await disable('closing');
  });

  test('a completed task: the comment says so; a ticket already in the status is not moved', async () => {
    const done = ((await http().get('api/v1/connection/jira/jira/projects/PRIV/statuses')).body as any[])[0].statuses.find((s: any) => s.name === 'Done').id;
    await configureConnection(ctx.tf, 'closing2', ctx.jira.url, { close_loop: { comment: true, status_id: done } });
    await http().post('api/v1/privacy-request', { json: approvedRequest('pri_closing2') });
    const open = await eventually(
      async () => ((await http().get('api/v1/privacy-request/pri_closing2/jira-tickets')).body as any[]).find((i) => i.connection_key === 'closing2' && i.task_state === 'open'),
      'the ticket',
    );
    await ctx.jira.transition(open.ticket_key, 'Done');
    await http().post(`api/v1/privacy-request/pri_closing2/jira-tickets/${open.instance_id}/refresh`);
    await http().post(`api/v1/privacy-request/pri_closing2/jira-tickets/${open.instance_id}/submit-data`, { json: { data: { rows: 3 } } });
    const issue = await eventually(async () => {
      const i = (await ctx.jira.issues()).find((x) => x.key === open.ticket_key)!;
      return (i.comments as any[]).some((c) => c.properties['ticketflow.closing']) ? i : null;
    }, 'the closing comment', 30_000);
    assert.match(JSON.stringify((issue.comments as any[]).find((c) => c.properties['ticketflow.closing']).body), /is complete/);
    const moves = await requests((r) => r.method === 'POST' && r.path.endsWith(`/issue/${open.ticket_key}/transitions`));
    assert.equal(moves.length, 0, 'already Done: no transition');
    await disable('closing2');
  });
});

describe('Data Center rate limits', () => {
  test('an empty token bucket answers 429 with Retry-After; the call is held and then goes through', async () => {
    await configureConnection(ctx.tf, 'bucket', ctx.strictJira.url, { auth_method: 'pat', api_key: STRICT_PAT, username: undefined });
    await ctx.strictJira.dcRateLimit({ limit: 2, fillRate: 2, intervalSeconds: 1 });
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push((await http().get('api/v1/connection/bucket/jira/test')).body as any);
      const log = await ctx.strictJira.requests();
      assert.ok(log.some((r) => r.status === 429), 'the bucket ran dry');
      assert.ok(answers.filter((a) => a.status === 'connected').length >= 2);
    } finally {
      await ctx.strictJira.dcRateLimit(null);
    }
    await disable('bucket');
  });
});
