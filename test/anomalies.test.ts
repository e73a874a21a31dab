import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import assert from 'node:assert/strict';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Response } from 'got';
import { ticketAnswer } from '../src/anomalies/ticket-view.js';
import { answerTime } from '../src/anomalies/format.js';
import { ticketViewAnswer } from '../src/anomalies/schemas.js';
import type { TicketView } from '../src/anomalies/messages.js';
import { adfToText } from '../src/jira/adf.js';
import { decodeHistory } from '../src/platform/temporal/codec.js';
import { eventually } from './helpers/infra.js';
import { callbackReceiver, configureConnection, useStack } from './helpers/ticketflow.js';
import { fileCleanup } from './helpers/cleanup.js';

/** Anomaly ↔ ticket links end to end through HTTP, against the real Temporal server and the fake Jira. */

const SECRET = 'upstream-shared-secret-0123456789';
const upstream = await callbackReceiver(fileCleanup(), SECRET);
const ctx = useStack({ upstream: { url: upstream.url, secret: SECRET } });

/** With RECORD_HISTORIES=1 (`npm run record-histories`), keeps a finished workflow's history for the replay test. */
async function maybeRecord(workflowId: string, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  // Stored decrypted: the replay test has no payload keys (they are made per test run).
  const history = await decodeHistory(await ctx.tf.client.workflow.getHandle(workflowId).fetchHistory(), ctx.tf.codec);
  writeFileSync(fileURLToPath(new URL(`../../test/histories/${name}.json`, import.meta.url)), historyToJSON(history));
}

/**
 * Every answer of the anomaly endpoints in this file is checked against the OpenAPI document the API serves: the
 * schema of its path, method and status. The answer schemas are strict, so a field too many or too few fails.
 */
const ajv = new Ajv2020({ strict: false, allErrors: true });
const validators = new Map<string, ValidateFunction>();
let served: Promise<Record<string, any>> | undefined;
async function asDocumented(res: Response): Promise<Response> {
  const path = new URL(res.url).pathname;
  if (!/^\/api\/(anomalies|integrations\/ticketing)\//.test(path) || res.statusCode >= 300) return res;
  served ??= ctx.tf.anonymous.get('openapi.json').then((r) => (r.body as any).paths);
  const paths = await served;
  const method = res.request.options.method.toLowerCase();
  const params = (t: string) => t.split('{').length;
  // A literal segment wins over a parameter (`tickets/search` over `tickets/{ticket_id}`), as Express routes them.
  const [template] = Object.keys(paths)
    .filter((t) => paths[t][method] && new RegExp(`^${t.replace(/\{\w+\}/g, '[^/]+')}$`).test(path))
    .sort((a, b) => params(a) - params(b));
  const key = `${method.toUpperCase()} ${template} ${res.statusCode}`;
  const schema = template && paths[template][method].responses[res.statusCode]?.content?.['application/json']?.schema;
  assert.ok(schema, `${method.toUpperCase()} ${path} answering ${res.statusCode} is documented`);
  let validate = validators.get(key);
  if (!validate) validators.set(key, (validate = ajv.compile(schema)));
  assert.ok(validate(res.body), `${key}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(res.body)}`);
  return res;
}
const documentedApi = () => ctx.tf.http.extend({ responseType: 'json', hooks: { afterResponse: [asDocumented] } });
let client: ReturnType<typeof documentedApi> | undefined;
const api = () => (client ??= documentedApi());
const commentsOf = async (key: string) =>
  ((await ctx.jira.issues()).find((i) => i.key === key)?.comments ?? []).map((c: any) => adfToText(c.body));
const links = async (id: string) => (await api().get(`api/anomalies/${id}/ticket-links`)).body as any[];

const anomaly = (extra: Record<string, unknown> = {}) => ({
  datastore_id: 1,
  type: 'shape',
  status: 'Active',
  detected_at: '2025-12-21T01:48:42Z',
  failed_checks: ['8 values in CUSTOMER_NAME were resolved to 7 distinct entities'],
  url: 'https://dq.example.com/datastores/1/anomalies?id=1',
  ...extra,
});

describe('creating and linking', () => {
  test('the reference sample round-trips: create ticket request in, ticket response shape out', async () => {
    assert.equal((await api().put('api/anomalies/1', { json: anomaly() })).statusCode, 201);
    const r = await api().post('api/integrations/ticketing/anomalies/1/tickets', { json: { title: 'summary of ticket', description: 'description of the ticket', priority: 'Medium' } });
    assert.equal(r.statusCode, 201, JSON.stringify(r.body));
    const body = r.body as any;
    assert.deepEqual(Object.keys(body).sort(), ['anomaly_id', 'connection_key', 'integration_id', 'message', 'ticket']);
    assert.equal(body.anomaly_id, 1);
    assert.equal(typeof body.integration_id, 'number', 'the reference numbers its integrations');
    assert.equal(body.connection_key, 'jira');
    assert.equal(body.message, `Ticket ${body.ticket.ticket_number} created and linked to anomaly 1`);
    const t = body.ticket;
    for (const k of ['ticket_id', 'ticket_number', 'title', 'description', 'status', 'priority', 'category', 'created_at', 'updated_at', 'resolved_at', 'url', 'metadata']) {
      assert.ok(k in t, `ticket.${k}`);
    }
    assert.equal(t.title, 'summary of ticket');
    assert.equal(t.priority, 'Medium');
    assert.equal(t.category, 'Task');
    assert.deepEqual(t.metadata, { project_key: 'PRIV', issue_type: 'Task' });
    assert.match(t.description, /^description of the ticket\n---\nAnomaly linked \[.*\] Anomaly ID: 1 Status: Active Type: shape Detected: 2025-12-21 01:48:42 UTC\nFailed checks:\n- 8 values in CUSTOMER_NAME/);
    assert.match(t.description, /View anomaly: https:\/\/dq.example.com\/datastores\/1\/anomalies\?id=1$/);
    const l = await links('1');
    assert.equal(l.length, 1);
    assert.equal(l[0].ticket_key, t.ticket_number);
    assert.equal(l[0].workflow_id, `anomaly/1/ticket/${t.ticket_number}`);
  });

  test('an identical create request (a client retry) yields the same ticket', async () => {
    const body = { title: 'retry me', description: 'd' };
    const a = (await api().post('api/integrations/ticketing/anomalies/1/tickets', { json: body })).body as any;
    const b = (await api().post('api/integrations/ticketing/anomalies/1/tickets', { json: body })).body as any;
    assert.equal(a.ticket.ticket_number, b.ticket.ticket_number);
    assert.equal((await ctx.jira.issues()).filter((i) => i.fields.summary === 'retry me').length, 1);
  });

  test('link an existing ticket: anomaly block as a comment; many tickets per anomaly; linking twice is a no-op', async () => {
    const t = (await api().post('api/v1/connection/jira/jira/test-ticket')).body as any;
    const first = await api().post('api/anomalies/1/ticket-links', { json: { ticket_key: t.ticket_key.toLowerCase() } });
    assert.equal(first.statusCode, 201);
    const again = await api().post('api/anomalies/1/ticket-links', { json: { ticket_key: t.ticket_key } });
    assert.equal(again.statusCode, 200);
    await eventually(async () => (await commentsOf(t.ticket_key)).length === 1, 'the anomaly block comment');
    assert.match((await commentsOf(t.ticket_key))[0]!, /^Anomaly linked \[.*\] Anomaly ID: 1/);
    assert.equal((await links('1')).length, 3);
  });

  test('bad input: unknown anomaly, unknown ticket, empty title, disabled connection — 4xx and nothing changes', async () => {
    assert.equal((await api().post('api/integrations/ticketing/anomalies/999/tickets', { json: { title: 'x' } })).statusCode, 404);
    const missing = await api().post('api/anomalies/1/ticket-links', { json: { ticket_key: 'PRIV-99999' } });
    assert.equal(missing.statusCode, 422);
    assert.equal((missing.body as any).field, 'body.ticket_key');
    const empty = await api().post('api/integrations/ticketing/anomalies/1/tickets', { json: { title: '   ' } });
    assert.equal(empty.statusCode, 422);
    assert.equal((empty.body as any).field, 'body.title');
    await configureConnection(ctx.tf, 'off', ctx.jira.url);
    await api().patch('api/v1/connection', { json: [{ key: 'off', name: 'off', connection_type: 'jira_ticket', access: 'write', disabled: true }] });
    const disabled = await api().post('api/integrations/ticketing/anomalies/1/tickets', { json: { title: 'x', connection_key: 'off' } });
    assert.equal(disabled.statusCode, 409);
    assert.equal((await links('1')).length, 3);
  });
});

describe('syncing', () => {
  test('status changes and comments reach every linked ticket once each, in order, with the exact texts — even when Jira loses replies', async () => {
    await api().put('api/anomalies/2', { json: anomaly() });
    const a = ((await api().post('api/integrations/ticketing/anomalies/2/tickets', { json: { title: 'sync A' } })).body as any).ticket.ticket_number;
    const b = ((await api().post('api/integrations/ticketing/anomalies/2/tickets', { json: { title: 'sync B' } })).body as any).ticket.ticket_number;
    await ctx.jira.fault({ kind: 'lost_reply', method: 'POST', path: '/comment', times: 3 });
    assert.equal((await api().post('api/anomalies/2/status', { json: { status: 'acknowledged', actor: 'ana' } })).statusCode, 202);
    await api().post('api/anomalies/2/comments', { json: { text: 'looking into it', author: 'Ana' } });
    await api().post('api/anomalies/2/comments', { json: { text: 'fixed upstream', author: 'Bo' } });
    await api().post('api/anomalies/2/status', { json: { status: 'archived' } });
    for (const key of [a, b]) {
      const texts = await eventually(async () => {
        const c = await commentsOf(key);
        return c.length >= 4 ? c : null;
      }, `four comments on ${key}`, 30_000);
      assert.equal(texts.length, 4, JSON.stringify(texts));
      assert.match(texts[0]!, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\] Anomaly status: Acknowledged$/);
      assert.equal(texts[1], 'Comment from Ana: looking into it');
      assert.equal(texts[2], 'Comment from Bo: fixed upstream');
      assert.match(texts[3]!, /\] Anomaly status: Archived$/);
    }
    const lost = (await ctx.jira.requests()).filter((r) => r.status === -1);
    assert.ok(lost.length >= 1, 'replies were lost');
    assert.equal((await ctx.jira.issues()).find((i) => i.key === a)!.fields.status.name, 'To Do', 'status changes never transition the issue');
  });

  test('two-way: the ticket\'s status, resolution and assignee show on the link; done is reported upstream', async () => {
    const [link] = await links('2');
    await ctx.jira.transition(link.ticket_key, 'Done');
    await ctx.tf.client.workflow.getHandle(link.workflow_id).signal('refresh');
    const synced = await eventually(async () => (await links('2')).find((l) => l.ticket_key === link.ticket_key && l.status_category === 'done'), 'done on the link');
    assert.equal(synced.status, 'Done');
    assert.equal(synced.resolution, 'Done');
    assert.ok(synced.last_synced_at);
    const callback = await eventually(async () => upstream.received.find((c) => c.body.event === 'anomaly_ticket.done' && c.body.ticketKey === link.ticket_key), 'the done callback');
    assert.ok(callback.signatureValid);
    assert.equal(callback.body.anomalyId, '2');
    assert.equal(callback.body.resolution, 'Done');
  });

  test('reopen on recurrence (opt-in): an active anomaly moves its done ticket back to to-do, with a comment', async () => {
    assert.equal((await api().put('api/v1/connection/jira/secret', { json: { reopen_on_recurrence: true } })).statusCode, 200);
    const [link] = (await links('2')).filter((l) => l.status_category === 'done');
    const before = (await commentsOf(link.ticket_key)).length;
    await api().post('api/anomalies/2/status', { json: { status: 'active' } });
    await eventually(async () => (await ctx.jira.issues()).find((i) => i.key === link.ticket_key)!.fields.status.statusCategory.key === 'new', 'reopened');
    const texts = await eventually(async () => {
      const c = await commentsOf(link.ticket_key);
      return c.length >= before + 2 ? c : null;
    }, 'status and reopen comments');
    assert.match(texts[before]!, /Anomaly status: Active$/);
    assert.match(texts[before + 1]!, /Reopened: anomaly 2 is active again\.$/);
  });

  test('unlink: the workflow ends cleanly and the ticket says so', async () => {
    const [link] = await links('2');
    const r = await api().delete(`api/anomalies/2/ticket-links/${link.link_id}`);
    assert.equal(r.statusCode, 202);
    const handle = ctx.tf.client.workflow.getHandle(link.workflow_id);
    assert.deepEqual(await handle.result(), { state: 'unlinked' });
    await maybeRecord(link.workflow_id, 'anomaly-link-synced-reopened-unlinked');
    if (process.env.RECORD_HISTORIES === '1') {
      for await (const wf of ctx.tf.client.workflow.list({ query: `WorkflowType = 'anomalyTicketCreate' AND AnomalyId = '2'` })) {
        await maybeRecord(wf.workflowId, 'anomaly-create');
        break;
      }
    }
    assert.match((await commentsOf(link.ticket_key)).at(-1)!, /Unlinked from anomaly 2/);
    assert.ok(!(await links('2')).some((l) => l.link_id === link.link_id));
    assert.equal((await api().delete('api/anomalies/2/ticket-links/lnk_nope')).statusCode, 404);
  });
});

describe('search and tickets', () => {
  test('search by summary text with pagination, and by key', async () => {
    for (let n = 1; n <= 5; n++) await api().post('api/integrations/ticketing/anomalies/1/tickets', { json: { title: `pagination probe ${n}` } });
    const p1 = (await api().get('api/integrations/ticketing/tickets/search?query=pagination&page=1&size=2')).body as any;
    assert.equal(p1.total, 5);
    assert.equal(p1.pages, 3);
    assert.equal(p1.items.length, 2);
    const p3 = (await api().get('api/integrations/ticketing/tickets/search?query=pagination&page=3&size=2')).body as any;
    assert.equal(p3.items.length, 1);
    const byKey = (await api().get(`api/integrations/ticketing/tickets/search?query=${p1.items[0].ticket_number}`)).body as any;
    assert.equal(byKey.total, 1);
    assert.deepEqual(Object.keys(byKey.items[0]).sort(), ['assigned_to', 'created_at', 'description', 'priority', 'status', 'ticket_id', 'ticket_number', 'title', 'updated_at', 'url']);
  });

  test('one ticket; form specification with Jira\'s priorities', async () => {
    const [link] = await links('1');
    const t = (await api().get(`api/integrations/ticketing/tickets/${link.ticket_key}`)).body as any;
    assert.equal(t.ticket_number, link.ticket_key);
    assert.equal((await api().get('api/integrations/ticketing/tickets/PRIV-99999')).statusCode, 404);
    const spec = (await api().get('api/integrations/ticketing/form-specification')).body as any;
    const fields = Object.fromEntries(spec.fields.map((f: any) => [f.name, f]));
    assert.equal(fields.title.required, true);
    assert.equal(fields.description.required, false);
    assert.deepEqual(fields.priority.options.map((o: any) => o.value), ['Highest', 'High', 'Medium', 'Low', 'Lowest']);
  });
});

/**
 * The shapes of the reference product's sample answers (its "Create Ticket Response" and "Search Tickets
 * Response"), as data: each field with its JSON type in the samples.
 */
const REFERENCE_TICKET = {
  ticket_id: 'string',
  ticket_number: 'string',
  title: 'string',
  description: 'string',
  status: 'string',
  priority: 'string',
  urgency: 'null',
  impact: 'null',
  category: 'string',
  subcategory: 'null',
  created_at: 'string',
  updated_at: 'string',
  resolved_at: 'null',
  closed_at: 'null',
  assigned_to: 'null',
  assigned_group: 'null',
  requester: 'string',
  url: 'string',
  comments_count: 'null',
  metadata: { project_key: 'string', issue_type: 'string' },
};
const REFERENCE_CREATED = { ticket: REFERENCE_TICKET, anomaly_id: 'number', integration_id: 'number', message: 'string' };
const REFERENCE_SEARCH = {
  items: [{ ticket_id: 'string', ticket_number: 'string', title: 'string', description: 'null', status: 'string', priority: 'null', created_at: 'string', updated_at: 'string', assigned_to: 'null', url: 'string' }],
  total: 'number',
  page: 'number',
  size: 'number',
  pages: 'number',
};
/** The samples show these fields null only: the JSON type each has when set. */
const WHEN_SET: Record<string, string> = {
  description: 'string',
  priority: 'string',
  urgency: 'string',
  impact: 'string',
  subcategory: 'string',
  resolved_at: 'string',
  closed_at: 'string',
  assigned_to: 'string',
  assigned_group: 'string',
  comments_count: 'number',
};
const REFERENCE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

const jsonType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Every field of the reference's shape is in the answer, with its JSON type (or, null in the sample, null or its type when set). */
function assertShape(answer: unknown, shape: unknown, at = 'answer'): void {
  if (typeof shape === 'string') {
    const allowed = shape === 'null' ? ['null', WHEN_SET[at.split('.').at(-1)!]] : [shape];
    assert.ok(allowed.includes(jsonType(answer)), `${at} is ${jsonType(answer)}; the reference's is ${allowed.join(' or ')}`);
  } else if (Array.isArray(shape)) {
    assert.ok(Array.isArray(answer) && answer.length > 0, `${at} is a non-empty array`);
    answer.forEach((a, i) => assertShape(a, shape[0], `${at}[${i}]`));
  } else {
    assert.equal(jsonType(answer), 'object', at);
    for (const [k, v] of Object.entries(shape as object)) {
      assert.ok(Object.hasOwn(answer as object, k), `${at}.${k} is there`);
      assertShape((answer as Record<string, unknown>)[k], v, `${at}.${k}`);
    }
  }
}

/** Every time in an answer (a field named *_at) is in the reference's format; answers how many were set. */
function assertTimes(answer: unknown, at = 'answer'): number {
  if (Array.isArray(answer)) return answer.reduce((n: number, a, i) => n + assertTimes(a, `${at}[${i}]`), 0);
  if (jsonType(answer) !== 'object') return 0;
  let n = 0;
  for (const [k, v] of Object.entries(answer as object)) {
    if (k.endsWith('_at') && v !== null) {
      assert.match(String(v), REFERENCE_TIME, `${at}.${k}`);
      n++;
    } else n += assertTimes(v, `${at}.${k}`);
  }
  return n;
}

describe("the reference's objects, field by field", () => {
  /** Jira's time (the fake's is ISO 8601 in UTC) as the reference writes it. */
  const jiraTime = async (key: string, field: 'created' | 'updated' | 'resolutiondate') => String((await ctx.jira.issues()).find((i) => i.key === key)!.fields[field]).slice(0, 19);

  test("a created ticket has every field of the reference's create answer and ticket object, with its JSON type; times in UTC to the second", async () => {
    const put = await api().put('api/anomalies/7', { json: anomaly({ detected_at: '2025-12-21T01:48:42' }) });
    assert.equal((put.body as any).detected_at, '2025-12-21T01:48:42', 'a time without an offset is UTC, as answers write it');
    assert.equal(assertTimes(put.body), 3);
    assert.equal((await api().put('api/anomalies/7', { json: anomaly({ detected_at: '2025-12-21T02:48:42.750+01:00' }) })).statusCode, 200);
    const got = (await api().get('api/anomalies/7')).body as any;
    assert.equal(got.detected_at, '2025-12-21T01:48:42', 'converted to UTC, fractions dropped');
    assert.equal(assertTimes(got), 3);

    const r = await api().post('api/integrations/ticketing/anomalies/7/tickets', { json: { title: 'summary of ticket', description: 'description of the ticket', priority: 'Medium' } });
    assert.equal(r.statusCode, 201);
    const body = r.body as any;
    assertShape(body, REFERENCE_CREATED);
    assert.equal(assertTimes(body), 2);
    const t = body.ticket;
    assert.deepEqual([t.urgency, t.impact, t.subcategory, t.assigned_group, t.resolved_at, t.closed_at], [null, null, null, null, null, null]);
    assert.equal(t.created_at, await jiraTime(t.ticket_number, 'created'), "Jira's time, in UTC");
    assert.equal(t.updated_at, await jiraTime(t.ticket_number, 'updated'));
    assert.ok(Math.abs(Date.parse(`${t.created_at}Z`) - Date.now()) < 60_000, 'UTC, not local time');
  });

  test('a done ticket: resolved_at and closed_at are its resolution date; by key and by id the same', async () => {
    const [link] = await links('7');
    await ctx.jira.transition(link.ticket_key, 'Done');
    const byKey = (await api().get(`api/integrations/ticketing/tickets/${link.ticket_key}`)).body as any;
    assertShape(byKey, REFERENCE_TICKET);
    assert.equal(assertTimes(byKey), 4);
    assert.equal(byKey.resolved_at, await jiraTime(link.ticket_key, 'resolutiondate'));
    assert.equal(byKey.closed_at, byKey.resolved_at);
    assert.equal(byKey.status_category, 'done', "ticketflow's own field stays");
    assert.deepEqual((await api().get(`api/integrations/ticketing/tickets/${byKey.ticket_id}`)).body, byKey);
  });

  test("search results have every field of the reference's, with its JSON type", async () => {
    const r = (await api().get('api/integrations/ticketing/tickets/search?query=summary%20of%20ticket')).body as any;
    assertShape(r, REFERENCE_SEARCH);
    assert.ok(assertTimes(r) >= 2);
    assert.ok(r.items.every((i: any) => i.description?.startsWith('description of the ticket')), "an item's description is the ticket's");
  });

  test('links, status changes, comments and the form specification answer as documented, times in the reference format', async () => {
    const created = (await api().post('api/integrations/ticketing/anomalies/7/tickets', { json: { title: 'second for seven' } })).body as any;
    const all = (await api().get('api/anomalies/7/ticket-links')).body as any[];
    assert.ok(assertTimes(all) >= all.length, 'created_at, and last_synced_at once synced');
    const refreshed = await api().post(`api/anomalies/7/ticket-links/${all[0].link_id}/refresh`);
    assert.ok(assertTimes(refreshed.body) >= 1);
    assert.equal((await api().post('api/anomalies/7/status', { json: { status: 'acknowledged' } })).statusCode, 202);
    assert.equal((await api().post('api/anomalies/7/comments', { json: { text: 'seen', author: 'Ana' } })).statusCode, 202);
    const spec = (await api().get('api/integrations/ticketing/form-specification')).body as any;
    assert.deepEqual([spec.integration_id, spec.connection_key], [created.integration_id, created.connection_key], 'the connection named alike everywhere');
    const gone = await api().delete(`api/anomalies/7/ticket-links/${all[0].link_id}`);
    assert.equal(gone.statusCode, 202);
    assert.ok(assertTimes(gone.body) >= 1);
  });

  test('a creation that an earlier version finished (its recorded result) answers the same fields', async () => {
    const history = JSON.parse(readFileSync(fileURLToPath(new URL('../../test/histories/anomaly-create.json', import.meta.url)), 'utf8'));
    const done = history.events.find((e: any) => e.workflowExecutionCompletedEventAttributes).workflowExecutionCompletedEventAttributes;
    const old = JSON.parse(Buffer.from(done.result.payloads[0].data, 'base64').toString()) as TicketView;
    assert.equal(old.urgency, undefined, 'recorded before the field existed');
    const answer = ticketViewAnswer.parse(ticketAnswer(old));
    for (const field of Object.keys(REFERENCE_TICKET)) assert.ok(Object.hasOwn(answer, field), field);
    assert.equal(answer.created_at, answerTime(old.created_at));
    assert.match(answer.created_at!, REFERENCE_TIME);
    assert.deepEqual([answer.urgency, answer.impact, answer.subcategory, answer.assigned_group, answer.closed_at], [null, null, null, null, null]);
  });

  test("Jira's times, with an offset and milliseconds, become the reference's UTC seconds", () => {
    assert.equal(answerTime('2026-01-23T16:22:05.987+0100'), '2026-01-23T15:22:05');
    assert.equal(answerTime('2026-01-23T10:22:05.000-0500'), '2026-01-23T15:22:05');
    assert.equal(answerTime('2026-01-23T15:22:05.123Z'), '2026-01-23T15:22:05');
    assert.equal(answerTime('2026-01-23T15:22:05'), '2026-01-23T15:22:05', 'the format itself is UTC');
    assert.equal(answerTime(new Date('2026-01-23T15:22:05.999Z')), '2026-01-23T15:22:05');
    assert.equal(answerTime('not a time'), null);
    assert.equal(answerTime(null), null);
  });
});
