import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import got from 'got';
import pg from 'pg';
import { Client } from '@temporalio/client';
import { AuditLog } from '../src/audit/log.js';
import { refreshNowUpdate, refreshSignal } from '../src/privacy-requests/messages.js';
import { Cleanup } from './helpers/cleanup.js';
import { eventually, temporalConnections } from './helpers/infra.js';
import { routesOf } from './helpers/routes.js';
import { approvedRequest, useStack } from './helpers/ticketflow.js';

/**
 * The audit log: every state-changing route records who called it, on which ids, with what outcome (the router
 * is walked, so no route escapes); operators' console actions are recorded by the workflows; the table refuses
 * updates and deletes from the application's own role; admins read it, filtered and paginated.
 */

const ctx = useStack();
type Entry = Record<string, any>;
const sql = <T = Entry>(query: string, params: unknown[] = []) => ctx.orm.em.getConnection().execute<T[]>(query, params);
const byRequestId = (requestId: string) => sql('select * from audit_log where request_id = ? order by id', [requestId]);
const as = (token: string) => got.extend({ prefixUrl: ctx.tf.base, throwHttpErrors: false, retry: { limit: 0 }, responseType: 'json', headers: { authorization: `Bearer ${token}` } });

/** Routes that change nothing though they are not GETs: rendering a preview, and the codec's encode and decode. */
const READS_OVER_POST = ['POST /api/v1/connection/:key/jira/preview', 'POST /codec/decode', 'POST /codec/encode'];
/** A GET that changes state: the OAuth redirect stores the connection's tokens. */
const WRITES_OVER_GET = ['GET /api/v1/oauth/jira/callback'];

describe('every state-changing call is recorded', () => {
  test('the router is walked: each write route records one entry with its route template and outcome, whatever the outcome', async () => {
    const routes = routesOf((ctx.tf.app as any).router.stack).filter((r) => r.method !== 'GET' || WRITES_OVER_GET.includes(`${r.method} ${r.path}`));
    assert.ok(routes.length >= 20, `found ${routes.length} write routes`);
    const missing: string[] = [];
    const unaudited: string[] = [];
    let n = 0;
    for (const r of routes) {
      const id = `${r.method} ${r.path}`;
      const requestId = `audit-walk-${++n}`;
      const url = r.path.replace(/:(\w+)/g, 'x1').replace(/^\//, '');
      const res = await ctx.tf.http(url, { method: r.method as 'POST', json: r.method === 'GET' ? undefined : {}, headers: { 'x-request-id': requestId } });
      const entries = await byRequestId(requestId);
      if (READS_OVER_POST.includes(id)) {
        if (entries.length) unaudited.push(`${id} recorded, though it changes nothing`);
        continue;
      }
      if (entries.length !== 1) missing.push(`${id} → ${res.statusCode}: ${entries.length} entries`);
      else {
        const e = entries[0]!;
        if (e.route !== id || e.status !== res.statusCode || e.method !== r.method) missing.push(`${id} → ${res.statusCode}: recorded ${e.method} ${e.route} ${e.status}`);
      }
    }
    assert.deepEqual(missing, []);
    assert.deepEqual(unaudited, []);
    const served = new Set(routesOf((ctx.tf.app as any).router.stack).map((r) => `${r.method} ${r.path}`));
    for (const r of READS_OVER_POST) assert.ok(served.has(r), `${r} is served (the exceptions are real routes)`);
  });

  test('an entry names the token, the route, the ids and the outcome, and the Temporal message; never the body or personal data', async () => {
    const [tests] = (await ctx.tf.tokens.list()).filter((t) => t.name === 'tests');
    const approve = await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_audit_1'), headers: { 'x-request-id': 'audit-approve-1' } });
    assert.equal(approve.statusCode, 201);
    const [entry] = await byRequestId('audit-approve-1');
    assert.deepEqual(
      { actor: entry!.actor, token_id: entry!.token_id, token_name: entry!.token_name, method: entry!.method, route: entry!.route, targets: entry!.targets, status: entry!.status, temporal: entry!.temporal },
      { actor: 'api_token', token_id: tests!.id, token_name: 'tests', method: 'POST', route: 'POST /api/v1/privacy-request', targets: { privacy_request: 'pri_audit_1' }, status: 201, temporal: null },
    );
    assert.ok(Date.now() - new Date(entry!.at).getTime() < 60_000);

    const open = await eventually(async () => ((await ctx.tf.http.get('api/v1/privacy-request/pri_audit_1/jira-tickets')).body as Entry[]).find((i) => i.task_state === 'open'), 'ticket open');
    await ctx.tf.http.post(`api/v1/privacy-request/pri_audit_1/jira-tickets/${open.instance_id}/submit-data`, { json: { data: { secret_value: 'AUDIT-MARKER-3301' } }, headers: { 'x-request-id': 'audit-submit-1' } });
    await ctx.tf.http.post(`api/v1/privacy-request/pri_audit_1/jira-tickets/${open.instance_id}/retry`, { headers: { 'x-request-id': 'audit-retry-1' } });
    await ctx.tf.http.patch('api/v1/privacy-request/pri_audit_1', { json: { status: 'canceled' }, headers: { 'x-request-id': 'audit-cancel-1' } });
    const [submit] = await byRequestId('audit-submit-1');
    assert.deepEqual([submit!.status, submit!.temporal, submit!.targets], [202, 'signal submitData', { privacy_request: 'pri_audit_1', instance: open.instance_id }]);
    const [retry] = await byRequestId('audit-retry-1');
    assert.deepEqual([retry!.status, retry!.temporal], [409, 'update retryCreation'], 'refused by the workflow, and recorded so');
    const [cancel] = await byRequestId('audit-cancel-1');
    assert.deepEqual([cancel!.status, cancel!.temporal], [200, 'signal close']);

    const all = JSON.stringify(await sql('select * from audit_log'));
    for (const value of ['jane.doe@example.com', '+1-555-0100', 'AUDIT-MARKER-3301', 'secret-token-123']) assert.ok(!all.includes(value), `${value} in the audit log`);
  });

  test("operators' console actions (signals and Updates from the Temporal UI or CLI) are recorded by the workflow; ticketflow's own are not", async () => {
    assert.equal((await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_console_1') })).statusCode, 201);
    const open = await eventually(async () => ((await ctx.tf.http.get('api/v1/privacy-request/pri_console_1/jira-tickets')).body as Entry[]).find((i) => i.task_state === 'open'), 'ticket open');
    const consoleEntries = () => sql("select * from audit_log where actor = 'temporal_console' and target_ids @> array[?]::text[] order by id", ['pri_console_1']);

    // ticketflow's client (the API's and the worker's) marks what it sends: not a console action.
    await ctx.tf.client.workflow.getHandle(open.workflow_id).signal(refreshSignal);
    // The Temporal UI is another client: no mark.
    const cleanup = new Cleanup();
    try {
      const t = await temporalConnections(cleanup);
      const ui = new Client({ connection: t.connection, namespace: t.namespace, dataConverter: { payloadCodecs: [ctx.tf.codec] } }).workflow.getHandle(open.workflow_id);
      await ui.signal(refreshSignal);
      await ui.executeUpdate(refreshNowUpdate);
    } finally {
      await cleanup.run();
    }
    const entries = await eventually(async () => {
      const found = await consoleEntries();
      return found.length >= 2 ? found : null;
    }, 'two console actions recorded');
    assert.deepEqual(
      entries.map((e) => [e.actor, e.route, e.temporal, e.token_id]),
      [
        ['temporal_console', 'signal refresh', 'signal refresh to privacyRequestTicket', null],
        ['temporal_console', 'update refreshNow', 'update refreshNow to privacyRequestTicket (completed)', null],
      ],
    );
    assert.deepEqual(entries[0]!.targets, { workflow: open.workflow_id, privacy_request: 'pri_console_1', connection: 'jira' });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await consoleEntries()).length, 2, "ticketflow's own signal is not recorded as a console action");
  });
});

test('creating and revoking a token with `npm run token` is recorded too (actor cli, the exit code as status)', async () => {
  const cli = (...args: string[]) =>
    promisify(execFile)(process.execPath, [fileURLToPath(new URL('../src/main/token-cli.js', import.meta.url)), ...args], { env: { ...process.env, DATABASE_URL: String(ctx.orm.config.get('clientUrl')), LOG_LEVEL: 'warn' } });
  const created = await cli('create', '--scope', 'read', '--name', 'cli-made');
  const id = /^tf_([0-9a-f]{12})_/.exec(created.stdout)![1]!;
  await cli('revoke', id);
  const entries = await sql('select actor, route, token_id, token_name, targets, status from audit_log where target_ids @> array[?]::text[] order by id', [id]);
  assert.deepEqual(entries, [
    { actor: 'cli', route: 'token create', token_id: null, token_name: null, targets: { token: id }, status: 0 },
    { actor: 'cli', route: 'token revoke', token_id: null, token_name: null, targets: { token: id }, status: 0 },
  ]);
  assert.ok(!JSON.stringify(entries).includes(created.stdout.trim()), 'never the token itself');
});

describe('append-only for the application', () => {
  test("the application's role cannot update, delete or truncate entries, nor back-date one; only the purge removes entries past 30 days", async () => {
    const [me] = await sql<{ current_user: string; rolsuper: boolean }>('select current_user, rolsuper from pg_roles where rolname = current_user');
    const { current_user: role, rolsuper } = me!;
    assert.equal(role, 'ticketflow', "the ORM's connection is the application's role");
    const [some] = await sql('select id from audit_log order by id limit 1');
    assert.ok(some, 'there are entries to attack');
    await assert.rejects(sql('update audit_log set status = 200 where id = ?', [some!.id]), /audit_log is append-only: UPDATE is refused/);
    await assert.rejects(sql('delete from audit_log where id = ?', [some!.id]), /audit_log is append-only: entry \d+ is younger than 30 days and cannot be deleted/);
    await assert.rejects(sql('delete from audit_log'), /append-only/);
    await assert.rejects(sql('truncate audit_log'), /audit_log is append-only: TRUNCATE is refused/);
    await sql("insert into audit_log (at, actor, route) values ('2001-01-01T00:00:00Z', 'cli', 'back-dated')");
    const [dated] = await sql("select at from audit_log where route = 'back-dated'");
    assert.ok(Date.now() - new Date(dated!.at).getTime() < 60_000, 'an insert gets the server time, whatever it says');
    assert.ok((await sql('select count(*)::int as n from audit_log where id = ?', [some!.id]))[0]!.n === 1, 'the entry is still there');

    // An entry older than the retention, as a DBA could only make it: triggers off for the session (superuser).
    assert.ok(rolsuper, 'the test database role is a superuser, which can switch triggers off; the application never does');
    const admin = new pg.Client({ connectionString: ctx.orm.config.get('clientUrl') });
    await admin.connect();
    try {
      await admin.query("set session_replication_role = replica; insert into audit_log (at, actor, route, targets, target_ids) values (now() - interval '400 days', 'cli', 'ancient', '{}', '{}'); set session_replication_role = origin");
    } finally {
      await admin.end();
    }
    const deleted = await new AuditLog(ctx.orm).purge(365);
    assert.equal(deleted, 1, 'the purge (the retention run) deletes exactly the entry past retention');
    assert.equal((await sql("select count(*)::int as n from audit_log where route = 'ancient'"))[0]!.n, 0);
    assert.equal((await sql('select count(*)::int as n from audit_log where id = ?', [some!.id]))[0]!.n, 1);
  });
});

describe('GET /api/v1/audit', () => {
  test('admins read it by target and time, page by page; nobody else', async () => {
    const page1 = await ctx.tf.http.get('api/v1/audit', { searchParams: { target: 'pri_audit_1', limit: 2 } });
    assert.equal(page1.statusCode, 200);
    const body1 = page1.body as any;
    assert.equal(body1.items.length, 2);
    assert.ok(body1.items.every((e: Entry) => JSON.stringify(e.targets).includes('pri_audit_1')));
    assert.ok(body1.next_cursor);
    const page2 = (await ctx.tf.http.get('api/v1/audit', { searchParams: { target: 'pri_audit_1', limit: 2, cursor: body1.next_cursor } })).body as any;
    assert.ok(page2.items.length >= 1);
    assert.ok(page2.items[0].id > body1.items[1].id, 'the next page goes on where the last ended');
    const everything = (await ctx.tf.http.get('api/v1/audit', { searchParams: { target: 'pri_audit_1', limit: 500 } })).body as any;
    assert.equal(everything.next_cursor, null);
    assert.deepEqual(everything.items.map((e: Entry) => e.route).slice(0, 4), ['POST /api/v1/privacy-request', 'POST /api/v1/privacy-request/:id/jira-tickets/:instance/submit-data', 'POST /api/v1/privacy-request/:id/jira-tickets/:instance/retry', 'PATCH /api/v1/privacy-request/:id']);

    const later = (await ctx.tf.http.get('api/v1/audit', { searchParams: { target: 'pri_audit_1', since: new Date(Date.now() + 60_000).toISOString() } })).body as any;
    assert.deepEqual(later.items, []);
    const bad = await ctx.tf.http.get('api/v1/audit', { searchParams: { cursor: 'nope' } });
    assert.equal(bad.statusCode, 422);
    assert.equal((bad.body as any).field, 'query.cursor');

    const write = (await ctx.tf.tokens.create('fides', ['write'])).token;
    const read = (await ctx.tf.tokens.create('reader', ['read'])).token;
    for (const token of [write, read]) {
      const refused = await as(token).get('api/v1/audit');
      assert.equal(refused.statusCode, 403);
      assert.equal((refused.body as any).required_scope, 'admin');
    }
    assert.equal((await as(write).get('API/V1/AUDIT/')).statusCode, 403, 'however the path is spelled');
  });
});
