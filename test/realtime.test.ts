import { createHmac, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { JiraClient } from '../src/jira/client.js';
import { JiraApiError } from '../src/jira/errors.js';
import { missingIssues, readSnapshots, SnapshotReads } from '../src/jira/snapshot.js';
import { eventually } from './helpers/infra.js';
import { approvedRequest, useStack } from './helpers/ticketflow.js';

/** Webhooks and coalesced reads: the mechanisms behind the real-time and scale goals (the rate limits: jira-budget.test.ts). */

const ctx = useStack();
const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdef';
const api = () => ctx.tf.http;
const jiraClient = () =>
  new JiraClient({ siteUrl: ctx.jira.url, apiBaseUrl: ctx.jira.url, flavor: 'cloud', auth: { kind: 'basic', username: 'bot@example.com', password: 'x' } }, 5_000);
const jiraCalls = async (since: number, pathEnd?: string) =>
  (await ctx.jira.requests()).filter((r) => r.seq > since && (!pathEnd || r.path.endsWith(pathEnd)));
const lastSeq = async () => (await ctx.jira.requests()).at(-1)?.seq ?? 0;

function issueEvent(issue: { id: string; key: string }, status: { name: string; category: 'new' | 'indeterminate' | 'done' }, extra: Record<string, unknown> = {}) {
  return {
    timestamp: Date.now(),
    webhookEvent: 'jira:issue_updated',
    issue_event_type_name: 'issue_generic',
    issue: {
      id: issue.id,
      key: issue.key,
      self: `${ctx.jira.url}/rest/api/2/issue/${issue.id}`,
      fields: { status: { id: '1', name: status.name, statusCategory: { id: 3, key: status.category, name: status.name } }, updated: new Date().toISOString() },
    },
    changelog: { items: [{ field: 'status', fromString: 'To Do', toString: status.name }] },
    ...extra,
  };
}

/** Posts a delivery as Jira does: raw JSON, X-Hub-Signature over those bytes, a delivery identifier. */
function deliver(payload: unknown, opts: { secret?: string; id?: string; path?: string } = {}) {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-atlassian-webhook-identifier': opts.id ?? randomUUID() };
  if (opts.secret !== undefined) headers['x-hub-signature'] = `sha256=${createHmac('sha256', opts.secret).update(body).digest('hex')}`;
  return api().post(opts.path ?? 'webhooks/jira/jira', { body, headers });
}

async function openTicket(requestId: string) {
  assert.equal((await api().post('api/v1/privacy-request', { json: approvedRequest(requestId) })).statusCode, 201);
  return eventually(async () => ((await api().get(`api/v1/privacy-request/${requestId}/jira-tickets`)).body as any[]).find((i) => i.task_state === 'open' && i.ticket_id), 'ticket open');
}
const ticketOf = async (requestId: string) => ((await api().get(`api/v1/privacy-request/${requestId}/jira-tickets`)).body as any[])[0];

describe('Jira webhooks', () => {
  test('a signed delivery moves the ticket without calling Jira; a bad or missing signature changes nothing; a duplicate applies once', async () => {
    assert.equal((await api().put('api/v1/connection/jira/secret', { json: { webhook_secret: WEBHOOK_SECRET } })).statusCode, 200);
    const open = await openTicket('pri_wh_1');
    const issue = { id: open.ticket_id, key: open.ticket_key };
    const done = issueEvent(issue, { name: 'Done', category: 'done' });

    for (const secret of ['not-the-secret-0123456789', undefined]) {
      const refused = await deliver(done, { secret });
      assert.equal(refused.statusCode, 401);
      assert.match(String(refused.headers['content-type']), /problem\+json/);
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await ticketOf('pri_wh_1')).status_category, 'new', 'refused deliveries change nothing');

    const before = await lastSeq();
    const id = randomUUID();
    const applied = await deliver(done, { secret: WEBHOOK_SECRET, id });
    assert.equal(applied.statusCode, 202);
    assert.deepEqual(applied.body, { status: 'applied', signalled: 1 });
    const moved = await eventually(async () => ((await ticketOf('pri_wh_1')).status === 'Done' ? ticketOf('pri_wh_1') : null), 'status from the webhook');
    assert.equal(moved.task_state, 'waiting_for_data');
    assert.deepEqual(await jiraCalls(before), [], 'no Jira call: the delivery carried the status');

    const again = await deliver(done, { secret: WEBHOOK_SECRET, id });
    assert.equal(again.statusCode, 200);
    assert.deepEqual(again.body, { status: 'duplicate' });
    const history = await ctx.tf.client.workflow.getHandle(open.workflow_id).fetchHistory();
    const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'ticketChanged');
    assert.equal(signals.length, 1, 'Jira retrying a delivery signals once');
  });

  test('without a connection in the path the signature finds the connection; unknown issues are accepted and parked', async () => {
    const open = await openTicket('pri_wh_2');
    const progress = issueEvent({ id: open.ticket_id, key: open.ticket_key }, { name: 'In Progress', category: 'indeterminate' });
    assert.equal((await deliver(progress, { secret: WEBHOOK_SECRET, path: 'webhooks/jira' })).statusCode, 202);
    await eventually(async () => (await ticketOf('pri_wh_2')).status_category === 'indeterminate', 'in progress via /webhooks/jira');

    const unknown = await deliver(issueEvent({ id: '999999', key: 'PRIV-999999' }, { name: 'Done', category: 'done' }), { secret: WEBHOOK_SECRET });
    assert.equal(unknown.statusCode, 202);
    assert.equal((unknown.body as any).status, 'parked');
    assert.equal((await deliver({ nope: true }, { secret: WEBHOOK_SECRET, path: 'webhooks/jira/no_such_connection' })).statusCode, 404);
  });

  test('a deletion event marks the ticket deleted (failed until data or a replacement arrives)', async () => {
    const open = await openTicket('pri_wh_3');
    const deleted = { timestamp: Date.now(), webhookEvent: 'jira:issue_deleted', issue: { id: open.ticket_id, key: open.ticket_key, self: `${ctx.jira.url}/rest/api/2/issue/${open.ticket_id}`, fields: {} } };
    assert.equal((await deliver(deleted, { secret: WEBHOOK_SECRET })).statusCode, 202);
    const failed = await eventually(async () => ((await ticketOf('pri_wh_3')).task_state === 'failed' ? ticketOf('pri_wh_3') : null), 'failed');
    assert.equal(failed.status_category, 'deleted');
  });
});

describe('bulk reads and existence checks', () => {
  test('250 issues cost 3 bulk reads; a deleted one is confirmed by one GET and reads as gone', async () => {
    const client = jiraClient();
    // Seeded by the fake itself: 250 creates in a row would run into its burst limit (100 a second), which is not what this is about.
    const created = (await ctx.jira.bulkCreate({ count: 250, project: 'PRIV', summaryPrefix: 'bulk' })).keys!.map((key) => ({ key }));
    await ctx.jira.transition(created[7]!.key, 'Done');
    await ctx.jira.remove(created[9]!.key);
    const before = await lastSeq();
    const seen = await readSnapshots(client, created.map((c) => c.key));
    const calls = await jiraCalls(before);
    assert.equal(calls.filter((c) => c.path.endsWith('/issue/bulkfetch')).length, 3);
    assert.deepEqual(calls.filter((c) => !c.path.endsWith('/issue/bulkfetch')).map((c) => `${c.method} ${c.path}`), [`GET /rest/api/3/issue/${created[9]!.key}`]);
    assert.deepEqual(calls.flatMap((c) => c.violations), [], 'requests and responses match the OpenAPI description');
    assert.equal(seen.get(created[9]!.key), null);
    assert.equal(seen.get(created[7]!.key)?.statusCategory, 'done');
    assert.equal([...seen.values()].filter((s) => s?.statusCategory === 'new').length, 248);

    // Which still exist, without reading them: one count per 100 keys, and Jira's 400 names the missing one.
    const checkedFrom = await lastSeq();
    assert.deepEqual(await missingIssues(client, created.map((c) => c.key)), [created[9]!.key]);
    const checks = await jiraCalls(checkedFrom);
    assert.deepEqual(
      checks.map((c) => `${c.method} ${c.path.replace(/\d+$/, 'N')} ${c.status}`),
      ['POST /rest/api/3/search/approximate-count 400', 'GET /rest/api/3/issue/PRIV-N 404', 'POST /rest/api/3/search/approximate-count 200', 'POST /rest/api/3/search/approximate-count 200'],
      'three counts (the first refused for the vanished key) and one GET to confirm it',
    );
  });
});

describe('direct reads that share a connection', () => {
  test('reads asked while one is on its way go together: 40 at once cost 2 calls, each gets its own issue, a gone one reads null', async () => {
    const client = jiraClient();
    const created = (await ctx.jira.bulkCreate({ count: 40, project: 'PRIV', summaryPrefix: 'shared' })).keys!;
    await ctx.jira.transition(created[3]!, 'Done');
    await ctx.jira.remove(created[5]!);
    const reads = new SnapshotReads();
    const before = await lastSeq();
    const seen = await Promise.all(created.map((key) => reads.read('conn', client, key)));
    const calls = await jiraCalls(before);
    // The first key alone (nothing else was waiting), then the other 39 in one bulk read, then the GET that
    // confirms the one the bulk read left out.
    assert.deepEqual(
      calls.map((c) => `${c.method} ${c.path.replace(/PRIV-\d+$/, 'PRIV-N')}`),
      ['GET /rest/api/3/issue/PRIV-N', 'POST /rest/api/3/issue/bulkfetch', 'GET /rest/api/3/issue/PRIV-N'],
    );
    assert.deepEqual(seen.map((s) => s?.key ?? null), created.map((k, i) => (i === 5 ? null : k)));
    assert.equal(seen[3]?.statusCategory, 'done');
    // A read of another connection is not held behind this one's, and an error reaches every read it covered.
    const failing = new JiraClient({ siteUrl: 'http://127.0.0.1:9', apiBaseUrl: 'http://127.0.0.1:9', flavor: 'cloud', auth: { kind: 'basic', username: 'x', password: 'x' } }, 1_000);
    const results = await Promise.allSettled([reads.read('broken', failing, 'PRIV-1'), reads.read('broken', failing, 'PRIV-2'), reads.read('conn', client, created[0]!)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'fulfilled']);
  });
});

describe('metrics', () => {
  test('/metrics (open, Prometheus text) counts HTTP requests by route template, Jira calls by connection and endpoint, tickets, webhook outcomes', async () => {
    const res = await ctx.tf.anonymous.get('metrics', { responseType: 'text' });
    assert.equal(res.statusCode, 200);
    const text = res.body;
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    assert.ok(value(/ticketflow_http_requests_total\{route="\/api\/v1\/privacy-request",method="POST",status="201"\} (\d+)/) >= 3, 'approvals counted under their route template');
    assert.doesNotMatch(text, /route="[^"]*pri_wh_1/, 'no ids in labels');
    assert.ok(value(/ticketflow_tickets_created_total\{connection="jira",kind="privacy_request"\} (\d+)/) >= 3);
    assert.ok(value(/ticketflow_jira_calls_total\{connection="jira",endpoint="POST \/rest\/api\/3\/issue",status="201"\} (\d+)/) >= 3);
    assert.ok(value(/ticketflow_webhook_deliveries_total\{outcome="duplicate"\} (\d+)/) >= 1);
    assert.ok(value(/ticketflow_webhook_deliveries_total\{outcome="refused_401"\} (\d+)/) >= 2);
    assert.match(text, /# HELP ticketflow_tracker_cycles_total/);
  });
});
