import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FORBIDDEN_USER, STRICT_TOKEN, approvedRequest, configureConnection, useStack } from './helpers/ticketflow.js';
import { eventually } from './helpers/infra.js';
import { syncNowSignal, trackerWorkflowId } from '../src/tracker/messages.js';
import { Connection, JiraTracker } from '../src/platform/db/entities.js';

/** Connection discovery and checks through the API, against the fake Jira. */

const ctx = useStack();

const get = async (path: string) => {
  const r = await ctx.tf.http.get(`api/v1/connection/${path}`);
  return { status: r.statusCode, body: r.body as any };
};

describe('discovery', () => {
  test('projects the credentials can create issues in', async () => {
    const { status, body } = await get('jira/jira/projects');
    assert.equal(status, 200);
    assert.deepEqual(body.map((p: any) => p.key).sort(), ['PRIV', 'SCRUM']);
  });

  test('issue types of a project, subtasks excluded; unknown project → 404', async () => {
    const { body } = await get('jira/jira/projects/PRIV/issuetypes');
    assert.deepEqual(body.map((t: any) => t.name).sort(), ['Bug', 'Story', 'Task']);
    assert.equal((await get('jira/jira/projects/NOPE/issuetypes')).status, 404);
  });

  test('priorities', async () => {
    const { status, body } = await get('jira/jira/priorities');
    assert.equal(status, 200);
    assert.ok(body.some((p: any) => p.name === 'High'), JSON.stringify(body));
  });

  test('status categories', async () => {
    const { body } = await get('jira/jira/statuses');
    assert.deepEqual(body.map((c: any) => c.key).sort(), ['done', 'indeterminate', 'new']);
  });

  test('template variables with description and example', async () => {
    const { body } = await get('jira/jira/template-variables');
    assert.equal(body.length, 9);
    assert.deepEqual(body.find((v: any) => v.variable === '__EMAIL__'), { variable: '__EMAIL__', description: 'Data subject email address', example: 'user@example.com' });
  });

  test('an unconfigured connection → 409 naming the missing settings; unknown → 404', async () => {
    await ctx.tf.http.patch('api/v1/connection', { json: [{ key: 'bare', name: 'Bare', connection_type: 'jira_ticket', access: 'read' }] });
    const r = await get('bare/jira/projects');
    assert.equal(r.status, 409);
    assert.deepEqual(r.body.missing, ['domain', 'username', 'api_key'], 'discovery needs the credentials only');
    await ctx.tf.http.put('api/v1/connection/bare/secret', { json: { domain: ctx.jira.url, username: 'bot@example.com', api_key: 'k' } });
    assert.equal((await get('bare/jira/projects')).status, 200, 'projects to choose from before one is chosen');
    assert.equal((await get('bare/jira/projects/PRIV/issuetypes')).status, 200);
    const testTicket = await ctx.tf.http.post('api/v1/connection/bare/jira/test-ticket');
    assert.equal(testTicket.statusCode, 409);
    assert.deepEqual((testTicket.body as any).missing, ['project_key', 'issue_type']);
    assert.equal((await get('ghost/jira/projects')).status, 404);
  });
});

describe('preview and test ticket', () => {
  test('preview with sample values and given templates, filters applied', async () => {
    const r = await ctx.tf.http.post('api/v1/connection/jira/jira/preview', {
      json: { summary_template: 'DSR: {{ __REQUEST_TYPE__ | upper }} for __EMAIL__', description_template: 'Due __DUE_DATE__' },
    });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.body, { summary: 'DSR: ERASURE for user@example.com', description: 'Due 2025-02-14 14:00 UTC', due_date: '2025-02-15', labels: [], fields: {}, sample_data: true });
  });

  test('preview renders labels and custom fields as the ticket would carry them, and names a bad one', async () => {
    const r = await ctx.tf.http.post('api/v1/connection/jira/jira/preview', {
      json: { labels: ['dsr', '__REQUEST_TYPE__'], custom_fields: { customfield_10010: '{{ __POLICY_NAME__ | upper }}' } },
    });
    assert.equal(r.statusCode, 200);
    assert.deepEqual((r.body as any).labels, ['dsr', 'erasure']);
    assert.deepEqual((r.body as any).fields, { customfield_10010: 'DEFAULT ERASURE POLICY' });
    const bad = await ctx.tf.http.post('api/v1/connection/jira/jira/preview', { json: { labels: ['ok', '__NOPE__'] } });
    assert.equal(bad.statusCode, 422);
    assert.equal((bad.body as any).field, 'body.labels.1');
    assert.match((bad.body as any).detail, /unknown variable __NOPE__/);
  });

  test('due date: the policy deadline can be chosen explicitly again after a fixed number of days, and null means none', async () => {
    const preview = async () => ((await ctx.tf.http.post('api/v1/connection/jira/jira/preview')).body as any).due_date;
    assert.equal(await preview(), '2025-02-15', 'stored: 30 days after approval (2025-01-16)');
    assert.equal((await ctx.tf.http.put('api/v1/connection/jira/secret', { json: { due_date_config: { type: 'policy_deadline' } } })).statusCode, 200);
    assert.equal(await preview(), '2025-02-14', "the request's policy-derived due date");
    assert.equal((await ctx.tf.http.put('api/v1/connection/jira/secret', { json: { due_date_config: null } })).statusCode, 200);
    assert.equal(await preview(), null);
    const bad = await ctx.tf.http.put('api/v1/connection/jira/secret', { json: { due_date_config: { type: 'policy_deadline', days: 7 } } });
    assert.equal(bad.statusCode, 422);
    assert.match((bad.body as any).field, /^body\.due_date_config/);
    assert.equal((await ctx.tf.http.put('api/v1/connection/jira/secret', { json: { due_date_config: { type: 'fixed_days', days: 30 } } })).statusCode, 200);
  });

  test('the template language: variables and filters, with how to write each', async () => {
    const r = await ctx.tf.http.get('api/v1/templates/syntax');
    assert.equal(r.statusCode, 200);
    const body = r.body as any;
    assert.equal(body.variables.length, 9);
    assert.deepEqual(body.filters.map((f: any) => f.name), ['upper', 'lower', 'title', 'trim', 'replace', 'default', 'truncate']);
    assert.equal(body.filters.find((f: any) => f.name === 'replace').usage, 'replace("old", "new")');
  });

  test('preview with a real request uses its values and the stored templates', async () => {
    await ctx.tf.http.post('api/v1/privacy-request', { json: { ...approvedRequest('pri_preview'), status: 'pending' } });
    const r = await ctx.tf.http.post('api/v1/connection/jira/jira/preview', { json: { privacy_request_id: 'pri_preview' } });
    assert.equal((r.body as any).summary, 'DSR: erasure for jane.doe@example.com');
    assert.equal((r.body as any).sample_data, false);
    const missing = await ctx.tf.http.post('api/v1/connection/jira/jira/preview', { json: { privacy_request_id: 'nope' } });
    assert.equal(missing.statusCode, 404);
  });

  test('preview without a body uses sample values; a JSON null body is refused with 422', async () => {
    assert.equal((await ctx.tf.http.post('api/v1/connection/jira/jira/preview')).statusCode, 200);
    const r = await ctx.tf.http.post('api/v1/connection/jira/jira/preview', { body: 'null', headers: { 'content-type': 'application/json' } });
    assert.equal(r.statusCode, 422);
    assert.equal((r.body as any).field, 'body');
  });

  test('preview refuses a bad template with 422 naming it', async () => {
    const r = await ctx.tf.http.post('api/v1/connection/jira/jira/preview', { json: { summary_template: '{{ __EMAIL__ | reverse }}' } });
    assert.equal(r.statusCode, 422);
    assert.equal((r.body as any).field, 'body.summary_template');
    assert.match((r.body as any).detail, /unknown filter "reverse"/);
  });

  test('test ticket creates a real ticket with sample data', async () => {
    const r = await ctx.tf.http.post('api/v1/connection/jira/jira/test-ticket');
    assert.equal(r.statusCode, 201);
    const body = r.body as any;
    assert.match(body.ticket_key, /^PRIV-\d+$/);
    const issue = (await ctx.jira.issues()).find((i) => i.key === body.ticket_key)!;
    assert.equal(issue.fields.summary, '[TEST] DSR: erasure for user@example.com');
    assert.equal(body.ticket_url, `${ctx.jira.url}/browse/${body.ticket_key}`);
  });
});

describe('ticket fields', () => {
  test('priority, labels, assignee and custom fields from templates reach Jira', async () => {
    await configureConnection(ctx.tf, 'fields', ctx.jira.url, {
      priority: 'High',
      labels: ['dsr', '__REQUEST_TYPE__'],
      assignee_account_id: 'acc-123',
      custom_fields: { customfield_10010: '{{ __POLICY_NAME__ | upper }}', customfield_10011: ['__REQUEST_TYPE__', 'x'], labels: ['policy __POLICY_NAME__'] },
    });
    const r = await ctx.tf.http.post('api/v1/connection/fields/jira/test-ticket');
    assert.equal(r.statusCode, 201);
    const issue = (await ctx.jira.issues()).find((i) => i.key === (r.body as any).ticket_key)!;
    assert.deepEqual(issue.fields.labels, ['ticketflow-test', 'dsr', 'erasure', 'policy_Default_Erasure_Policy']);
    assert.deepEqual(issue.fields.priority, { name: 'High' });
    assert.deepEqual(issue.fields.assignee, { accountId: 'acc-123' });
    assert.equal(issue.fields.customfield_10010, 'DEFAULT ERASURE POLICY');
    assert.deepEqual(issue.fields.customfield_10011, ['erasure', 'x']);
  });

  test('a field that is not on the create screen is refused when saved, naming it, and nothing is saved', async () => {
    await configureConnection(ctx.tf, 'fields', ctx.jira.url);
    const r = await ctx.tf.http.put('api/v1/connection/fields/secret', { json: { custom_fields: { customfield_99999: 'x' } } });
    assert.equal(r.statusCode, 422);
    assert.equal((r.body as any).field, 'body.custom_fields.customfield_99999');
    assert.match((r.body as any).detail, /not on the create screen/);
    assert.equal(((await ctx.tf.http.get('api/v1/connection/fields')).body as any).secrets.custom_fields?.customfield_99999, undefined, 'nothing saved');
    await ctx.tf.http.patch('api/v1/connection', { json: [{ key: 'fields', name: 'f', connection_type: 'jira_ticket', access: 'write', disabled: true }] });
  });

  test('a field Jira refuses at creation still comes back as 422 naming it', async () => {
    // Saved before the check existed (written directly), then refused by Jira when a ticket is created.
    await configureConnection(ctx.tf, 'legacy', ctx.jira.url);
    const em = ctx.orm.em.fork();
    const c = await em.findOneOrFail(Connection, { key: 'legacy' });
    ctx.tf.secrets.write(c, { ...ctx.tf.secrets.read(c), custom_fields: { customfield_99999: 'x' } });
    await em.flush();
    const r = await ctx.tf.http.post('api/v1/connection/legacy/jira/test-ticket');
    assert.equal(r.statusCode, 422);
    assert.equal((r.body as any).field, 'jira.fields.customfield_99999');
    assert.match((r.body as any).detail, /cannot be set/);
    await ctx.tf.http.patch('api/v1/connection', { json: [{ key: 'legacy', name: 'l', connection_type: 'jira_ticket', access: 'write', disabled: true }] });
  });

  test('a bad custom field id or template is refused when saved', async () => {
    const r = await ctx.tf.http.put('api/v1/connection/jira/secret', { json: { custom_fields: { 'not a field': 'x', customfield_1: '__NOPE__' } } });
    assert.equal(r.statusCode, 422);
    const fields = ((r.body as any).errors as Array<{ field: string }>).map((e) => e.field).sort();
    assert.deepEqual(fields, ['body.custom_fields.customfield_1', 'body.custom_fields.not a field']);
  });

  test('a rate limit below one call per second is refused when saved (a tiny one held every call of the connection forever)', async () => {
    for (const rate of [5e-324, 0.001, 0]) {
      const r = await ctx.tf.http.put('api/v1/connection/jira/secret', { json: { rate_limit_per_second: rate } });
      assert.equal(r.statusCode, 422, `rate ${rate}`);
      assert.equal((r.body as any).field, 'body.rate_limit_per_second');
    }
    await configureConnection(ctx.tf, 'slow', ctx.jira.url, { rate_limit_per_second: 1 });
    await ctx.tf.http.patch('api/v1/connection', { json: [{ key: 'slow', name: 'slow', connection_type: 'jira_ticket', access: 'write', disabled: true }] });
  });
});

describe('connection test', () => {
  test('connected', async () => {
    const { body } = await get('jira/jira/test');
    assert.equal(body.status, 'connected');
  });

  // A connection that worked when it was saved, then broke: credentials or the host changed later (a PUT of
  // credentials alone is saved without asking Jira; ticket settings are checked against Jira when they change).
  const breakWith = async (key: string, patch: Record<string, unknown>) => {
    const r = await ctx.tf.http.put(`api/v1/connection/${key}/secret`, { json: patch });
    assert.equal(r.statusCode, 200, JSON.stringify(r.body));
  };

  test('bad credentials', async () => {
    await configureConnection(ctx.tf, 'strict', ctx.strictJira.url, { api_key: STRICT_TOKEN });
    await breakWith('strict', { api_key: 'wrong' });
    const { body } = await get('strict/jira/test');
    assert.equal(body.status, 'failed');
    assert.equal(body.reason, 'bad_credentials');
  });

  test('bad credentials with ticket settings: refused when saved, naming api_key, nothing saved', async () => {
    const r = await ctx.tf.http.put('api/v1/connection/strict/secret', { json: { api_key: 'still-wrong', project_key: 'SCRUM' } });
    assert.equal(r.statusCode, 422);
    assert.equal((r.body as any).field, 'body.api_key');
    assert.equal(((await ctx.tf.http.get('api/v1/connection/strict')).body as any).secrets.project_key, 'PRIV');
  });

  test('project not visible: refused when saved; one that disappears later is found by the test', async () => {
    await configureConnection(ctx.tf, 'strict', ctx.strictJira.url, { api_key: STRICT_TOKEN });
    const r = await ctx.tf.http.put('api/v1/connection/strict/secret', { json: { project_key: 'OTHER' } });
    assert.equal(r.statusCode, 422);
    assert.equal((r.body as any).field, 'body.project_key');
    const em = ctx.orm.em.fork();
    const c = await em.findOneOrFail(Connection, { key: 'strict' });
    ctx.tf.secrets.write(c, { ...ctx.tf.secrets.read(c), project_key: 'OTHER' });
    await em.flush();
    const { body } = await get('strict/jira/test');
    assert.equal(body.reason, 'project_not_found');
  });

  test('missing permission', async () => {
    await configureConnection(ctx.tf, 'readonly', ctx.jira.url);
    await breakWith('readonly', { username: FORBIDDEN_USER });
    const { body } = await get('readonly/jira/test');
    assert.equal(body.reason, 'missing_permission');
    assert.match(body.detail, /403/);
  });

  test('timeout', async () => {
    await ctx.jira.fault({ kind: 'slow', path: '/rest/api/3/myself', delayMs: 4_000 });
    const { body } = await get('jira/jira/test');
    assert.equal(body.reason, 'timeout');
  });

  test('host not found, connection refused', async () => {
    await configureConnection(ctx.tf, 'nohost', ctx.jira.url);
    await breakWith('nohost', { domain: 'https://no-such-host.invalid' });
    assert.equal((await get('nohost/jira/test')).body.reason, 'host_not_found');
    await configureConnection(ctx.tf, 'refused', ctx.jira.url);
    await breakWith('refused', { domain: 'http://127.0.0.1:9' });
    assert.equal((await get('refused/jira/test')).body.reason, 'connection_refused');
  });

  test('ticket settings while Jira cannot be asked: 503 with Retry-After, nothing saved', async () => {
    const r = await ctx.tf.http.put('api/v1/connection/refused/secret', { json: { issue_type: 'Bug' } });
    assert.equal(r.statusCode, 503);
    assert.ok(Number(r.headers['retry-after']) > 0);
    assert.equal(((await ctx.tf.http.get('api/v1/connection/refused')).body as any).secrets.issue_type, 'Task');
  });

  test('wrong URL: Jira answers 404 for the REST API', async () => {
    await configureConnection(ctx.tf, 'wrongpath', ctx.jira.url);
    await breakWith('wrongpath', { domain: `${ctx.jira.url}/wiki` });
    assert.equal((await get('wrongpath/jira/test')).body.reason, 'wrong_url');
    const r = await ctx.tf.http.put('api/v1/connection/wrongpath/secret', { json: { project_key: 'SCRUM' } });
    assert.equal(r.statusCode, 422);
    assert.equal((r.body as any).field, 'body.domain');
  });
});

describe('health and deletion', () => {
  const health = async (key: string) => ((await ctx.tf.http.get(`api/v1/connection/${key}`)).body as any).health;

  test("each connection's health: state, auth method, project, the tracker's last cycle, webhooks, open tickets", async () => {
    const list = await ctx.tf.http.get('api/v1/connection');
    assert.equal(list.statusCode, 200);
    const jira = (list.body as any).items.find((c: any) => c.key === 'jira');
    assert.equal(jira.health.state, 'connected');
    assert.equal(jira.health.auth_method, 'api_token');
    assert.equal(jira.health.project_key, 'PRIV');
    assert.deepEqual(jira.health.webhooks, { kind: 'none', active: false, expires_at: null, delivery_path: null });
    assert.equal(jira.health.quota, null, 'API tokens pay no points');

    await ctx.tf.http.patch('api/v1/connection', { json: [{ key: 'half', name: 'Half', connection_type: 'jira_ticket', access: 'write' }] });
    const half = await health('half');
    assert.equal(half.state, 'not_configured');
    assert.match(half.reason, /domain/);
    await ctx.tf.http.patch('api/v1/connection', { json: [{ key: 'half', name: 'Half', connection_type: 'jira_ticket', access: 'write', disabled: true }] });

    await ctx.tf.trackers.ensure('jira');
    // A cycle after the settings are complete: one may have run (and failed, naming what was missing) between
    // the connection's creation and its settings.
    await ctx.tf.client.workflow.getHandle(trackerWorkflowId('jira')).signal(syncNowSignal);
    const tracked = await eventually(async () => {
      const t = (await health('jira')).tracker;
      return t?.last_error === null ? t : undefined;
    }, 'a tracker cycle without an error');
    assert.ok(tracked.cycle >= 1 && tracked.last_cycle_at, JSON.stringify(tracked));
    assert.equal(tracked.last_error, null);

    await ctx.tf.http.put('api/v1/connection/jira/secret', { json: { webhook_secret: 'a-webhook-secret-of-16+' } });
    assert.deepEqual((await health('jira')).webhooks, { kind: 'admin', active: true, expires_at: null, delivery_path: '/webhooks/jira/jira' });
  });

  test('credentials Jira refused on the tracker\'s last cycle: needs re-authorization', async () => {
    // Saved with the right token (ticket settings are checked against Jira when saved), then a wrong one alone:
    // credentials by themselves are stored unchecked.
    await configureConnection(ctx.tf, 'refused-creds', ctx.strictJira.url, { api_key: STRICT_TOKEN });
    assert.equal((await ctx.tf.http.put('api/v1/connection/refused-creds/secret', { json: { api_key: 'wrong' } })).statusCode, 200);
    // Its own tracker would write over the row below with its next (quiet) cycle: stopped and ended first.
    await ctx.tf.trackers.stop('refused-creds', 'the test writes the last cycle itself');
    await ctx.tf.client.workflow.getHandle(trackerWorkflowId('refused-creds')).result();
    // The row as the tracker's recordTrackerState activity leaves it after a cycle whose delta read got a 401
    // (a tracker with nothing to track calls Jira not at all, so this one would never fail by itself).
    await ctx.orm.em.fork().upsert(JiraTracker, {
      connectionKey: 'refused-creds',
      cycle: 3,
      lastCycleAt: new Date(),
      lastError: 'Jira POST /rest/api/3/search/jql answered 401: Client must be authenticated to access this resource.',
      updatedAt: new Date(),
    });
    const h = await health('refused-creds');
    assert.equal(h.state, 'needs_reauthorization');
    assert.match(h.reason, /give new ones.*401/);
    assert.equal(h.tracker.cycle, 3);
    await ctx.tf.http.patch('api/v1/connection', { json: [{ key: 'refused-creds', name: 'x', connection_type: 'jira_ticket', access: 'write', disabled: true }] });
    assert.equal((await health('refused-creds')).state, 'disabled');
  });

  test('delete: 409 naming the open tickets while enabled; once disabled it goes, and the answer says what becomes of them', async () => {
    await configureConnection(ctx.tf, 'doomed', ctx.jira.url);
    assert.equal((await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_doomed') })).statusCode, 201);
    await eventually(
      async () => ((await ctx.tf.http.get('api/v1/privacy-request/pri_doomed/jira-tickets')).body as any[]).find((i) => i.connection_key === 'doomed' && i.task_state === 'open'),
      'the ticket on the doomed connection',
    );
    assert.equal((await health('doomed')).open_tickets.privacy_request_tickets, 1);

    const refused = await ctx.tf.http.delete('api/v1/connection/doomed');
    assert.equal(refused.statusCode, 409);
    assert.equal((refused.body as any).state, 'has_open_tickets');
    assert.deepEqual((refused.body as any).open_tickets, { privacy_request_tickets: 1, anomaly_links: 0 });
    assert.equal((await ctx.tf.http.get('api/v1/connection/doomed')).statusCode, 200, 'nothing was deleted');

    await ctx.tf.http.patch('api/v1/connection', { json: [{ key: 'doomed', name: 'x', connection_type: 'jira_ticket', access: 'write', disabled: true }] });
    const deleted = await ctx.tf.http.delete('api/v1/connection/doomed');
    assert.equal(deleted.statusCode, 200, JSON.stringify(deleted.body));
    assert.equal((deleted.body as any).deleted, 'doomed');
    assert.match((deleted.body as any).outcome, /stay in Jira/);
    assert.equal((await ctx.tf.http.get('api/v1/connection/doomed')).statusCode, 404);
    assert.equal((await ctx.tf.http.delete('api/v1/connection/doomed')).statusCode, 404);
    const kept = ((await ctx.tf.http.get('api/v1/privacy-request/pri_doomed/jira-tickets')).body as any[]).find((i) => i.connection_key === 'doomed');
    assert.equal(kept.task_state, 'open', "the instance stays in ticketflow's records");

    await ctx.tf.http.patch('api/v1/connection', { json: [{ key: 'unused', name: 'x', connection_type: 'jira_ticket', access: 'write' }] });
    assert.equal((await ctx.tf.http.delete('api/v1/connection/unused')).statusCode, 200, 'an enabled connection without open tickets goes at once');
  });
});
