import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { LinkPoll } from '../src/anomalies/activities.js';
import type { UpstreamEvent } from '../src/callbacks/activities.js';
import { anomalyStatusChangedSignal, commentAddedSignal, linkStateQuery, refreshLinkUpdate, unlinkSignal, type AnomalyLinkInput, type AnomalyLinkState } from '../src/anomalies/messages.js';
import { ticketChangedSignal, type TicketChange } from '../src/tracker/news.js';
import type { anomalyTicketLink } from '../src/anomalies/workflows.js';
import { eventually } from './helpers/infra.js';
import { acrossRuns, historyAtRest, runWorkflow, signalAcrossRuns, useTimeSkipping } from './helpers/time-skipping.js';

/**
 * The anomaly link workflow's logic with mocked activities, on the time-skipping server. It holds no timer:
 * news of the ticket comes as signals (the connection's tracker, Jira's webhooks), comments as wake-ups.
 */

const ts = useTimeSkipping();
type Category = 'new' | 'indeterminate' | 'done' | 'deleted';

/** A scripted ticket and outbox behind the link's activities. */
class LinkWorld {
  category: Category = 'new';
  outbox = 0;
  delivered = 0;
  polls = 0;
  reopened = 0;
  unlinked = 0;
  events: UpstreamEvent[] = [];
  recorded: AnomalyLinkState[] = [];

  activities() {
    return {
      deliverComments: async () => {
        const n = this.outbox;
        this.delivered += n;
        this.outbox = 0;
        return { delivered: n };
      },
      pollLinkedTicket: async (): Promise<LinkPoll> => {
        this.polls += 1;
        const found = this.category !== 'deleted';
        const status = { new: 'To Do', indeterminate: 'In Progress', done: 'Done', deleted: null }[this.category];
        return { found, ticketId: found ? '10001' : null, ticketUrl: null, status, statusCategory: this.category, resolution: this.category === 'done' ? 'Done' : null, assignee: null, pendingComments: this.outbox > 0 };
      },
      reopenTicket: async () => {
        if (this.category !== 'done') return { reopened: false };
        this.category = 'new';
        this.reopened += 1;
        this.outbox += 1; // the reopen comment
        return { reopened: true };
      },
      recordLinkState: async ({ state }: { state: AnomalyLinkState }) => void this.recorded.push(structuredClone(state)),
      markUnlinked: async () => {
        this.unlinked += 1;
        this.outbox += 1; // the unlink comment
      },
      notifyUpstream: async (e: UpstreamEvent) => {
        this.events.push(e);
        return { delivered: true };
      },
    };
  }

  get last() {
    return this.recorded.at(-1);
  }
}

function withLink(world: LinkWorld, body: (h: WorkflowHandle<typeof anomalyTicketLink>) => Promise<void>, overrides: Partial<AnomalyLinkInput> = {}) {
  return runWorkflow<typeof anomalyTicketLink>(
    ts,
    {
      type: 'anomalyTicketLink',
      workflowId: 'anomaly/1/ticket/SCRUM-1',
      args: [{ linkId: 'lnk_1', anomalyId: '1', connectionKey: 'jira', ticketKey: 'SCRUM-1', ...overrides }],
      activities: world.activities(),
    },
    body,
  );
}
const until = (pred: () => boolean, what: string) => eventually(async () => pred(), what);
let clock = Date.parse('2026-12-01T10:00:00Z');
/** What the tracker tells the link when the ticket changed in Jira. */
const news = (statusCategory: 'new' | 'indeterminate' | 'done', extra: Partial<TicketChange> = {}): TicketChange => ({
  ticketKey: 'SCRUM-1',
  status: { new: 'To Do', indeterminate: 'In Progress', done: 'Done' }[statusCategory],
  statusCategory,
  updated: new Date((clock += 60_000)).toISOString(),
  ...extra,
});

describe('anomaly link workflow', () => {
  test('comments are delivered when signalled; a done ticket is reported upstream once, and again only after it left done', async () => {
    const world = new LinkWorld();
    await withLink(world, async (h) => {
      await until(() => world.last?.status === 'To Do', 'first sync');
      world.outbox = 2;
      await h.signal(commentAddedSignal);
      await until(() => world.delivered === 2, 'comments delivered');
      assert.equal(world.polls, 1, 'comments alone need no Jira read');

      await h.signal(ticketChangedSignal, news('done'));
      await h.signal(ticketChangedSignal, news('done', { assignee: 'Ana' }));
      await until(() => world.last?.assignee === 'Ana' && world.last.doneNotified, 'both changes seen, done reported');
      assert.deepEqual(world.events.map((e) => e.event), ['anomaly_ticket.done']);
      assert.equal(world.last?.doneNotified, true);

      await h.signal(ticketChangedSignal, news('indeterminate'));
      await until(() => world.last?.statusCategory === 'indeterminate', 'reopened in Jira');
      await h.signal(ticketChangedSignal, news('done'));
      await until(() => world.events.length === 2, 'done again');
      assert.deepEqual(world.events.map((e) => e.event), ['anomaly_ticket.done', 'anomaly_ticket.done'], 'reported again after it was reopened in Jira');
      assert.equal(world.polls, 1, 'the first read only');
      const before = (await historyAtRest(h, () => !!world.last?.doneNotified)).length;
      await ts.env.sleep('30 days');
      assert.equal((await h.fetchHistory()).events?.length, before, 'a month at rest adds nothing to the history');
    });
  });

  test('the anomaly becoming active again reopens a done ticket; other statuses do not', async () => {
    const world = new LinkWorld();
    world.category = 'done';
    await withLink(world, async (h) => {
      await until(() => world.last?.statusCategory === 'done', 'done seen');
      await h.signal(anomalyStatusChangedSignal, { status: 'Acknowledged' });
      await h.signal(anomalyStatusChangedSignal, { status: 'Active' });
      await until(() => world.reopened === 1 && world.last?.statusCategory === 'new', 'reopened and re-read');
      assert.equal(world.delivered, 1, 'the reopen comment was delivered');
    });
  });

  test('a webhook (ticketChanged) updates the link without a Jira read; unlink ends it with the last comment delivered', async () => {
    const world = new LinkWorld();
    await withLink(world, async (h) => {
      await until(() => world.polls === 1 && world.last !== undefined, 'first sync');
      await h.signal(ticketChangedSignal, { ticketKey: 'scrum-1', status: 'In Progress', statusCategory: 'indeterminate', assignee: 'Ana' });
      await until(() => world.last?.status === 'In Progress', 'status from the webhook');
      assert.equal(world.last?.assignee, 'Ana');
      assert.equal(world.polls, 1, 'no Jira read');
      assert.equal((await h.query(linkStateQuery)).statusCategory, 'indeterminate');

      await h.signal(unlinkSignal);
      assert.deepEqual(await h.result(), { state: 'unlinked' });
      assert.equal(world.unlinked, 1);
      assert.equal(world.delivered, 1, 'the unlink comment went out before the workflow ended');
      assert.equal(world.last?.state, 'unlinked');
    });
  });

  test('refreshNow delivers queued comments, reads the ticket, and answers the link as it then is', async () => {
    const world = new LinkWorld();
    await withLink(world, async (h) => {
      await until(() => world.last?.status === 'To Do', 'first sync');
      world.outbox = 1;
      world.category = 'indeterminate';
      const state = await h.executeUpdate(refreshLinkUpdate);
      assert.equal(state.status, 'In Progress');
      assert.equal(world.delivered, 1);
      assert.equal(world.polls, 2);
      await h.signal(unlinkSignal);
      await h.result();
      await assert.rejects(h.executeUpdate(refreshLinkUpdate), 'an ended link takes no refresh');
    });
  });

  test('a link that sees a lot continues as new and keeps what it reported, without reading Jira again', async () => {
    const world = new LinkWorld();
    world.category = 'done';
    await withLink(
      world,
      async (h) => {
        await until(() => world.events.length === 1, 'done reported');
        const firstRun = (await h.describe()).runId;
        for (let i = 0; i < 12; i++) {
          await signalAcrossRuns(h, ticketChangedSignal, news('done', { assignee: `person ${i}` }));
          await until(() => world.last?.assignee === `person ${i}`, `change ${i}`);
        }
        assert.notEqual((await h.describe()).runId, firstRun, 'continued as new');
        assert.equal(world.events.length, 1, 'not reported again after continue-as-new');
        assert.equal(world.polls, 1, 'the next run starts from the state it was given');
        assert.equal((await acrossRuns(() => h.query(linkStateQuery))).doneNotified, true);
      },
      { historyLimit: 40 },
    );
  });
});
