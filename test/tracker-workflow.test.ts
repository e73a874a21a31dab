import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import type { TrackerActivities } from '../src/tracker/activities.js';
import { reconcileNowSignal, stopTrackerSignal, syncNowSignal, trackerStateQuery, type CycleReport, type TrackerInput } from '../src/tracker/messages.js';
import type { jiraTracker } from '../src/tracker/workflow.js';
import { eventually } from './helpers/infra.js';
import { acrossRuns, runWorkflow, signalAcrossRuns, useTimeSkipping } from './helpers/time-skipping.js';

/** The tracker's schedule and bookkeeping with mocked activities, on the time-skipping server. */

const ts = useTimeSkipping();

class TrackerWorld {
  syncs: Array<{ at: number; cursor: string | null }> = [];
  reconciles: number[] = [];
  failNext = 0;
  stopWith: string | undefined;
  recorded: Array<{ cycle: number; lastError: string | null }> = [];

  activities(): TrackerActivities {
    return {
      syncChanges: async ({ cursor }) => {
        const at = Date.now();
        this.syncs.push({ at, cursor });
        if (this.failNext > 0) {
          this.failNext -= 1;
          throw ApplicationFailure.nonRetryable('Jira POST /rest/api/3/search/jql answered 503', 'JiraServerError');
        }
        const report: CycleReport = { tracked: 10_000, changed: 37, signalled: 37, calls: 2, points: 39, healed: 0, duplicatesClosed: 0, cursor: new Date(at).toISOString(), webhooks: false };
        return this.stopWith ? { ...report, stop: this.stopWith } : report;
      },
      reconcileTickets: async () => {
        this.reconciles.push(Date.now());
        return { checked: 10_000, deleted: 1, calls: 101, points: 101 };
      },
      recordTrackerState: async ({ state }) => void this.recorded.push({ cycle: state.cycle, lastError: state.lastError }),
    };
  }
}

const input = (over: Partial<TrackerInput> = {}): TrackerInput => ({
  connectionKey: 'jira',
  intervalMinutes: 10,
  webhookIntervalMinutes: 60,
  overlapMinutes: 5,
  reconcileIntervalMinutes: 60,
  ...over,
});

/** The workflow's current details, as the Temporal UI shows them. */
const currentDetails = async (h: WorkflowHandle) => (await h.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';

function withTracker(world: TrackerWorld, body: (h: WorkflowHandle<typeof jiraTracker>) => Promise<void>, over: Partial<TrackerInput> = {}, recordAs?: string) {
  return runWorkflow<typeof jiraTracker>(ts, { type: 'jiraTracker', workflowId: 'jira-tracker/jira', args: [input(over)], activities: world.activities(), recordAs }, body);
}

describe('connection tracker workflow', () => {
  test('reads at once when new, then once per interval at a fixed phase, each read starting from the last one\'s cursor', async () => {
    const world = new TrackerWorld();
    await withTracker(world, async (h) => {
      await eventually(async () => world.syncs.length === 1, 'the first read, at once');
      assert.equal(world.syncs[0]!.cursor, null, 'a new tracker has no cursor: it reads everything once');
      await ts.env.sleep('45 minutes');
      await eventually(async () => world.syncs.length >= 5, 'four more cycles');
      const later = world.syncs.slice(1);
      const phases = later.map((s) => (s.at % 600_000) / 1000);
      assert.ok(Math.max(...phases) - Math.min(...phases) < 5, `every cycle starts at the same phase of the interval (${phases.map((p) => p.toFixed(1)).join(', ')} s)`);
      for (let i = 1; i < world.syncs.length; i++) assert.equal(world.syncs[i]!.cursor, new Date(world.syncs[i - 1]!.at).toISOString(), 'each read starts where the last began');
      assert.match(await currentDetails(h), /^cycle [\d,]+: 10,000 tracked, 37 changed, 2 calls, 39 points; next at \d\d:\d\d UTC/, 'what an operator reads in the UI');
      const state = await h.query(trackerStateQuery);
      assert.equal(state.totals.points, 39 * world.syncs.length + 101 * world.reconciles.length);
      await h.signal(stopTrackerSignal, { reason: 'test over' });
      assert.deepEqual(await h.result(), { stopped: 'test over' });
    });
  });

  test('reconciles on its own schedule and on reconcileNow; syncNow reads at once', async () => {
    const world = new TrackerWorld();
    await withTracker(world, async (h) => {
      await eventually(async () => world.syncs.length === 1, 'first read');
      assert.equal(world.reconciles.length, 0, 'the first full read stands for a reconcile');
      // Cycles fall on 10-minute boundaries: the first one an hour or more after the first read reconciles.
      await ts.env.sleep('75 minutes');
      await eventually(async () => world.reconciles.length === 1, 'a reconcile an hour later');
      const before = world.syncs.length;
      await h.signal(syncNowSignal);
      await eventually(async () => world.syncs.length === before + 1, 'a read on syncNow');
      assert.equal(world.reconciles.length, 1, 'syncNow reads changes only');
      await h.signal(reconcileNowSignal);
      await eventually(async () => world.reconciles.length === 2, 'a reconcile on reconcileNow');
      await h.signal(stopTrackerSignal);
      await h.result();
    }, {}, 'tracker-cycles-reconciles-stopped');
  });

  test('a failed cycle says why in its details and state; the next one starts from the same cursor', async () => {
    const world = new TrackerWorld();
    await withTracker(world, async (h) => {
      await eventually(async () => world.syncs.length === 1, 'first read');
      world.failNext = 1;
      await h.signal(syncNowSignal);
      await eventually(async () => world.recorded.at(-1)?.lastError?.includes('503') === true, 'the failure recorded');
      assert.match(await currentDetails(h), /last error: Jira POST \/rest\/api\/3\/search\/jql answered 503/);
      assert.match((await h.query(trackerStateQuery)).lastError ?? '', /answered 503/);
      await h.signal(syncNowSignal);
      await eventually(async () => world.syncs.length === 3, 'the next read');
      assert.equal(world.syncs[2]!.cursor, world.syncs[1]!.cursor, 'the cursor did not move past the failed read');
      assert.equal((await h.query(trackerStateQuery)).lastError, null);
      await h.signal(stopTrackerSignal);
      await h.result();
    });
  });

  test('ends when its connection is gone; continues as new with its cursor and totals', async () => {
    const world = new TrackerWorld();
    await withTracker(
      world,
      async (h) => {
        const firstRun = (await h.describe()).runId;
        await ts.env.sleep('3 hours');
        await eventually(async () => world.syncs.length >= 15, 'cycles');
        assert.notEqual((await h.describe()).runId, firstRun, 'continued as new');
        const state = await acrossRuns(() => h.query(trackerStateQuery));
        assert.ok(state.cycle >= 15, `the cycle count carried over (${state.cycle})`);
        assert.equal(state.cursor, new Date(world.syncs.at(-1)!.at).toISOString());
        world.stopWith = 'connection jira was removed';
        await signalAcrossRuns(h, syncNowSignal);
        assert.deepEqual(await h.result(), { stopped: 'connection jira was removed' });
      },
      { historyLimit: 60 },
    );
  });
});
