import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Orm } from '../src/platform/db/orm.js';
import { Connection } from '../src/platform/db/entities.js';
import { eventually, fakeJira, testDatabase, type FakeJira } from './helpers/infra.js';
import { approvedRequest, callbackReceiver, configureConnection, startTicketflow, type Ticketflow } from './helpers/ticketflow.js';
import { fileCleanup } from './helpers/cleanup.js';

/** The product end to end through HTTP: real API, real worker, real Temporal and PostgreSQL, fake Jira process. */

type Instance = Record<string, any>;
let orm: Orm;
let jira: FakeJira;
let tf: Ticketflow;
let upstream: Awaited<ReturnType<typeof callbackReceiver>>;
const SECRET = 'upstream-shared-secret-0123456789';

const cleanup = fileCleanup();

before(async () => {
  [orm, jira, upstream] = await Promise.all([testDatabase(cleanup), fakeJira(cleanup), callbackReceiver(cleanup, SECRET)]);
  tf = await startTicketflow(cleanup, orm, { upstream: { url: upstream.url, secret: SECRET } });
  await configureConnection(tf, 'jira_main', jira.url);
});

const tickets = async (id: string) => (await tf.http.get(`api/v1/privacy-request/${id}/jira-tickets`)).body as Instance[];
const ticketWhere = (id: string, pred: (i: Instance) => boolean, what: string) =>
  eventually(async () => (await tickets(id)).find(pred), what);

describe('privacy request, end to end', () => {
  test('approve → ticket in Jira → Done → submit data → completed, callbacks signed and delivered', async () => {
    const res = await tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_e2e_1') });
    assert.equal(res.statusCode, 201);
    const open = await ticketWhere('pri_e2e_1', (i) => i.task_state === 'open', 'ticket open');
    assert.match(open.ticket_key, /^PRIV-\d+$/);
    assert.equal(open.status_category, 'new');
    assert.equal(open.ticket_url, `${jira.url}/browse/${open.ticket_key}`);

    const issue = (await jira.issues()).find((i) => i.key === open.ticket_key)!;
    assert.equal(issue.fields.summary, 'DSR: erasure for jane.doe@example.com');
    assert.equal(issue.fields.duedate, '2025-02-15', '30 days after approval');
    assert.deepEqual(issue.fields.labels, [`ticketflow-${open.instance_id}`]);

    await jira.transition(open.ticket_key, 'Done');
    // Refresh answers with the ticket as Jira has it now: the workflow read it before the answer.
    const refreshed = await tf.http.post(`api/v1/privacy-request/pri_e2e_1/jira-tickets/${open.instance_id}/refresh`);
    assert.equal(refreshed.statusCode, 200);
    assert.equal((refreshed.body as unknown as Instance).task_state, 'waiting_for_data');
    assert.equal((refreshed.body as unknown as Instance).status, 'Done');
    assert.equal((await tickets('pri_e2e_1'))[0]!.task_state, 'waiting_for_data', 'and the list says the same');

    const submit = await tf.http.post(`api/v1/privacy-request/pri_e2e_1/jira-tickets/${open.instance_id}/submit-data`, {
      json: { data: { rows_deleted: 12 } },
    });
    assert.equal(submit.statusCode, 202);
    const done = await ticketWhere('pri_e2e_1', (i) => i.task_state === 'completed', 'completed');
    assert.equal(done.data_submitted, true);
    assert.equal(done.status, 'Done');

    const events = await eventually(async () => {
      const mine = upstream.received.filter((c) => c.body.privacyRequestId === 'pri_e2e_1');
      return mine.length >= 2 ? mine : null;
    }, 'two callbacks');
    assert.deepEqual(events.map((e) => e.body.event).sort(), ['privacy_request.manual_tasks_completed', 'ticket.completed']);
    assert.ok(events.every((e) => e.signatureValid), 'callbacks carry a valid HMAC signature');
    const request = (await tf.http.get('api/v1/privacy-request/pri_e2e_1')).body as Record<string, unknown>;
    assert.ok(request.manual_tasks_completed_at, 'request reported complete');

    // Temporal knows the workflow by its readable id, with the search attributes set.
    const handle = tf.client.workflow.getHandle(done.workflow_id);
    assert.deepEqual(await handle.result(), { taskState: 'completed', ticketKey: open.ticket_key });
    const desc = await handle.describe();
    assert.equal(done.workflow_id, 'privacy-request/pri_e2e_1/jira/jira_main');
    assert.equal(desc.status.name, 'COMPLETED');
    assert.deepEqual(desc.searchAttributes.TaskState, ['completed']);
    assert.deepEqual(desc.searchAttributes.JiraTicketKey, [open.ticket_key]);
    assert.deepEqual(desc.searchAttributes.PrivacyRequestId, ['pri_e2e_1']);
  });

  test('repeating the approval never creates a second ticket', async () => {
    const body = approvedRequest('pri_e2e_2');
    assert.equal((await tf.http.post('api/v1/privacy-request', { json: body })).statusCode, 201);
    await ticketWhere('pri_e2e_2', (i) => i.task_state === 'open', 'ticket open');
    for (let n = 0; n < 3; n++) assert.equal((await tf.http.post('api/v1/privacy-request', { json: body })).statusCode, 200);
    await new Promise((r) => setTimeout(r, 500));
    const label = `ticketflow-${(await tickets('pri_e2e_2'))[0]!.instance_id}`;
    const mine = (await jira.issues()).filter((i) => i.fields.labels.includes(label));
    assert.equal(mine.length, 1);
    assert.equal((await tickets('pri_e2e_2')).length, 1);
  });

  test('a reply lost after Jira created the issue still yields exactly one ticket', async () => {
    await jira.fault({ kind: 'lost_reply', method: 'POST', path: '/rest/api/3/issue', times: 1 });
    await tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_e2e_lost') });
    const open = await ticketWhere('pri_e2e_lost', (i) => i.task_state === 'open', 'ticket open', );
    const labelled = (await jira.issues()).filter((i) => i.fields.labels.includes(`ticketflow-${open.instance_id}`));
    assert.equal(labelled.length, 1, 'one issue in Jira');
    const creates = (await jira.requests()).filter((r) => r.method === 'POST' && r.path === '/rest/api/3/issue' && JSON.stringify(r.body).includes(open.instance_id));
    assert.equal(creates.length, 1, 'the retry found the issue instead of creating another');
  });

  test('deleted ticket without data → failed; link a replacement → tracked; canceled request closes it', async () => {
    await tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_e2e_3') });
    const open = await ticketWhere('pri_e2e_3', (i) => i.task_state === 'open', 'ticket open');
    await jira.remove(open.ticket_key);
    await tf.http.post(`api/v1/privacy-request/pri_e2e_3/jira-tickets/${open.instance_id}/refresh`);
    const failed = await ticketWhere('pri_e2e_3', (i) => i.task_state === 'failed', 'failed');
    assert.equal(failed.status_category, 'deleted');

    const missing = await tf.http.post('api/v1/privacy-request/pri_e2e_3/jira-tickets/link', { json: { ticket_key: 'PRIV-9999' } });
    assert.equal(missing.statusCode, 422);
    assert.equal((missing.body as any).field, 'body.ticket_key');

    const other = (await jira.issues()).find((i) => i.key !== open.ticket_key)!;
    const link = await tf.http.post('api/v1/privacy-request/pri_e2e_3/jira-tickets/link', { json: { ticket_key: other.key } });
    assert.equal(link.statusCode, 200);
    assert.equal((link.body as unknown as Instance).ticket_key, other.key, 'link answers the new ticket');
    await ticketWhere('pri_e2e_3', (i) => i.task_state !== 'failed' && i.ticket_key === other.key, 'tracking the linked ticket');

    const cancel = await tf.http.patch('api/v1/privacy-request/pri_e2e_3', { json: { status: 'canceled' } });
    assert.equal(cancel.statusCode, 200);
    await ticketWhere('pri_e2e_3', (i) => i.task_state === 'canceled', 'canceled');
    const after = await tf.http.post(`api/v1/privacy-request/pri_e2e_3/jira-tickets/${open.instance_id}/refresh`);
    assert.equal(after.statusCode, 409);
  });

  test('creation rejected by Jira → creation_failed with Jira\'s message; retry is gated and then works', async () => {
    // Saved when the project existed; then it was renamed in Jira (settings are checked when saved, so the change is written directly).
    await configureConnection(tf, 'jira_bad', jira.url);
    const em = orm.em.fork();
    const c = await em.findOneOrFail(Connection, { key: 'jira_bad' });
    tf.secrets.write(c, { ...tf.secrets.read(c), project_key: 'NOPE' });
    await em.flush();
    await tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_e2e_4') });
    const failed = await ticketWhere('pri_e2e_4', (i) => i.connection_key === 'jira_bad' && i.task_state === 'creation_failed', 'creation failed');
    assert.match(failed.last_error, /project: valid project is required/);
    const attempts = (await jira.requests()).filter((r) => r.method === 'POST' && r.path === '/rest/api/3/issue' && r.status === 400);
    assert.equal(attempts.length, 1, 'a 400 is not retried');

    // Not allowed while the request is paused? It is: paused is one of the allowed statuses. Denied is not.
    await tf.http.patch('api/v1/privacy-request/pri_e2e_4', { json: { status: 'complete' } });
    const refused = await tf.http.post(`api/v1/privacy-request/pri_e2e_4/jira-tickets/${failed.instance_id}/retry`);
    assert.equal(refused.statusCode, 409);
    assert.match((refused.body as any).detail, /approved, in_processing, paused, pending_external, requires_input; it is complete/);
    await tf.http.patch('api/v1/privacy-request/pri_e2e_4', { json: { status: 'in_processing' } });

    await tf.http.put('api/v1/connection/jira_bad/secret', { json: { project_key: 'PRIV' } });
    const retry = await tf.http.post(`api/v1/privacy-request/pri_e2e_4/jira-tickets/${failed.instance_id}/retry`);
    assert.equal(retry.statusCode, 200);
    assert.equal((retry.body as unknown as Instance).task_state, 'creating', 'retry answers the state after it: creating');
    await ticketWhere('pri_e2e_4', (i) => i.connection_key === 'jira_bad' && i.task_state === 'open', 'open after retry');
    const again = await tf.http.post(`api/v1/privacy-request/pri_e2e_4/jira-tickets/${failed.instance_id}/retry`);
    assert.equal(again.statusCode, 409, 'an open ticket cannot be retried');
    assert.match((again.body as any).detail, /only a failed ticket creation can be retried; this instance is open/, 'the workflow\'s validator says why');
    await tf.http.put('api/v1/connection/jira_bad/secret', { json: {} });
    await tf.http.patch('api/v1/connection', { json: [{ key: 'jira_bad', name: 'bad', connection_type: 'jira_ticket', access: 'write', disabled: true }] });
  });
});

describe('bad input changes nothing', () => {
  test('invalid privacy request → 422 naming the fields, nothing stored', async () => {
    const res = await tf.http.post('api/v1/privacy-request', {
      json: { ...approvedRequest('pri_bad'), request_type: 'delete_everything', identity: { email: 'not-an-email' }, extra: true },
    });
    assert.equal(res.statusCode, 422);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    const fields = ((res.body as any).errors as Array<{ field: string }>).map((e) => e.field).sort();
    assert.deepEqual(fields, ['body', 'body.identity.email', 'body.request_type']);
    assert.equal((await tf.http.get('api/v1/privacy-request/pri_bad')).statusCode, 404);
  });

  test('malformed JSON → 400; unknown request → 404; unknown route → 404; all problem+json', async () => {
    const bad = await tf.http.post('api/v1/privacy-request', { body: '{"id":', headers: { 'content-type': 'application/json' } });
    assert.equal(bad.statusCode, 400);
    assert.equal((bad.body as any).field, 'body');
    const unknown = await tf.http.get('api/v1/privacy-request/nope/jira-tickets');
    assert.equal(unknown.statusCode, 404);
    assert.match((unknown.body as any).detail, /privacy request nope does not exist/);
    const route = await tf.http.get('api/v1/nowhere');
    assert.equal(route.statusCode, 404);
    assert.match(String(route.headers['content-type']), /problem\+json/);
  });

  test('NUL characters, which PostgreSQL cannot store, → 400/422 problem+json naming where, not 500', async () => {
    const refused = async (res: { statusCode: number; headers: Record<string, unknown>; body: unknown }, status: number, field: string) => {
      assert.equal(res.statusCode, status, JSON.stringify(res.body));
      assert.match(String(res.headers['content-type']), /problem\+json/);
      assert.equal((res.body as any).field, field);
    };
    await refused(await tf.http.patch('api/v1/connection', { json: [{ key: 'nul', name: 'a\u0000b', connection_type: 'jira_ticket', access: 'read' }] }), 422, 'body.0.name');
    await refused(await tf.http.post('api/v1/privacy-request', { json: { ...approvedRequest('pri_nul'), status: 'pending', policy_name: 'x\u0000' } }), 422, 'body.policy_name');
    await refused(await tf.http.post('api/v1/privacy-request/pri_nul/jira-tickets/jti_x/submit-data', { json: { data: { 'k\u0000': 1 } } }), 422, 'body.data');
    await refused(await tf.http.put('api/anomalies/nul-1', { json: { type: 'shape', status: 'active', failed_checks: ['ok', 'a\u0000'] } }), 422, 'body.failed_checks.1');
    await refused(await tf.http.get('api/v1/connection/a%00b'), 400, 'path');
    await refused(await tf.http.post('api/anomalies/x/ticket-links/a%00/refresh'), 400, 'path');
    await refused(await tf.http.get('api/integrations/ticketing/tickets/search?query=a%00'), 400, 'query');
    await refused(await tf.anonymous.post('webhooks/jira/a%00b', { json: {} }), 400, 'path');
    assert.equal((await tf.http.get('api/v1/privacy-request/pri_nul')).statusCode, 404, 'nothing stored');
    assert.equal((await tf.http.get('api/anomalies/nul-1')).statusCode, 404, 'nothing stored');
  });

  test('a request line over 16 KiB, refused by Node before Express, still gets a problem: 431 problem+json', async () => {
    // fetch rather than got: got reports the server closing on the unread rest of the request as a hang-up.
    const res = await fetch(`${tf.base}/api/v1/oauth/jira/callback?code=${'x'.repeat(20_000)}&state=s`);
    assert.equal(res.status, 431);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.equal(((await res.json()) as any).status, 431);
  });

  test('a method a documented path does not serve → 405 problem+json with Allow, not 404', async () => {
    const del = await tf.http.delete('api/v1/privacy-request');
    assert.equal(del.statusCode, 405);
    assert.equal(del.headers.allow, 'POST');
    assert.match(String(del.headers['content-type']), /problem\+json/);
    const put = await tf.http.put('api/v1/privacy-request/pri_x/jira-tickets', { json: {} });
    assert.equal(put.statusCode, 405);
    assert.equal(put.headers.allow, 'GET, HEAD');
    const trace = await tf.anonymous('healthz', { method: 'TRACE' as 'GET' });
    assert.equal(trace.statusCode, 405);
    assert.equal(trace.headers.allow, 'GET, HEAD');
    assert.equal((await tf.anonymous.put('api/v1/privacy-request/pri_x', { json: {} })).statusCode, 401, 'authentication still comes first');
    assert.equal((await tf.http.delete('api/v1/nowhere')).statusCode, 404);
  });

  test('a bad template is refused when saved and the stored secrets stay as they were', async () => {
    const before = (await tf.http.get('api/v1/connection/jira_main')).body as any;
    const res = await tf.http.put('api/v1/connection/jira_main/secret', { json: { summary_template: 'DSR __NOPE__', project_key: 'priv lower' } });
    assert.equal(res.statusCode, 422);
    const fields = ((res.body as any).errors as Array<{ field: string; message: string }>);
    assert.deepEqual(fields.map((f) => f.field).sort(), ['body.project_key', 'body.summary_template']);
    assert.match(fields.find((f) => f.field === 'body.summary_template')!.message, /unknown variable __NOPE__/);
    const after = (await tf.http.get('api/v1/connection/jira_main')).body as any;
    assert.deepEqual(after.secrets, before.secrets);
    assert.equal(after.secrets.api_key, '**********', 'secrets are masked');
  });

  test('submit-data to a finished instance → 409', async () => {
    const done = (await tickets('pri_e2e_1'))[0]!;
    const res = await tf.http.post(`api/v1/privacy-request/pri_e2e_1/jira-tickets/${done.instance_id}/submit-data`, { json: { data: { x: 1 } } });
    assert.equal(res.statusCode, 409);
  });
});

test('every request ticketflow sent and every answer the fake Jira gave conform to the Jira OpenAPI description', async () => {
  const log = await jira.requests();
  assert.ok(log.length > 10, `exercised the contract (${log.length} requests)`);
  const violations = log.flatMap((r) => r.violations);
  assert.deepEqual(violations, []);
});
