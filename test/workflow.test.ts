import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import {
  closeSignal,
  linkSignal,
  refreshSignal,
  retrySignal,
  stateQuery,
  submitDataSignal,
  ticketChangedSignal,
  type InstanceState,
  type PrivacyRequestTicketInput,
} from '../src/workflows/messages.js';
import type { privacyRequestTicket } from '../src/workflows/privacy-request-ticket.js';
import { eventually } from './helpers/infra.js';
import { MockWorld } from './helpers/mock-world.js';
import { runWorkflow, useTimeSkipping } from './helpers/time-skipping.js';

/**
 * The ticket workflow's business logic with mocked activities, on Temporal's time-skipping test server:
 * 10-minute polls and month-long waits take no real time.
 */

const ts = useTimeSkipping();

/** Runs the privacy-request workflow with the world's mocked activities. */
function withWorkflow(
  world: MockWorld,
  body: (h: WorkflowHandle<typeof privacyRequestTicket>) => Promise<void>,
  inputOverrides: Partial<PrivacyRequestTicketInput> = {},
  recordAs?: string,
): Promise<void> {
  return runWorkflow<typeof privacyRequestTicket>(
    ts,
    {
      type: 'privacyRequestTicket',
      workflowId: 'privacy-request/pri/jira/test',
      args: [{ privacyRequestId: 'pri_1', connectionKey: 'jira', instanceId: 'jti_1', pollIntervalMinutes: 10, createMaxAttempts: 1, ...inputOverrides }],
      activities: world.activities(),
      recordAs,
    },
    body,
  );
}

const until = (world: MockWorld, pred: (s: InstanceState | undefined) => boolean, what: string) =>
  eventually(async () => pred(world.lastState), what);

describe('privacy-request ticket workflow: the completion table', () => {
  test('done + data submitted → completed, upstream told, request completed', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      await h.signal(submitDataSignal);
      world.tickets.set('PRIV-1', 'done');
      const result = await h.result(); // skips to the next poll
      assert.deepEqual(result, { taskState: 'completed', ticketKey: 'PRIV-1' });
    }, {}, 'done-with-data');
    assert.equal(world.created, 1);
    assert.equal(world.lastState?.taskState, 'completed');
    assert.equal(world.lastState?.statusCategory, 'done');
    assert.deepEqual(world.events.map((e) => e.event), ['ticket.completed', 'privacy_request.manual_tasks_completed']);
  });

  test('done, no data → waiting for data; data then completes it', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      world.tickets.set('PRIV-1', 'done');
      await h.signal(refreshSignal);
      await until(world, (s) => s?.taskState === 'waiting_for_data', 'waiting_for_data');
      await h.signal(submitDataSignal);
      assert.equal((await h.result()).taskState, 'completed');
    });
    assert.deepEqual(world.recorded.map((s) => s.taskState), ['open', 'waiting_for_data', 'completed']);
  });

  test('deleted + data submitted → completed', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      await h.signal(submitDataSignal);
      world.tickets.delete('PRIV-1');
      const result = await h.result();
      assert.equal(result.taskState, 'completed');
    });
    assert.equal(world.lastState?.statusCategory, 'deleted');
  });

  test('deleted, no data → failed; link revives it and tracks the replacement', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      world.tickets.delete('PRIV-1');
      await h.signal(refreshSignal);
      await until(world, (s) => s?.taskState === 'failed', 'failed');
      assert.match(world.lastState!.lastError!, /PRIV-1 no longer exists/);
      assert.deepEqual(world.events.map((e) => e.event), ['ticket.failed']);
      world.tickets.set('PRIV-77', 'indeterminate');
      await h.signal(linkSignal, { ticketKey: 'priv-77' });
      await until(world, (s) => s?.ticket?.key === 'PRIV-77' && s.taskState === 'open', 'tracking PRIV-77');
      world.tickets.set('PRIV-77', 'done');
      await h.signal(submitDataSignal);
      assert.deepEqual(await h.result(), { taskState: 'completed', ticketKey: 'PRIV-77' });
    }, {}, 'deleted-then-linked');
    assert.equal(world.created, 1, 'linking never creates a ticket');
  });

  test('open → keeps polling every interval and changes nothing', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      const start = await ts.env.currentTimeMs();
      await ts.env.sleep('35 minutes');
      // creation read the first status; then one poll per 10-minute boundary passed
      assert.ok(world.polls.length >= 3, `polled ${world.polls.length} times in 35 minutes`);
      assert.ok(world.polls.length <= 4, `polled ${world.polls.length} times in 35 minutes`);
      assert.ok((await ts.env.currentTimeMs()) - start >= 35 * 60_000);
      assert.equal((await h.query(stateQuery)).taskState, 'open');
      await h.signal(closeSignal, { reason: 'canceled' });
      assert.equal((await h.result()).taskState, 'canceled');
    });
    assert.deepEqual(world.recorded.map((s) => s.taskState), ['open', 'canceled']);
  });
});

describe('privacy-request ticket workflow: what it costs Temporal and Jira', () => {
  test('creation reports the first status, so the new ticket sleeps without a poll of its own; a poll is one workflow task', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open' && s.status === 'To Do', 'open with its first status');
      assert.deepEqual(world.polls, [], 'no poll before the first timer');
      // The local activity ran inside the workflow task; its marker is in history once that task completed.
      const history = await eventually(async () => {
        const hist = await h.fetchHistory();
        return (hist.events ?? []).some((e) => e.timerStartedEventAttributes) ? hist : null;
      }, 'the first poll timer started');
      const activities = (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
      assert.deepEqual(activities, ['createTicket'], 'the state is written by a local activity, not an activity task');
      assert.ok((history.events ?? []).some((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity'), 'local activity marker');

      // A poll is one workflow task: the timer fires, the read runs as a local activity, the next timer starts.
      const tasksBefore = (history.events ?? []).filter((e) => e.workflowTaskCompletedEventAttributes).length;
      await ts.env.sleep('10 minutes');
      await eventually(async () => world.polls.length === 1, 'one poll');
      const after = (await h.fetchHistory()).events ?? [];
      assert.deepEqual(after.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []), ['createTicket'], 'the poll scheduled no activity task');
      assert.equal(after.filter((e) => e.workflowTaskCompletedEventAttributes).length - tasksBefore, 1, 'one workflow task for the poll');
      await h.signal(closeSignal, { reason: 'canceled' });
      await h.result();
    });
  });

  test('a creation that reports no status (histories from before) is followed by a poll', async () => {
    const world = new MockWorld();
    world.createReportsStatus = false;
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open' && s.status === 'To Do', 'open with its first status');
      assert.deepEqual(world.polls, ['PRIV-1']);
      await h.signal(closeSignal, { reason: 'canceled' });
      await h.result();
    });
  });
});

describe('privacy-request ticket workflow: webhooks and aligned polls', () => {
  test('ticketChanged (a webhook) moves the state without reading Jira; older news is dropped', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      const polls = world.polls.length;
      // Jira (the mock) still says "new": only the signal can make it done.
      await h.signal(ticketChangedSignal, { ticketKey: 'priv-1', status: 'Done', statusCategory: 'done', updated: '2026-01-02T10:00:00.000+0000' });
      await until(world, (s) => s?.taskState === 'waiting_for_data', 'waiting_for_data from the webhook');
      assert.equal(world.lastState?.status, 'Done');
      await h.signal(ticketChangedSignal, { ticketKey: 'PRIV-1', status: 'To Do', statusCategory: 'new', updated: '2026-01-01T10:00:00.000+0000' });
      await h.signal(ticketChangedSignal, { ticketKey: 'OTHER-9', status: 'To Do', statusCategory: 'new' });
      assert.equal((await h.query(stateQuery)).taskState, 'waiting_for_data', 'stale or foreign news changes nothing');
      assert.equal(world.polls.length, polls, 'no Jira read for webhook news');
      await h.signal(submitDataSignal);
      world.tickets.set('PRIV-1', 'done');
      assert.equal((await h.result()).taskState, 'completed');
    }, {}, 'webhook-done');
  });

  test('polls fire on the interval boundaries (plus the connection offset), so a connection polls together', async () => {
    const world = new MockWorld();
    const period = 10 * 60_000;
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      await ts.env.sleep('45 minutes');
      const history = await h.fetchHistory();
      const fires = (history.events ?? []).flatMap((e) => {
        const t = e.timerStartedEventAttributes;
        if (!t) return [];
        const startedAt = Number(e.eventTime!.seconds) * 1000 + Math.floor(e.eventTime!.nanos! / 1e6);
        return [startedAt + Number(t.startToFireTimeout!.seconds) * 1000 + Math.floor((t.startToFireTimeout!.nanos ?? 0) / 1e6)];
      });
      assert.ok(fires.length >= 4, `${fires.length} poll timers`);
      const phases = new Set(fires.map((f) => Math.round((f % period) / 1000)));
      assert.equal(phases.size, 1, `every timer fires at the same phase of the interval: ${[...phases].join(', ')} s`);
      assert.ok([...phases][0]! < 60, 'the per-connection offset is under a minute');
      await h.signal(closeSignal, { reason: 'canceled' });
      await h.result();
    });
  });
});

describe('privacy-request ticket workflow: signals', () => {
  test('refresh polls at once, without waiting for the timer', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      const before = world.polls.length;
      const t0 = await ts.env.currentTimeMs();
      await h.signal(refreshSignal);
      await eventually(async () => world.polls.length > before, 'a poll after refresh');
      assert.ok((await ts.env.currentTimeMs()) - t0 < 60_000, 'no timer had to fire');
      await h.signal(closeSignal, { reason: 'denied' });
      await h.result();
    });
  });

  test('creation failure → creation_failed and upstream told; retry creates the ticket', async () => {
    const world = new MockWorld();
    world.createFailures = 1;
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'creation_failed', 'creation_failed');
      assert.match(world.lastState!.lastError!, /summary: required/);
      await eventually(async () => world.events.length > 0, 'the failure callback');
      assert.deepEqual(world.events.map((e) => e.event), ['ticket.creation_failed']);
      await h.signal(retrySignal);
      await until(world, (s) => s?.taskState === 'open', 'open after retry');
      assert.equal(world.lastState?.ticket?.key, 'PRIV-1');
      assert.equal(world.lastState?.lastError, null);
      await h.signal(closeSignal, { reason: 'canceled' });
      await h.result();
    }, {}, 'creation-failed-retried-canceled');
  });

  test('retry is ignored unless creation failed', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      await h.signal(retrySignal);
      await h.signal(refreshSignal);
      await eventually(async () => world.polls.length >= 1, 'the refresh after the retry');
      assert.equal(world.created, 1);
      assert.equal((await h.query(stateQuery)).taskState, 'open');
      await h.signal(closeSignal, { reason: 'canceled' });
      await h.result();
    });
  });

  test('data submitted while the signal was lost is picked up by the next poll', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      world.dataInDatabase = true; // stored by the API, but no signal arrived
      world.tickets.set('PRIV-1', 'done');
      assert.equal((await h.result()).taskState, 'completed');
    });
  });

  test('close (request canceled) ends the workflow without failing it, from any state', async () => {
    const world = new MockWorld();
    world.createFailures = 1;
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'creation_failed', 'creation_failed');
      await h.signal(closeSignal, { reason: 'canceled' });
      assert.deepEqual(await h.result(), { taskState: 'canceled', ticketKey: null });
    });
  });

  test('a ticket open for a year: continue-as-new keeps the state and the workflow id', async () => {
    const world = new MockWorld();
    await withWorkflow(
      world,
      async (h) => {
        await until(world, (s) => s?.taskState === 'open', 'ticket open');
        const firstRun = (await h.describe()).runId;
        await h.signal(submitDataSignal);
        await ts.env.sleep('8 hours'); // ~48 polls: several continue-as-new generations at 60 events each
        const desc = await h.describe();
        assert.notEqual(desc.runId, firstRun, 'continued as new');
        assert.ok(desc.historyLength <= 80, `history stays short (${desc.historyLength} events)`);
        const state = await h.query(stateQuery);
        assert.equal(state.dataSubmitted, true, 'data submission survives continue-as-new');
        assert.equal(state.ticket?.key, 'PRIV-1');
        world.tickets.set('PRIV-1', 'done');
        assert.equal((await h.result()).taskState, 'completed');
      },
      { historyLimit: 60 },
      'continued-as-new',
    );
    assert.equal(world.created, 1, 'no second ticket after continue-as-new');
  });
});

test('a workflow that fails for an unexpected reason surfaces as a failure (sanity check of the harness)', async () => {
  const world = new MockWorld();
  const activities = world.activities();
  activities.recordInstanceState = async () => {
    throw ApplicationFailure.nonRetryable('database gone', 'Boom');
  };
  await runWorkflow<typeof privacyRequestTicket>(
    ts,
    { type: 'privacyRequestTicket', workflowId: 'wf', args: [{ privacyRequestId: 'p', connectionKey: 'c', instanceId: 'i', pollIntervalMinutes: 10, createMaxAttempts: 1 }], activities },
    async (h) => void (await assert.rejects(h.result(), WorkflowFailedError)),
  );
});
