import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Client, type WorkflowHandle } from '@temporalio/client';
import type { Orm } from '../src/platform/db/orm.js';
import { connectionKit, type ConnectionKit } from '../src/connections/kit.js';
import { Keyring } from '../src/platform/keyring.js';
import { PersonalDataSeal } from '../src/personal-data/sealing.js';
import { createPersonalDataActivities } from '../src/personal-data/activities.js';
import { createAuditActivities } from '../src/audit/activities.js';
import type { RetentionResult } from '../src/personal-data/messages.js';
import type { retentionSweep } from '../src/personal-data/retention.js';
import type { privacyRequestTicket } from '../src/privacy-requests/workflow.js';
import type { jiraRedaction } from '../src/personal-data/redaction.js';
import type { RedactionResult } from '../src/personal-data/messages.js';
import { ApplicationFailure } from '@temporalio/activity';
import { submitDataSignal } from '../src/privacy-requests/messages.js';
import { ticketChangedSignal } from '../src/tracker/news.js';
import { eventually, testDatabase } from './helpers/infra.js';
import { MockWorld } from './helpers/mock-world.js';
import { runWorkflow, useTimeSkipping } from './helpers/time-skipping.js';

/**
 * Retention on Temporal's time-skipping server: the retention workflow as the schedule starts it, with its real
 * activities against a real PostgreSQL, at the schedule's times a month apart (the test server has no
 * Schedules; test/personal-data.test.ts checks the schedule itself on the dev server). Nothing is erased a day
 * early; a day late, the personal data of the done requests is gone and everything else is as it was.
 */

const ts = useTimeSkipping();
let orm: Orm;
let kit: ConnectionKit;
let seal: PersonalDataSeal;
before(async () => {
  orm = await testDatabase(ts.cleanup);
  kit = ts.cleanup.keep('connection kit', connectionKit(orm, { secretKeys: Keyring.generateSpec('ret'), jiraTimeoutMs: 1000, allowHttpHosts: [], gatewayUrl: 'https://api.atlassian.com' }), (k) => k.close());
  seal = new PersonalDataSeal(kit.secrets.keyring);
});

const identity = { email: 'jane.doe@example.com', phone: '+1-555-0100' };
const MARKER = 'RETENTION-MARKER-4417';

/** A request as the API leaves it: sealed identity, one ticket instance, sealed submitted data. */
async function seed(id: string, state: { completedAt?: Date; closedAt?: Date; taskState: string }) {
  const db = orm.em.getConnection();
  const box = seal.sealIdentity(id, identity);
  await db.execute(
    `insert into privacy_request (id, request_type, status, identity, submitted_at, approved_at, manual_tasks_completed_at, closed_at)
     values (?, 'erasure', ?, ?::jsonb, '2025-01-15T10:30:00Z', '2025-01-16T14:00:00Z', ?, ?)`,
    [id, state.closedAt ? 'canceled' : 'approved', JSON.stringify(box), state.completedAt ?? null, state.closedAt ?? null],
  );
  const instanceId = `jti_${id}`;
  await db.execute(
    `insert into jira_ticket_instance (instance_id, privacy_request_id, connection_key, workflow_id, ticket_key, rendered_ticket_key, personal_fields, task_state, data_submitted, data_seen)
     values (?, ?, 'jira', ?, ?, ?, '{summary}', ?, true, true)`,
    [instanceId, id, `privacy-request/${id}/jira/jira`, `PRIV-${id.length}`, `PRIV-${id.length}`, state.taskState],
  );
  await db.execute(`insert into submitted_data (instance_id, sealed, submitted_at) values (?, ?::jsonb, '2025-02-01T09:00:00Z')`, [
    instanceId,
    JSON.stringify(seal.sealSubmitted(instanceId, { marker: MARKER })),
  ]);
}

const rowsOf = async (id: string) => {
  const db = orm.em.getConnection();
  const [request] = await db.execute('select * from privacy_request where id = ?', [id]);
  const [instance] = await db.execute('select * from jira_ticket_instance where privacy_request_id = ?', [id]);
  const [data] = await db.execute('select d.* from submitted_data d join jira_ticket_instance i using (instance_id) where i.privacy_request_id = ?', [id]);
  return { request: request as Record<string, any>, instance: instance as Record<string, any>, data: data as Record<string, any> };
};

describe('retention on schedule (time-skipping)', () => {
  test('30 days after completion or cancelation the identity and submitted data go; ids, states, ticket keys, times and the facts stay; open requests and running workflows are untouched', async () => {
    const { env } = ts;
    const doneAt = new Date(await env.currentTimeMs());
    await seed('pri_done', { completedAt: doneAt, taskState: 'completed' });
    await seed('pri_gone', { closedAt: doneAt, taskState: 'canceled' });
    await seed('pri_open', { taskState: 'open' });
    const before = { done: await rowsOf('pri_done'), open: await rowsOf('pri_open') };

    const activities = { ...createPersonalDataActivities({ orm, kit, temporal: env.client, taskQueue: 'unused' }), ...createAuditActivities({ orm }) };
    const details: string[] = [];
    const sweep = async (): Promise<RetentionResult> => {
      let result!: RetentionResult;
      const recordAs = details.length === 1 ? 'retention-sweep-erased' : undefined;
      await runWorkflow<typeof retentionSweep>(ts, { type: 'retentionSweep', workflowId: 'retention-sweep', args: [{ personalDataRetentionDays: 30, auditLogRetentionDays: 365 }], activities, recordAs }, async (h) => {
        // Waited for without unlocking time skipping (the test server would skip years while activities run).
        result = await new Client({ connection: env.connection }).workflow.getHandle<typeof retentionSweep>(h.workflowId).result();
        details.push((await h.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '');
      });
      return result;
    };

    // The open request's ticket workflow runs on through the month (mocked Jira and database).
    const world = new MockWorld();
    await runWorkflow<typeof privacyRequestTicket>(
      ts,
      { type: 'privacyRequestTicket', workflowId: 'privacy-request/pri_open/jira/jira', args: [{ privacyRequestId: 'pri_open', connectionKey: 'jira', instanceId: 'jti_pri_open', createMaxAttempts: 1 }], activities: world.activities() },
      async (ticket: WorkflowHandle<typeof privacyRequestTicket>) => {
        await eventually(async () => world.lastState?.taskState === 'open', 'ticket open');

        await env.sleep('29 days');
        const early = await sweep();
        assert.equal(early.requestsErased, 0, 'a day early nothing is erased');
        assert.ok(seal.openIdentity({ id: 'pri_done', identity: (await rowsOf('pri_done')).request.identity }).email);

        await env.sleep('2 days');
        const late = await sweep();
        assert.deepEqual(late.requestIds.sort(), ['pri_done', 'pri_gone']);
        assert.equal(late.identitiesErased, 2);
        assert.equal(late.submittedDataErased, 2);
        assert.equal(late.ticketsWithPersonalFields, 2);
        assert.match(details.at(-1)!, /^erased the personal data of 2 request\(s\) \(pri_done, pri_gone\) done before .*: 2 identities, 2 submitted data; 2 ticket\(s\) rendered from personal variables/, 'what an operator reads in the UI');
        assert.ok(Date.parse(late.cutoff) > doneAt.getTime() && Date.parse(late.cutoff) < doneAt.getTime() + 2 * 86_400_000, `cutoff ${late.cutoff} is 30 days before the run`);

        // The ticket workflow goes on as if nothing happened: data and a done ticket complete it.
        await ticket.signal(submitDataSignal);
        await ticket.signal(ticketChangedSignal, { ticketKey: 'PRIV-1', status: 'Done', statusCategory: 'done', updated: new Date(await env.currentTimeMs()).toISOString() });
        assert.equal((await ticket.result()).taskState, 'completed');
      },
    );

    for (const id of ['pri_done', 'pri_gone']) {
      const { request, instance, data } = await rowsOf(id);
      const text = JSON.stringify({ request, instance, data });
      for (const value of [identity.email, identity.phone, MARKER]) assert.ok(!text.includes(value), `${value} left in ${id}`);
      assert.equal(request.identity, null);
      assert.ok(request.personal_data_erased_at, 'the fact of the erasure is kept');
      assert.equal(data.sealed, null);
      assert.ok(data.erased_at, 'the fact that data was submitted and erased is kept');
      assert.equal(new Date(data.submitted_at).toISOString(), '2025-02-01T09:00:00.000Z');
      assert.equal(instance.data_submitted, true);
      assert.match(instance.ticket_key, /^PRIV-/);
    }
    const done = await rowsOf('pri_done');
    for (const k of ['id', 'status', 'request_type', 'submitted_at', 'approved_at', 'manual_tasks_completed_at', 'created_at']) assert.deepEqual(done.request[k], before.done.request[k], `${k} kept`);
    for (const k of ['instance_id', 'task_state', 'ticket_key', 'workflow_id', 'state_seq', 'created_at']) assert.deepEqual(done.instance[k], before.done.instance[k], `${k} kept`);

    const open = await rowsOf('pri_open');
    assert.deepEqual(open, before.open, 'an open request keeps everything');
    assert.deepEqual(seal.openIdentity({ id: 'pri_open', identity: open.request.identity }), identity);

    // A later run finds nothing more to do.
    await ts.env.sleep('1 hour');
    assert.equal((await sweep()).requestsErased, 0);
  });
});

describe('Jira redaction (mocked activities)', () => {
  test('each pending ticket once, on past one that fails for good, and tickets an erasure adds meanwhile; the details say how it went', async () => {
    let pending = ['jti_a', 'jti_b'];
    const asked: string[] = [];
    const activities = {
      pendingRedactions: async () => ({ instanceIds: [...pending] }),
      redactTicket: async ({ instanceId }: { instanceId: string }) => {
        asked.push(instanceId);
        if (instanceId === 'jti_b') throw ApplicationFailure.nonRetryable('Jira PUT /rest/api/3/issue/{issueIdOrKey} answered 403: no permission', 'JiraRejected');
        pending = pending.filter((i) => i !== instanceId);
        // An erasure of the same request while this runs adds a ticket: found at the next round.
        if (instanceId === 'jti_a') pending.push('jti_c');
        return { ticketKey: instanceId === 'jti_a' ? 'PRIV-1' : 'PRIV-3', outcome: instanceId === 'jti_a' ? ('redacted' as const) : ('already_redacted' as const) };
      },
    };
    await runWorkflow<typeof jiraRedaction>(ts, { type: 'jiraRedaction', workflowId: 'privacy-request/pri_r/jira-redaction', args: [{ privacyRequestId: 'pri_r' }], activities, recordAs: 'jira-redaction' }, async (h) => {
      const result: RedactionResult = await new Client({ connection: ts.env.connection }).workflow.getHandle<typeof jiraRedaction>(h.workflowId).result();
      assert.deepEqual(result.redacted, ['PRIV-1']);
      assert.deepEqual(result.alreadyRedacted, ['PRIV-3']);
      assert.equal(result.failed.length, 1);
      assert.match(result.failed[0]!.error, /^jti_b: Jira PUT .* answered 403/);
      const details = (await h.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
      assert.equal(details, 'done for privacy request pri_r: 1 redacted (PRIV-1), 1 already redacted (PRIV-3), 0 gone from Jira, 1 failed');
    });
    assert.deepEqual(asked, ['jti_a', 'jti_b', 'jti_c'], 'each once: the failed one is left for the next retention run');
  });
});
