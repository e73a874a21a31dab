import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Got } from 'got';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { createApp } from '../src/http/app.js';
import { TicketWorkflowStarts } from '../src/privacy-requests/starts.js';
import { eventually } from './helpers/infra.js';
import { approvedRequest, useStack } from './helpers/ticketflow.js';

/**
 * An approval answers once PostgreSQL has it; its workflows are started after. These tests run a second API
 * on the same database whose Temporal cannot be reached, and the stack's own starter (no sweep: kicked by
 * hand) plays the healthy process that comes along later.
 */
const ctx = useStack({ startSweepMs: 3_600_000 });

type Instance = Record<string, any>;

async function apiWithoutTemporal() {
  const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:9' }) });
  const starts = new TicketWorkflowStarts(ctx.orm, temporal, ctx.tf.settings, { startTimeoutMs: 300 });
  const app = createApp({ orm: ctx.orm, temporal, kit: ctx.tf.kit, settings: ctx.tf.settings, starts, trackers: ctx.tf.trackers, tokens: ctx.tf.tokens });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const http = ctx.tf.http.extend({ prefixUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  return {
    http,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await starts.stop();
      await temporal.connection.close();
    },
  };
}

const instanceOf = async (http: Got, id: string): Promise<Instance> => ((await http.get(`api/v1/privacy-request/${id}/jira-tickets`, { responseType: 'json' })).body as Instance[])[0]!;

test('with Temporal unreachable an approval is still accepted (201, durable), and its ticket is made once Temporal is back', async () => {
  const down = await apiWithoutTemporal();
  try {
    const res = await down.http.post('api/v1/privacy-request', { json: approvedRequest('pri_start_1') });
    assert.equal(res.statusCode, 201, JSON.stringify(res.body));
    const waiting = await eventually(async () => {
      const i = await instanceOf(down.http, 'pri_start_1');
      return /could not be started yet/.test(i.last_error ?? '') ? i : null;
    }, 'the failed start reported on the instance');
    assert.equal(waiting.task_state, 'creating');
    assert.equal(waiting.ticket_key, null);
  } finally {
    await down.close();
  }
  // A healthy process starts what is pending (after the failed attempt's backoff).
  const open = await eventually(async () => {
    await ctx.tf.starts.kick();
    const i = await instanceOf(ctx.tf.http, 'pri_start_1');
    return i.task_state === 'open' ? i : null;
  }, 'ticket open after Temporal came back');
  assert.equal(open.last_error, null);
  const labelled = (await ctx.jira.issues()).filter((i) => i.fields.labels.includes(`ticketflow-${open.instance_id}`));
  assert.equal(labelled.length, 1, 'exactly one ticket');
});

test('a request canceled before its workflow started never gets a ticket, and approving it again does not revive it', async () => {
  const down = await apiWithoutTemporal();
  let pending: Instance;
  try {
    assert.equal((await down.http.post('api/v1/privacy-request', { json: approvedRequest('pri_start_2') })).statusCode, 201);
    pending = await instanceOf(down.http, 'pri_start_2');
    assert.equal(pending.task_state, 'creating');
    const canceled = await down.http.patch('api/v1/privacy-request/pri_start_2', { json: { status: 'canceled' } });
    assert.equal(canceled.statusCode, 200, JSON.stringify(canceled.body));
    assert.equal((await instanceOf(down.http, 'pri_start_2')).task_state, 'canceled');
  } finally {
    await down.close();
  }
  assert.equal((await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_start_2') })).statusCode, 200);
  await ctx.tf.starts.kick();
  await new Promise((r) => setTimeout(r, 1500)); // past any backoff: a kick now would start a pending workflow
  await ctx.tf.starts.kick();
  assert.equal((await instanceOf(ctx.tf.http, 'pri_start_2')).task_state, 'canceled');
  await assert.rejects(ctx.tf.client.workflow.getHandle(pending.workflow_id).describe(), WorkflowNotFoundError);
  const labelled = (await ctx.jira.issues()).filter((i) => i.fields.labels.includes(`ticketflow-${pending.instance_id}`));
  assert.equal(labelled.length, 0, 'no ticket');
});

test('a cancel after a repeated approval reaches the running workflow (its instance was only asked to start again)', async () => {
  assert.equal((await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_start_3') })).statusCode, 201);
  const open = await eventually(async () => {
    const i = await instanceOf(ctx.tf.http, 'pri_start_3');
    return i.task_state === 'open' ? i : null;
  }, 'ticket open');
  const down = await apiWithoutTemporal();
  try {
    // The repeated approval marks the instance for a start that cannot happen now.
    assert.equal((await down.http.post('api/v1/privacy-request', { json: approvedRequest('pri_start_3') })).statusCode, 200);
  } finally {
    await down.close();
  }
  assert.equal((await ctx.tf.http.patch('api/v1/privacy-request/pri_start_3', { json: { status: 'canceled' } })).statusCode, 200);
  assert.deepEqual(await ctx.tf.client.workflow.getHandle(open.workflow_id).result(), { taskState: 'canceled', ticketKey: open.ticket_key });
  assert.equal((await instanceOf(ctx.tf.http, 'pri_start_3')).task_state, 'canceled');
});

test('a burst of approvals: every workflow started exactly once, and nothing is left pending', async () => {
  const ids = Array.from({ length: 40 }, (_, i) => `pri_burst_${i}`);
  const replies = await Promise.all(ids.map((id) => ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest(id) })));
  assert.deepEqual(replies.map((r) => r.statusCode), ids.map(() => 201));
  await eventually(async () => {
    const [open] = await ctx.orm.em.getConnection().execute<Array<{ n: string }>>(
      "select count(*)::text as n from jira_ticket_instance where privacy_request_id like 'pri_burst_%' and task_state = 'open'",
    );
    return open!.n === '40';
  }, 'all 40 tickets open', 60_000);
  const [pending] = await ctx.orm.em.getConnection().execute<Array<{ n: string }>>("select count(*)::text as n from jira_ticket_instance where start_pending");
  assert.equal(pending!.n, '0');
  const labels = (await ctx.jira.issues()).flatMap((i) => i.fields.labels as string[]).filter((l) => l.startsWith('ticketflow-jti_'));
  assert.equal(new Set(labels).size, labels.length, 'no instance has two tickets');
});
