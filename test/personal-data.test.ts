import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import got from 'got';
import { Keyring } from '../src/platform/keyring.js';
import { PersonalDataSeal } from '../src/personal-data/sealing.js';
import { PersonalDataEraser } from '../src/personal-data/eraser.js';
import { RetentionSchedule } from '../src/personal-data/starts.js';
import { PersonalDataService } from '../src/personal-data/service.js';
import { PrivacyRequestService } from '../src/privacy-requests/service.js';
import { createActivities } from '../src/privacy-requests/activities.js';
import { RETENTION_SCHEDULE_ID, redactionWorkflowId, type RedactionResult, type RetentionResult } from '../src/personal-data/messages.js';
import { setLogLevel, setLogSink } from '../src/platform/log.js';
import { eventually } from './helpers/infra.js';
import { approvedRequest, configureConnection, useStack } from './helpers/ticketflow.js';

/**
 * Personal data: sealed at rest (rows and table files), erased on demand (idempotent, tickets named, the opt-in
 * Jira redaction exactly once under a lost reply), erased by the retention schedule, and never in logs or metrics.
 */

const ctx = useStack();
const EMAIL = 'jane.doe@example.com';
const PHONE = '+1-555-0100';
const MARKER = 'UNIQUE-SUBMITTED-VALUE-5519';
const PERSONAL = [EMAIL, PHONE, MARKER];
type Instance = Record<string, any>;

const sql = <T = Record<string, any>>(query: string, params: unknown[] = []) => ctx.orm.em.getConnection().execute<T[]>(query, params);
const instances = async (id: string) => (await ctx.tf.http.get(`api/v1/privacy-request/${id}/jira-tickets`)).body as Instance[];
const instanceWhere = (id: string, pred: (i: Instance) => boolean, what: string) => eventually(async () => (await instances(id)).find(pred), what);
const erase = (id: string) => ctx.tf.http.delete(`api/v1/privacy-request/${id}/personal-data`);

/** Every row of every table of the application, as text. */
async function everyRow(): Promise<string> {
  const tables = await sql<{ tablename: string }>("select tablename from pg_tables where schemaname = 'public' order by 1");
  const dumps = await Promise.all(tables.map(({ tablename }) => sql(`select coalesce(json_agg(t), '[]'::json) as rows from "${tablename}" t`)));
  return dumps.map((d, i) => `${tables[i]!.tablename}: ${JSON.stringify(d[0]!.rows)}`).join('\n');
}

/** The bytes of a table's files (heap and TOAST) as PostgreSQL keeps them on disk, after a checkpoint wrote them. */
async function tableFiles(table: string): Promise<Buffer> {
  await sql('checkpoint');
  const [rel] = await sql<{ heap: string; toast: string | null }>(
    "select pg_relation_filepath(c.oid) as heap, case when c.reltoastrelid <> 0 then pg_relation_filepath(c.reltoastrelid) end as toast from pg_class c where c.relname = ?",
    [table],
  );
  const files = [rel!.heap, ...(rel!.toast ? [rel!.toast] : [])];
  const parts = await Promise.all(files.map((f) => sql<{ bytes: Buffer }>('select pg_read_binary_file(?) as bytes', [f])));
  return Buffer.concat(parts.map((p) => p[0]!.bytes));
}

async function approveWithData(id: string, connectionKey = 'jira') {
  assert.equal((await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest(id) })).statusCode, 201);
  const open = await instanceWhere(id, (i) => i.connection_key === connectionKey && i.task_state === 'open', `${id} ticket open on ${connectionKey}`);
  const submitted = await ctx.tf.http.post(`api/v1/privacy-request/${id}/jira-tickets/${open.instance_id}/submit-data`, { json: { data: { ssn_marker: MARKER } } });
  assert.equal(submitted.statusCode, 202);
  return open;
}

describe('personal data at rest', () => {
  test('identity and submitted data are sealed: no row and no table file holds an email, phone or submitted value, and the ticket was still rendered with them', async () => {
    const open = await approveWithData('pri_seal_1');
    const [request] = await sql('select identity, email, phone from privacy_request where id = ?', ['pri_seal_1']);
    assert.equal(request!.identity.kid, 'test', 'sealed under the active key of SECRET_KEYS');
    assert.equal(request!.email, null);
    assert.equal(request!.phone, null);
    const [data] = await sql('select sealed, data from submitted_data where instance_id = ?', [open.instance_id]);
    assert.equal(data!.sealed.kid, 'test');
    assert.equal(data!.data, null);

    const rows = await everyRow();
    for (const value of PERSONAL) assert.ok(!rows.includes(value), `${value} is readable in a row`);
    for (const table of ['privacy_request', 'submitted_data']) {
      const bytes = await tableFiles(table);
      assert.ok(bytes.length > 0, `${table} has a file`);
      for (const value of PERSONAL) assert.ok(!bytes.includes(Buffer.from(value)), `${value} is in the files of ${table}`);
    }
    // Opened in one place (personal-data/sealing.ts), where the ticket is rendered.
    const issue = (await ctx.jira.issues()).find((i) => i.key === open.ticket_key)!;
    assert.equal(issue.fields.summary, `DSR: erasure for ${EMAIL}`);
    const seal = new PersonalDataSeal(ctx.tf.secrets.keyring);
    assert.deepEqual(seal.openIdentity({ id: 'pri_seal_1', identity: request!.identity }), { email: EMAIL, phone: PHONE });
    assert.deepEqual(seal.openSubmitted({ instanceId: open.instance_id, sealed: data!.sealed }), { ssn_marker: MARKER });
    assert.throws(() => seal.openIdentity({ id: 'pri_other', identity: request!.identity }), /does not decrypt/, 'a box copied to another request does not open');
  });

  test('rows from before sealing are sealed at start and the tables rewritten, so neither rows nor files keep the plain text; rotation re-seals', async () => {
    const LEGACY = 'legacy.person@example.org';
    const LEGACY_DATA = 'LEGACY-SUBMITTED-2207';
    await sql("insert into privacy_request (id, request_type, status, email, phone) values ('pri_legacy', 'access', 'complete', ?, '+44 20 7946 0000')", [LEGACY]);
    await sql("insert into jira_ticket_instance (instance_id, privacy_request_id, connection_key, workflow_id, task_state, data_submitted) values ('jti_legacy', 'pri_legacy', 'jira', 'privacy-request/pri_legacy/jira/jira', 'completed', true)");
    await sql("insert into submitted_data (instance_id, data, submitted_at) values ('jti_legacy', ?::jsonb, now())", [JSON.stringify({ note: LEGACY_DATA })]);
    assert.ok((await tableFiles('privacy_request')).includes(Buffer.from(LEGACY)), 'the plain text is in the file before (the check can fail)');

    // What every process runs at start (src/main/processes.ts, openAppDatabase), and every retention run.
    const seal = new PersonalDataSeal(ctx.tf.secrets.keyring);
    const counts = await new PersonalDataEraser(ctx.orm, seal).sealLegacyRows();
    assert.equal(counts.sealed, 2);
    const [row] = await sql("select identity, email, phone from privacy_request where id = 'pri_legacy'");
    assert.deepEqual([row!.email, row!.phone], [null, null]);
    assert.deepEqual(seal.openIdentity({ id: 'pri_legacy', identity: row!.identity }), { email: LEGACY, phone: '+44 20 7946 0000' });
    const [data] = await sql("select sealed, data from submitted_data where instance_id = 'jti_legacy'");
    assert.equal(data!.data, null);
    assert.deepEqual(seal.openSubmitted({ instanceId: 'jti_legacy', sealed: data!.sealed }), { note: LEGACY_DATA });
    assert.ok(!(await tableFiles('privacy_request')).includes(Buffer.from(LEGACY)), 'VACUUM FULL rewrote the file without the old row version');
    assert.ok(!(await tableFiles('submitted_data')).includes(Buffer.from(LEGACY_DATA)));

    // Rotation: a new key first; start-up re-seals every box, which the old key set then cannot open.
    const newKey = `k9:${Buffer.alloc(32, 9).toString('base64')}`;
    const rotated = new PersonalDataSeal(new Keyring(`${newKey},${ctx.tf.secretKeys}`));
    assert.deepEqual(rotated.openIdentity({ id: 'pri_legacy', identity: row!.identity }), { email: LEGACY, phone: '+44 20 7946 0000' }, 'old boxes open under the rotated set');
    const again = await new PersonalDataEraser(ctx.orm, rotated).sealLegacyRows();
    assert.ok(again.resealed >= 2, `re-sealed ${again.resealed}`);
    assert.equal((await sql("select identity->>'kid' as kid from privacy_request where id = 'pri_legacy'"))[0]!.kid, 'k9');
    assert.deepEqual((await sql("select count(*)::int as n from privacy_request where identity->>'kid' <> 'k9'"))[0]!.n, 0);
    // Back to the test key for the rest of the file.
    await new PersonalDataEraser(ctx.orm, new PersonalDataSeal(new Keyring(`${ctx.tf.secretKeys},${newKey}`))).sealLegacyRows();
    assert.equal((await sql("select count(*)::int as n from privacy_request where identity->>'kid' <> 'test'"))[0]!.n, 0);
  });
});

describe('erasure on demand', () => {
  test('erases identity and submitted data, names the tickets rendered from personal variables, keeps the rest, is idempotent, and the workflow goes on', async () => {
    const open = await approveWithData('pri_erase_1');
    const res = await erase('pri_erase_1');
    assert.equal(res.statusCode, 200);
    const report = res.body as any;
    assert.deepEqual(report.erased, { identity: ['email', 'phone'], submitted_data: [open.instance_id] });
    assert.ok(report.erased_at);
    assert.deepEqual(
      report.tickets.filter((t: any) => t.connection_key === 'jira'),
      [{ instance_id: open.instance_id, connection_key: 'jira', ticket_key: open.ticket_key, personal_fields: ['summary'], jira_redaction: 'not_enabled' }],
    );

    const [request] = await sql('select * from privacy_request where id = ?', ['pri_erase_1']);
    assert.equal(request!.identity, null);
    assert.equal(request!.status, 'approved');
    assert.ok(request!.submitted_at && request!.approved_at, 'timestamps kept');
    const [data] = await sql('select * from submitted_data where instance_id = ?', [open.instance_id]);
    assert.equal(data!.sealed, null);
    assert.ok(data!.erased_at && data!.submitted_at, 'the facts kept: submitted (when) and erased (when)');
    const kept = (await instances('pri_erase_1')).find((i) => i.instance_id === open.instance_id)!;
    assert.equal(kept.ticket_key, open.ticket_key);
    assert.equal(kept.data_submitted, true);
    assert.equal(kept.task_state, 'open');
    const shown = (await ctx.tf.http.get('api/v1/privacy-request/pri_erase_1')).body as any;
    assert.equal(shown.personal_data_erased_at, report.erased_at);

    // Idempotent: nothing more to erase, the same tickets named, the first erasure's time kept.
    const twice = (await erase('pri_erase_1')).body as any;
    assert.deepEqual(twice.erased, { identity: [], submitted_data: [] });
    assert.equal(twice.erased_at, report.erased_at);
    assert.deepEqual(twice.tickets, report.tickets);

    // The workflow is unaffected: the ticket done, it completes (the fact that data was submitted is enough).
    await ctx.jira.transition(open.ticket_key, 'Done');
    assert.equal((await ctx.tf.http.post(`api/v1/privacy-request/pri_erase_1/jira-tickets/${open.instance_id}/refresh`)).statusCode, 200);
    await instanceWhere('pri_erase_1', (i) => i.instance_id === open.instance_id && i.task_state === 'completed', 'completed after the erasure');
  });

  test('needs an admin token; an unknown request is a 404 that changes nothing', async () => {
    const { token } = await ctx.tf.tokens.create('upstream', ['write']);
    const writer = got.extend({ prefixUrl: ctx.tf.base, throwHttpErrors: false, retry: { limit: 0 }, responseType: 'json', headers: { authorization: `Bearer ${token}` } });
    const refused = await writer.delete('api/v1/privacy-request/pri_seal_1/personal-data');
    assert.equal(refused.statusCode, 403);
    assert.equal((refused.body as any).required_scope, 'admin');
    assert.equal((await writer.delete('api/v1/privacy-request/pri_seal_1/personal-data/')).statusCode, 403, 'a trailing slash needs admin too');
    assert.ok((await sql("select identity from privacy_request where id = 'pri_seal_1'"))[0]!.identity, 'still there');
    const missing = await erase('pri_nobody');
    assert.equal(missing.statusCode, 404);
  });

  test('with the connection opted in, the rendered ticket is redacted in Jira exactly once, though the reply of the edit is lost', async () => {
    await configureConnection(ctx.tf, 'redacting', ctx.jira.url, {
      redact_personal_data_in_jira: true,
      summary_template: 'DSR for {{ __EMAIL__ | lower }} (__REQUEST_ID__)',
      description_template: 'Call __PHONE__ about request __REQUEST_ID__.',
    });
    const open = await approveWithData('pri_redact_1', 'redacting');
    const issue = async () => (await ctx.jira.issues()).find((i) => i.key === open.ticket_key)!;
    assert.equal((await issue()).fields.summary, `DSR for ${EMAIL} (pri_redact_1)`);

    await ctx.jira.fault({ kind: 'lost_reply', method: 'PUT', path: `/rest/api/3/issue/${open.ticket_key}`, times: 1 });
    const report = (await erase('pri_redact_1')).body as any;
    const ticket = report.tickets.find((t: any) => t.connection_key === 'redacting');
    assert.deepEqual(ticket, { instance_id: open.instance_id, connection_key: 'redacting', ticket_key: open.ticket_key, personal_fields: ['summary', 'description'], jira_redaction: 'pending' });
    assert.equal(report.tickets.find((t: any) => t.connection_key === 'jira').jira_redaction, 'not_enabled', 'the other connection did not opt in');

    const result = (await ctx.tf.client.workflow.getHandle(redactionWorkflowId('pri_redact_1')).result()) as RedactionResult;
    assert.deepEqual(result, { redacted: [], alreadyRedacted: [open.ticket_key], ticketGone: [], failed: [] }, 'the retry found the edit the lost reply had made');
    const redacted = await issue();
    assert.equal(redacted.fields.summary, 'DSR for  (pri_redact_1)', 'the template rendered with the erased (empty) values');
    assert.ok(!JSON.stringify(redacted.fields).includes(EMAIL) && !JSON.stringify(redacted.fields).includes(PHONE), JSON.stringify(redacted.fields));
    assert.match(JSON.stringify(redacted.fields.description), /Call\s+about request pri_redact_1\./);
    const edits = (await ctx.jira.requests()).filter((r) => r.method === 'PUT' && r.path.endsWith(`/issue/${open.ticket_key}`));
    assert.equal(edits.length, 1, 'one edit, whose answer was lost; the retry read the ticketflow.redaction property instead');
    assert.equal(edits[0]!.status, -1);
    assert.deepEqual(edits[0]!.violations, [], "the edit conforms to Jira's OpenAPI description");
    await eventually(async () => (await instances('pri_redact_1')).find((i) => i.instance_id === open.instance_id), 'instance');
    assert.equal((await sql('select jira_redaction from jira_ticket_instance where instance_id = ?', [open.instance_id]))[0]!.jira_redaction, 'done');

    // Asked again: answered as done, and Jira is not edited again.
    const again = (await erase('pri_redact_1')).body as any;
    assert.equal(again.tickets.find((t: any) => t.connection_key === 'redacting').jira_redaction, 'done');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await ctx.jira.requests()).filter((r) => r.method === 'PUT' && r.path.endsWith(`/issue/${open.ticket_key}`)).length, 1);
    await ctx.tf.http.patch('api/v1/connection', { json: [{ key: 'redacting', name: 'r', connection_type: 'jira_ticket', access: 'write', disabled: true }] });
  });
});

test('with a retention of 0, nothing is kept beyond the moment a request is denied or its manual tasks complete', async () => {
  const none = new PersonalDataService(ctx.orm, ctx.tf.secrets.keyring, ctx.tf.client, ctx.tf.taskQueue, { personalDataRetentionDays: 0, auditLogRetentionDays: 365, sweepMinutes: 60 });
  const requests = new PrivacyRequestService(ctx.orm, ctx.tf.client, ctx.tf.kit, ctx.tf.starts, none);
  const facts = { requestType: 'access', submittedAt: null, approvedAt: null, dueDate: null, policyName: null, requestUrl: null, identity: { email: EMAIL, phone: PHONE } };
  await requests.upsert({ id: 'pri_zero_denied', status: 'denied', ...facts });
  const [denied] = await sql("select identity, personal_data_erased_at, closed_at from privacy_request where id = 'pri_zero_denied'");
  assert.equal(denied!.identity, null, 'erased as it was denied');
  assert.ok(denied!.personal_data_erased_at && denied!.closed_at);

  await requests.upsert({ id: 'pri_zero_done', status: 'in_processing', ...facts });
  await sql("insert into jira_ticket_instance (instance_id, privacy_request_id, connection_key, workflow_id, task_state, data_submitted) values ('jti_zero', 'pri_zero_done', 'jira', 'privacy-request/pri_zero_done/jira/jira', 'completed', true)");
  assert.ok((await sql("select identity from privacy_request where id = 'pri_zero_done'"))[0]!.identity, 'kept while the request is open');
  const activities = createActivities({ orm: ctx.orm, kit: ctx.tf.kit, personal: none });
  assert.deepEqual(await activities.completeManualTask({ instanceId: 'jti_zero' }), { requestCompleted: true });
  assert.equal((await sql("select identity from privacy_request where id = 'pri_zero_done'"))[0]!.identity, null, 'erased as its manual tasks completed');
  assert.deepEqual(await activities.completeManualTask({ instanceId: 'jti_zero' }), { requestCompleted: true }, 'a retried attempt is harmless');
});

describe('the retention schedule', () => {
  const handle = () => ctx.tf.client.schedule.getHandle(RETENTION_SCHEDULE_ID);
  after(() => handle().delete().catch(() => {}));

  test('is a Temporal Schedule with a readable id and summary, ensured idempotently; a run erases what is due, keeps the rest, and says what it erased', async () => {
    const schedule = new RetentionSchedule(ctx.tf.client, ctx.tf.taskQueue, { personalDataRetentionDays: 30, auditLogRetentionDays: 365, sweepMinutes: 60 });
    assert.equal(await schedule.ensure(), 'created');
    assert.equal(await schedule.ensure(), 'updated', 'a second process (or a restart) keeps the one schedule');
    const desc = await handle().describe();
    assert.equal(desc.scheduleId, 'ticketflow-retention');
    assert.equal(desc.spec.intervals?.[0]?.every, 3_600_000);
    assert.equal(desc.action.type, 'startWorkflow');
    assert.equal((desc.action as any).workflowType, 'retentionSweep');
    assert.equal((desc.action as any).taskQueue, ctx.tf.taskQueue);
    assert.match(String((desc.action as any).staticSummary), /^Erases the personal data of privacy requests 30 days after their manual tasks complete or they are canceled or denied; deletes audit entries older than 365 days/);
    assert.match(String(desc.state.note), /every 60 min/);
    assert.ok(!JSON.stringify(desc.action).includes('@'), 'its input holds numbers of days, no personal data');

    // One request denied 31 days ago, one today.
    for (const id of ['pri_denied_old', 'pri_denied_new']) assert.equal((await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest(id, { status: 'denied' }) })).statusCode, 201);
    await sql("update privacy_request set closed_at = now() - interval '31 days' where id = 'pri_denied_old'");
    await handle().trigger();
    const workflowId = await eventually(async () => (await handle().describe()).info.recentActions[0]?.action.workflow.workflowId, 'a run');
    assert.match(workflowId, /^retention-sweep/);
    const run = ctx.tf.client.workflow.getHandle(workflowId);
    const result = (await run.result()) as RetentionResult;
    assert.ok(result.requestIds.includes('pri_denied_old'), JSON.stringify(result));
    assert.ok(!result.requestIds.includes('pri_denied_new'));
    assert.equal((await sql("select identity from privacy_request where id = 'pri_denied_old'"))[0]!.identity, null);
    assert.ok((await sql("select identity from privacy_request where id = 'pri_denied_new'"))[0]!.identity);
    const details = (await run.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
    assert.match(details, /erased the personal data of \d+ request\(s\) \(.*pri_denied_old.*\)/);
  });
});

test('erasure, redaction, retention and the audit log write no personal data to logs, metrics or audit entries', async () => {
  const lines: string[] = [];
  setLogSink((_level, line) => lines.push(line));
  setLogLevel('debug');
  try {
    await approveWithData('pri_logs_1');
    assert.equal((await erase('pri_logs_1')).statusCode, 200);
    assert.equal((await ctx.tf.http.get('api/v1/audit', { searchParams: { target: 'pri_logs_1' } })).statusCode, 200);
    await ctx.tf.http.post('api/v1/connection/jira/jira/preview', { json: { privacy_request_id: 'pri_seal_1' } });
    assert.ok(lines.length >= 5, `captured ${lines.length} lines`);
    for (const value of PERSONAL) assert.ok(!lines.some((l) => l.includes(value)), `${value} appears in the logs`);
  } finally {
    setLogSink(null);
    setLogLevel('warn');
  }
  const metrics = (await ctx.tf.anonymous.get('metrics', { responseType: 'text' })).body as unknown as string;
  assert.match(metrics, /ticketflow_personal_data_erasures_total\{reason="on_demand"\} [1-9]/);
  for (const value of PERSONAL) assert.ok(!metrics.includes(value), `${value} in the metrics`);
  const audit = JSON.stringify(await sql('select * from audit_log'));
  assert.ok(audit.includes('pri_logs_1'));
  for (const value of PERSONAL) assert.ok(!audit.includes(value), `${value} in the audit log`);
});
