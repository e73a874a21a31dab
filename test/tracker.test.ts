import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileNowSignal, syncNowSignal, trackerStateQuery, trackerWorkflowId, type TrackerState } from '../src/tracker/messages.js';
import { eventually } from './helpers/infra.js';
import { approvedRequest, configureConnection, useStack } from './helpers/ticketflow.js';

/**
 * The connection's tracker end to end, with its real activities against the fake Jira: it reads only what
 * changed, tells only the workflows whose ticket changed, finds deletions by reconciling, and keeps tickets
 * single under Jira's search lag. Cycles here run on `syncNow` (the test stack's interval is a day).
 */

// A retried creation waits 2 s for Jira's search to catch up.
const ctx = useStack({ search: { lagSeconds: 2, waitOnRetry: true } });
type Instance = Record<string, any>;

const tracker = () => ctx.tf.client.workflow.getHandle(trackerWorkflowId('jira'));
const trackerState = () => tracker().query(trackerStateQuery);
/** Runs one cycle now (reconciling too, if asked) and returns the tracker's state after it. */
async function cycle(opts: { reconcile?: boolean } = {}): Promise<TrackerState> {
  const before = (await trackerState()).cycle;
  await tracker().signal(opts.reconcile ? reconcileNowSignal : syncNowSignal);
  return eventually(async () => {
    const s = await trackerState();
    return s.cycle > before ? s : null;
  }, 'a tracker cycle');
}
const instances = async (id: string) => (await ctx.tf.http.get(`api/v1/privacy-request/${id}/jira-tickets`)).body as Instance[];
const openTicket = async (id: string) => {
  assert.equal((await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest(id) })).statusCode, 201);
  return eventually(async () => (await instances(id)).find((i) => i.task_state === 'open'), `${id} open`);
};
const signalsTo = async (workflowId: string) =>
  ((await ctx.tf.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).map((e) => e.workflowExecutionSignaledEventAttributes!.signalName);
const requestsSince = async (seq: number) => (await ctx.jira.requests()).filter((r) => r.seq > seq);
const lastSeq = async () => (await ctx.jira.requests()).at(-1)?.seq ?? 0;

describe('the connection tracker', () => {
  test('starts with its connection; a cycle reads only the changes, with one search, and tells only the changed ticket\'s workflow', async () => {
    await eventually(async () => (await tracker().describe()).status.name === 'RUNNING', 'the tracker of connection "jira" running');
    const [a, b, c] = [await openTicket('pri_tr_1'), await openTicket('pri_tr_2'), await openTicket('pri_tr_3')];
    await cycle(); // a cycle with the tickets on record, so the next read is a pure delta
    await ctx.jira.transition(a.ticket_key, 'Done', { webhook: false });
    const from = await lastSeq();
    const pointsBefore = (await ctx.jira.stats()).points;
    const state = await cycle();
    assert.equal(state.last?.tracked, 3);
    assert.equal(state.last?.changed, 1, 'one ticket changed');
    assert.equal(state.last?.signalled, 1, 'one workflow told');
    const calls = await requestsSince(from);
    assert.deepEqual(calls.map((r) => `${r.method} ${r.path}`), ['POST /rest/api/3/search/jql'], 'one search, no read per ticket');
    assert.match(String((calls[0]!.body as any).jql), /^project in \("PRIV"\) AND updated >= -\d+m ORDER BY updated ASC$/);
    assert.deepEqual((calls[0]!.body as any).fields, ['status', 'resolution', 'assignee', 'updated'], 'only the fields tracking needs');
    assert.equal(state.last?.points, (await ctx.jira.stats()).points - pointsBefore, 'the points the tracker counts are the ones Jira charges');
    assert.ok(state.last!.points <= 4, `1 for the search, 1 per issue it returned (the overlap includes the new tickets): ${state.last?.points}`);
    await eventually(async () => (await instances('pri_tr_1'))[0]!.task_state === 'waiting_for_data', 'the changed ticket moved');
    assert.deepEqual(await signalsTo(b.workflow_id), [], 'the unchanged tickets\' workflows heard nothing');
    assert.deepEqual(await signalsTo(c.workflow_id), []);

    // Nothing changed: the next cycle costs one search and tells nobody (the overlap finds A's change again, but it is known).
    const quiet = await cycle();
    assert.equal(quiet.last?.signalled, 0);
    assert.deepEqual(await signalsTo(a.workflow_id), ['ticketChanged']);
  });

  test('the overlap catches a change that Jira\'s search index showed late', async () => {
    const t = await openTicket('pri_tr_lag');
    await cycle();
    await ctx.jira.searchLag(1500);
    try {
      await ctx.jira.transition(t.ticket_key, 'In Progress', { webhook: false });
      const missed = await cycle();
      assert.equal(missed.last?.changed, 0, 'the index had not caught up with the change');
      await new Promise((r) => setTimeout(r, 1_600));
      const caught = await cycle();
      assert.equal(caught.last?.changed, 1, 'the next cycle reaches back past the last one and finds it');
      await eventually(async () => (await instances('pri_tr_lag'))[0]!.status === 'In Progress', 'the late change applied');
    } finally {
      await ctx.jira.searchLag(0);
    }
  });

  test('a reconcile finds a deleted ticket (a delta cannot show it): Jira\'s 400 for the vanished key, confirmed by one GET', async () => {
    const t = await openTicket('pri_tr_del');
    await ctx.jira.remove(t.ticket_key);
    const from = await lastSeq();
    const state = await cycle({ reconcile: true });
    assert.equal(state.lastReconcile?.deleted, 1);
    const calls = (await requestsSince(from)).filter((r) => r.path !== '/rest/api/3/search/jql');
    assert.deepEqual(calls.map((r) => `${r.method} ${r.path} ${r.status}`), [`POST /rest/api/3/search/approximate-count 400`, `GET /rest/api/3/issue/${t.ticket_key} 404`]);
    const failed = await eventually(async () => (await instances('pri_tr_del')).find((i) => i.task_state === 'failed'), 'the instance failed');
    assert.equal(failed.status_category, 'deleted');
  });

  test('a lost submitData signal is sent again by the next cycle', async () => {
    const t = await openTicket('pri_tr_heal');
    await ctx.jira.transition(t.ticket_key, 'Done', { webhook: false });
    await cycle();
    await eventually(async () => (await instances('pri_tr_heal'))[0]!.task_state === 'waiting_for_data', 'waiting for data');
    // Stored, but the signal never reached the workflow (as if Temporal had been unreachable for that moment).
    await ctx.orm.em.getConnection().execute("insert into submitted_data (instance_id, data, submitted_at) values (?, '{}', now() - interval '1 minute')", [t.instance_id]);
    await ctx.orm.em.getConnection().execute('update jira_ticket_instance set data_submitted = true where instance_id = ?', [t.instance_id]);
    const state = await cycle();
    assert.equal(state.last?.healed, 1);
    await eventually(async () => (await instances('pri_tr_heal'))[0]!.task_state === 'completed', 'completed');
  });

  test('a webhook about an issue no workflow tracks yet is parked, and applied when a workflow starts tracking it', async () => {
    const t = await openTicket('pri_tr_park');
    const other = await ctx.jira.create({ project: { key: 'PRIV' }, issuetype: { name: 'Task' }, summary: 'replacement' });
    // Jira tells of the issue before ticketflow tracks it (newer than anything ticketflow will read of it).
    const payload = { webhookEvent: 'jira:issue_updated', issue: { id: other.id, key: other.key, fields: { status: { name: 'Done', statusCategory: { key: 'done' } }, updated: '2099-01-01T00:00:00.000+0000' } } };
    await ctx.tf.http.put('api/v1/connection/jira/secret', { json: { webhook_secret: 'tracker-test-webhook-secret' } });
    const { createHmac } = await import('node:crypto');
    const raw = JSON.stringify(payload);
    const delivered = await ctx.tf.anonymous.post('webhooks/jira/jira', { body: raw, headers: { 'content-type': 'application/json', 'x-hub-signature': `sha256=${createHmac('sha256', 'tracker-test-webhook-secret').update(raw).digest('hex')}` } });
    assert.equal((delivered.body as any).status, 'parked');
    const linked = await ctx.tf.http.post('api/v1/privacy-request/pri_tr_park/jira-tickets/link', { json: { ticket_key: other.key, connection_key: 'jira' } });
    assert.equal(linked.statusCode, 200);
    await eventually(async () => (await instances('pri_tr_park')).find((i) => i.ticket_key === other.key && i.task_state === 'waiting_for_data'), 'the parked news applied once the link recorded the key');
    const [row] = await ctx.orm.em.getConnection().execute<Array<{ n: number }>>('select count(*)::int as n from webhook_parked where issue_key = ?', [other.key]);
    assert.equal(row?.n, 0, 'claimed');
    assert.notEqual(t.ticket_key, other.key);
  });
});

describe('one ticket under Jira\'s search lag', () => {
  const labelled = async (instanceId: string) => (await ctx.jira.issues()).filter((i) => (i.fields.labels as string[]).includes(`ticketflow-${instanceId}`));

  test('a retry after a lost reply waits for the search to catch up, and finds the ticket the lost attempt made', async () => {
    await ctx.jira.searchLag(1_000);
    await ctx.jira.fault({ kind: 'lost_reply', method: 'POST', path: '/rest/api/3/issue', times: 1 });
    try {
      const t = await openTicket('pri_tr_wait');
      assert.equal((await labelled(t.instance_id)).length, 1, 'one ticket');
    } finally {
      await ctx.jira.clearFaults();
      await ctx.jira.searchLag(0);
    }
  });

  test('when the search lags longer than the wait, the duplicate is found later: the first ticket stays, the other is closed and says why', async () => {
    await ctx.jira.searchLag(8_000); // longer than the retry's backoff and its 2 s wait together
    await ctx.jira.fault({ kind: 'lost_reply', method: 'POST', path: '/rest/api/3/issue', times: 1 });
    try {
      const t = await openTicket('pri_tr_dup');
      const both = await labelled(t.instance_id);
      assert.equal(both.length, 2, 'the retried creation could not see the first ticket and made a second');
      const [first, second] = both;
      assert.equal(t.ticket_key, second!.key, 'the workflow tracks the one it made');
      // Cycles until the search has caught up with the second one (8 s after it was made).
      const state = await eventually(async () => {
        const s = await cycle();
        return s.last?.duplicatesClosed ? s : null;
      }, 'a cycle that finds and closes the duplicate', 30_000);
      assert.equal(state.last?.duplicatesClosed, 1);
      const after = await ctx.jira.issues();
      const closed = after.find((i) => i.key === second!.key)!;
      assert.equal(closed.fields.status.statusCategory.key, 'done', 'the duplicate is closed');
      assert.match(JSON.stringify(closed.comments), new RegExp(`Duplicate of ${first!.key}`));
      assert.equal(after.find((i) => i.key === first!.key)!.fields.status.statusCategory.key, 'new', 'the first stays open');
      await eventually(async () => (await instances('pri_tr_dup')).find((i) => i.ticket_key === first!.key && i.task_state === 'open'), 'the workflow now tracks the first');
      const again = await cycle();
      assert.equal(again.last?.duplicatesClosed, 0, 'a closed duplicate is not closed again');
    } finally {
      await ctx.jira.clearFaults();
      await ctx.jira.searchLag(0);
    }
  });
});

test('disabling the connection stops its tracker; enabling it starts it again', async () => {
  await ctx.tf.http.patch('api/v1/connection', { json: [{ key: 'jira', name: 'Jira jira', connection_type: 'jira_ticket', access: 'write', disabled: true }] });
  await eventually(async () => (await tracker().describe()).status.name === 'COMPLETED', 'the tracker ended');
  await configureConnection(ctx.tf, 'jira', ctx.jira.url);
  await eventually(async () => (await tracker().describe()).status.name === 'RUNNING', 'a new tracker');
});
