import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FORBIDDEN_USER, STRICT_TOKEN, approvedRequest, configureConnection, useStack } from './helpers/ticketflow.js';
import { Connection } from '../src/platform/db/entities.js';

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
    assert.deepEqual(r.body.missing, ['domain', 'username', 'api_key', 'project_key', 'issue_type']);
    assert.equal((await get('ghost/jira/projects')).status, 404);
  });
});

describe('preview and test ticket', () => {
  test('preview with sample values and given templates, filters applied', async () => {
    const r = await ctx.tf.http.post('api/v1/connection/jira/jira/preview', {
      json: { summary_template: 'DSR: {{ __REQUEST_TYPE__ | upper }} for __EMAIL__', description_template: 'Due __DUE_DATE__' },
    });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.body, { summary: 'DSR: ERASURE for user@example.com', description: 'Due 2025-02-14 14:00 UTC', due_date: '2025-02-15', sample_data: true });
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
