import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { closeSignal, linkSignal, linkTicketUpdate, refreshNowUpdate, retryCreationUpdate, retrySignal, stateQuery, submitDataSignal, type InstanceState, type PrivacyRequestTicketInput } from '../src/privacy-requests/messages.js';
import { refreshSignal, ticketChangedSignal, type TicketChange } from '../src/tracker/news.js';
import type { privacyRequestTicket } from '../src/privacy-requests/workflow.js';
import { eventually } from './helpers/infra.js';
import { MockWorld } from './helpers/mock-world.js';
import { acrossRuns, historyAtRest, runWorkflow, signalAcrossRuns, useTimeSkipping } from './helpers/time-skipping.js';

/**
 * The ticket workflow's business logic with mocked activities, on Temporal's time-skipping test server:
 * month-long waits take no real time. The workflow holds no timer: news comes as signals (from the
 * connection's tracker or Jira's webhooks), and callers who want an answer use Updates.
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
      args: [{ privacyRequestId: 'pri_1', connectionKey: 'jira', instanceId: 'jti_1', createMaxAttempts: 1, ...inputOverrides }],
      activities: world.activities(),
      recordAs,
    },
    body,
  );
}

const until = (world: MockWorld, pred: (s: InstanceState | undefined) => boolean, what: string) =>
  eventually(async () => pred(world.lastState), what);

/** What the tracker (or a webhook) tells a workflow: the ticket's new state, with Jira's `updated`. */
let clock = Date.parse('2026-12-01T10:00:00Z');
const news = (ticketKey: string, statusCategory: TicketChange['statusCategory']): TicketChange => ({
  ticketKey,
  status: { new: 'To Do', indeterminate: 'In Progress', done: 'Done', deleted: null }[statusCategory],
  statusCategory,
  updated: new Date((clock += 60_000)).toISOString(),
});

const events = async (h: WorkflowHandle) => (await h.fetchHistory()).events ?? [];
const timersIn = async (h: WorkflowHandle) => (await events(h)).filter((e) => e.timerStartedEventAttributes).length;

describe('privacy-request ticket workflow: the completion table, from the tracker\'s news', () => {
  test('done + data submitted → completed, upstream told, request completed', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      await h.signal(submitDataSignal);
      await until(world, (s) => s?.dataSubmitted === true, 'data recorded');
      await h.signal(ticketChangedSignal, news('PRIV-1', 'done'));
      assert.deepEqual(await h.result(), { taskState: 'completed', ticketKey: 'PRIV-1' });
    }, {}, 'done-with-data');
    assert.equal(world.created, 1);
    assert.deepEqual(world.polls, [], 'no Jira read: creation saw the status, the rest came as news');
    assert.equal(world.lastState?.taskState, 'completed');
    assert.equal(world.lastState?.statusCategory, 'done');
    assert.deepEqual(world.events.map((e) => e.event), ['ticket.completed', 'privacy_request.manual_tasks_completed']);
  });

  test('done, no data → waiting for data; data then completes it without reading Jira', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      await h.signal(ticketChangedSignal, news('PRIV-1', 'done'));
      await until(world, (s) => s?.taskState === 'waiting_for_data', 'waiting_for_data');
      await h.signal(submitDataSignal);
      assert.equal((await h.result()).taskState, 'completed');
    });
    assert.deepEqual(world.recorded.map((s) => s.taskState), ['open', 'waiting_for_data', 'completed']);
    assert.deepEqual(world.polls, []);
  });

  test('deleted + data submitted → completed', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      await h.signal(submitDataSignal);
      await h.signal(ticketChangedSignal, news('PRIV-1', 'deleted'));
      assert.equal((await h.result()).taskState, 'completed');
    });
    assert.equal(world.lastState?.statusCategory, 'deleted');
  });

  test('deleted, no data → failed; linking a replacement (with what the API read of it) tracks it without a read', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      await h.signal(ticketChangedSignal, news('PRIV-1', 'deleted'));
      await until(world, (s) => s?.taskState === 'failed', 'failed');
      assert.match(world.lastState!.lastError!, /PRIV-1 no longer exists/);
      // The upstream is told after the state is recorded: under load its activity may not have run yet.
      await eventually(async () => world.events.length > 0, 'upstream told');
      assert.deepEqual(world.events.map((e) => e.event), ['ticket.failed']);
      const seen = { ...news('PRIV-77', 'indeterminate'), id: '10077', url: 'https://jira.test/browse/PRIV-77' };
      const after = await h.executeUpdate(linkTicketUpdate, { args: [{ ticketKey: 'priv-77', seen }] });
      assert.equal(after.ticket?.key, 'PRIV-77', 'the Update answers the state with the new ticket');
      assert.equal(after.taskState, 'open');
      assert.equal(after.status, 'In Progress');
      await h.signal(ticketChangedSignal, news('PRIV-77', 'done'));
      await h.signal(submitDataSignal);
      assert.deepEqual(await h.result(), { taskState: 'completed', ticketKey: 'PRIV-77' });
    }, {}, 'deleted-then-linked');
    assert.equal(world.created, 1, 'linking never creates a ticket');
    assert.deepEqual(world.polls, [], 'the link carried the status the API had just read');
  });

  test('open for a month: no timer, no read, no workflow task while nothing happens', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      const before = (await historyAtRest(h)).length;
      await ts.env.sleep('30 days');
      assert.equal((await events(h)).length, before, 'a month at rest added nothing to the history');
      assert.equal(await timersIn(h), 0, 'no timer of its own');
      assert.deepEqual(world.polls, []);
      assert.equal((await h.query(stateQuery)).taskState, 'open');
      await h.signal(closeSignal, { reason: 'canceled' });
      assert.equal((await h.result()).taskState, 'canceled');
    });
    assert.deepEqual(world.recorded.map((s) => s.taskState), ['open', 'canceled']);
  });

  test('a creation that reports no status (histories from before) is followed by one read', async () => {
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

describe('privacy-request ticket workflow: news from webhooks and the tracker', () => {
  test('ticketChanged moves the state without reading Jira; older or foreign news is dropped', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      // Jira (the mock) still says "new": only the signal can make it done.
      await h.signal(ticketChangedSignal, { ticketKey: 'priv-1', status: 'Done', statusCategory: 'done', updated: '2026-01-02T10:00:00.000+0000' });
      await until(world, (s) => s?.taskState === 'waiting_for_data', 'waiting_for_data from the webhook');
      assert.equal(world.lastState?.status, 'Done');
      await h.signal(ticketChangedSignal, { ticketKey: 'PRIV-1', status: 'To Do', statusCategory: 'new', updated: '2026-01-01T10:00:00.000+0000' });
      await h.signal(ticketChangedSignal, { ticketKey: 'OTHER-9', status: 'To Do', statusCategory: 'new' });
      assert.equal((await h.query(stateQuery)).taskState, 'waiting_for_data', 'stale or foreign news changes nothing');
      assert.deepEqual(world.polls, [], 'no Jira read for news');
      await h.signal(submitDataSignal);
      assert.equal((await h.result()).taskState, 'completed');
    }, {}, 'webhook-done');
  });

  test('news that arrives while the ticket is being created is kept and applied once creation names the ticket', async () => {
    const world = new MockWorld();
    const activities = world.activities();
    const create = activities.createTicket;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const creating = new Promise<void>((r) => (started = r));
    activities.createTicket = async (args) => {
      started();
      await released;
      return create(args);
    };
    await runWorkflow<typeof privacyRequestTicket>(
      ts,
      { type: 'privacyRequestTicket', workflowId: 'wf-early-news', args: [{ privacyRequestId: 'p', connectionKey: 'jira', instanceId: 'i', createMaxAttempts: 1 }], activities },
      async (h) => {
        await creating;
        // The webhook of the new issue came before the create call's reply (the activity records the key first).
        await h.signal(ticketChangedSignal, { ticketKey: 'PRIV-1', status: 'In Progress', statusCategory: 'indeterminate', updated: '2099-01-01T00:00:00.000+0000' });
        release();
        await until(world, (s) => s?.status === 'In Progress', 'the early news applied over creation\'s own read');
        await h.signal(closeSignal, { reason: 'canceled' });
        await h.result();
      },
    );
  });

  test('news a webhook parked before the read model knew the key comes back with the first record, and applies', async () => {
    const world = new MockWorld();
    world.parked = { ticketKey: 'PRIV-1', status: 'Done', statusCategory: 'done', updated: '2099-01-01T00:00:00.000+0000' };
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'waiting_for_data', 'the parked news applied');
      assert.deepEqual(world.recorded.map((s) => s.taskState), ['open', 'waiting_for_data']);
      await h.signal(closeSignal, { reason: 'canceled' });
      await h.result();
    });
  });
});

describe('privacy-request ticket workflow: Updates for callers who want the answer', () => {
  test('refreshNow reads the ticket once, at once, and answers the state it leads to', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      world.tickets.set('PRIV-1', 'done');
      const t0 = await ts.env.currentTimeMs();
      const state = await h.executeUpdate(refreshNowUpdate);
      assert.equal(state.taskState, 'waiting_for_data');
      assert.equal(world.lastState?.taskState, 'waiting_for_data', 'recorded before the answer');
      assert.deepEqual(world.polls, ['PRIV-1']);
      assert.ok((await ts.env.currentTimeMs()) - t0 < 60_000, 'no timer had to fire');
      // The refresh signal does the same for operators in the Temporal UI.
      world.tickets.set('PRIV-1', 'indeterminate');
      await h.signal(refreshSignal);
      await until(world, (s) => s?.taskState === 'open' && s.status === 'In Progress', 'read after the refresh signal');
      await h.signal(closeSignal, { reason: 'denied' });
      await h.result();
    });
  });

  test('creation failure → creation_failed and upstream told; retryCreation answers "creating", then the ticket exists', async () => {
    const world = new MockWorld();
    world.createFailures = 1;
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'creation_failed', 'creation_failed');
      assert.match(world.lastState!.lastError!, /summary: required/);
      await eventually(async () => world.events.length > 0, 'the failure callback');
      assert.deepEqual(world.events.map((e) => e.event), ['ticket.creation_failed']);
      await assert.rejects(h.executeUpdate(refreshNowUpdate), (e: unknown) => e instanceof WorkflowUpdateFailedError && /has no ticket yet/.test(String((e.cause as Error)?.message)));
      const answer = await h.executeUpdate(retryCreationUpdate);
      assert.equal(answer.taskState, 'creating');
      await until(world, (s) => s?.taskState === 'open', 'open after retry');
      assert.equal(world.lastState?.ticket?.key, 'PRIV-1');
      assert.equal(world.lastState?.lastError, null);
      await h.signal(closeSignal, { reason: 'canceled' });
      await h.result();
    }, {}, 'creation-failed-retried-canceled');
  });

  test('the validators refuse what the state does not allow, and a refusal leaves no trace in history', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      const before = (await events(h)).length;
      await assert.rejects(h.executeUpdate(retryCreationUpdate), (e: unknown) => e instanceof WorkflowUpdateFailedError && /only a failed ticket creation can be retried; this instance is open/.test(String((e.cause as Error)?.message)));
      await assert.rejects(h.executeUpdate(linkTicketUpdate, { args: [{ ticketKey: 'not a key' }] }), WorkflowUpdateFailedError);
      const accepted = (await events(h)).slice(before).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes || e.workflowExecutionUpdateCompletedEventAttributes);
      assert.deepEqual(accepted, [], 'refused Updates are neither accepted nor completed in history');
      // A retry signal (the UI's) is ignored in this state too.
      await h.signal(retrySignal);
      await h.executeUpdate(refreshNowUpdate);
      assert.equal(world.created, 1);
      assert.equal((await h.query(stateQuery)).taskState, 'open');
      await h.signal(closeSignal, { reason: 'canceled' });
      await h.result();
      await assert.rejects(h.executeUpdate(refreshNowUpdate), 'a finished workflow takes no Update');
    });
  });

  test('a link signal from the UI (no status with it) reads the new ticket', async () => {
    const world = new MockWorld();
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'open', 'ticket open');
      world.tickets.set('PRIV-9', 'done');
      await h.signal(linkSignal, { ticketKey: 'PRIV-9' });
      await until(world, (s) => s?.ticket?.key === 'PRIV-9' && s.taskState === 'waiting_for_data', 'tracking PRIV-9');
      assert.deepEqual(world.polls, ['PRIV-9']);
      await h.signal(closeSignal, { reason: 'canceled' });
      await h.result();
    });
  });
});

describe('privacy-request ticket workflow: ending', () => {
  test('close (request canceled) ends the workflow without failing it, from any state', async () => {
    const world = new MockWorld();
    world.createFailures = 1;
    await withWorkflow(world, async (h) => {
      await until(world, (s) => s?.taskState === 'creation_failed', 'creation_failed');
      await h.signal(closeSignal, { reason: 'canceled' });
      assert.deepEqual(await h.result(), { taskState: 'canceled', ticketKey: null });
    });
  });

  test('a ticket that changes a lot: continue-as-new keeps the state and the workflow id', async () => {
    const world = new MockWorld();
    await withWorkflow(
      world,
      async (h) => {
        await until(world, (s) => s?.taskState === 'open', 'ticket open');
        const firstRun = (await h.describe()).runId;
        await h.signal(submitDataSignal);
        for (let i = 0; i < 12; i++) {
          await signalAcrossRuns(h, ticketChangedSignal, news('PRIV-1', i % 2 ? 'new' : 'indeterminate'));
          await until(world, (s) => s?.statusCategory === (i % 2 ? 'new' : 'indeterminate'), `change ${i}`);
        }
        const desc = await h.describe();
        assert.notEqual(desc.runId, firstRun, 'continued as new');
        assert.ok(desc.historyLength <= 60, `history stays short (${desc.historyLength} events)`);
        const state = await acrossRuns(() => h.query(stateQuery));
        assert.equal(state.dataSubmitted, true, 'data submission survives continue-as-new');
        assert.equal(state.ticket?.key, 'PRIV-1');
        await signalAcrossRuns(h, ticketChangedSignal, news('PRIV-1', 'done'));
        assert.equal((await h.result()).taskState, 'completed');
      },
      { historyLimit: 40 },
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
    { type: 'privacyRequestTicket', workflowId: 'wf', args: [{ privacyRequestId: 'p', connectionKey: 'c', instanceId: 'i', createMaxAttempts: 1 }], activities },
    async (h) => void (await assert.rejects(h.result(), WorkflowFailedError)),
  );
});
