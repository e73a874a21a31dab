import { allHandlersFinished, condition, continueAsNew, proxyActivities, proxyLocalActivities, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { TrackerActivities } from './activities.js';
import { reconcileNowSignal, stopTrackerSignal, syncNowSignal, trackerStateQuery, type TrackerInput, type TrackerState } from './messages.js';
import { untilNextCycle } from './schedule.js';
import { dbRetry, failureMessage, historyIsLong, jiraRetry } from '../platform/temporal/workflow-support.js';

const { syncChanges } = proxyActivities<TrackerActivities>({
  // A first full read of 10,000 tickets is 100 bulk reads at the connection's budget; the heartbeat notices a lost worker.
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  // A cycle that cannot read Jira gives up and says so; the next cycle starts from the same cursor.
  retry: { ...jiraRetry, maximumInterval: '1 minute', maximumAttempts: 3 },
  summary: 'Read what changed in Jira since the last cycle, and tell the workflows whose ticket changed',
});
const { reconcileTickets } = proxyActivities<TrackerActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { ...jiraRetry, maximumInterval: '1 minute', maximumAttempts: 3 },
  summary: 'Check that every tracked ticket still exists (deletions do not show in a delta)',
});
const { recordTrackerState } = proxyLocalActivities<TrackerActivities>({
  startToCloseTimeout: '30 seconds',
  retry: dbRetry,
  summary: 'Record the cycle in PostgreSQL',
});

/**
 * The one poller of a Jira connection. Each cycle asks Jira for the tracked tickets that changed since the
 * last one and signals only their workflows: unchanged tickets cost nothing, in Jira or in Temporal. A
 * reconcile now and then finds the deleted ones. Ends when the connection is disabled or removed.
 */
export async function jiraTracker(input: TrackerInput): Promise<{ stopped: string }> {
  const s: TrackerState = input.state ?? { cycle: 0, cursor: null, lastReconcileAt: null, lastError: null, last: null, lastReconcile: null, totals: { calls: 0, points: 0, changed: 0 } };
  const { connectionKey } = input;
  let syncNow = s.cursor === null; // a new tracker reads at once
  let reconcileNow = false;
  let stop: string | null = null;
  setHandler(syncNowSignal, () => void (syncNow = true));
  setHandler(reconcileNowSignal, () => void (reconcileNow = syncNow = true));
  setHandler(stopTrackerSignal, (arg) => void (stop = arg?.reason ?? 'stopped by a signal'));
  setHandler(trackerStateQuery, () => s);

  for (;;) {
    const interval = s.last?.webhooks ? input.webhookIntervalMinutes : input.intervalMinutes;
    const wait = untilNextCycle(interval, connectionKey);
    const nextAt = new Date(Date.now() + wait);
    setCurrentDetails(describe(s, nextAt));
    await condition(() => syncNow || !!stop, wait, { summary: `Next delta read of ${connectionKey}` });
    if (stop) return end(stop);
    syncNow = false;

    const reconcileDue = reconcileNow || !s.lastReconcileAt || Date.now() - Date.parse(s.lastReconcileAt) >= input.reconcileIntervalMinutes * 60_000;
    try {
      // The cycle's time is the workflow's: deterministic, and the clock a simulated day runs on too.
      const report = await syncChanges({ connectionKey, cursor: s.cursor, overlapMinutes: input.overlapMinutes, now: new Date().toISOString() });
      if (report.stop) return end(report.stop);
      s.last = report;
      s.cursor = report.cursor;
      s.totals = { calls: s.totals.calls + report.calls, points: s.totals.points + report.points, changed: s.totals.changed + report.changed };
      s.lastError = null;
      // The first cycle read every tracked ticket, deletions included.
      if (s.cycle === 0 && !reconcileNow) s.lastReconcileAt = new Date().toISOString();
      else if (reconcileDue) {
        reconcileNow = false;
        s.lastReconcile = await reconcileTickets({ connectionKey });
        s.lastReconcileAt = new Date().toISOString();
        s.totals = { ...s.totals, calls: s.totals.calls + s.lastReconcile.calls, points: s.totals.points + s.lastReconcile.points };
      }
    } catch (err) {
      s.lastError = failureMessage(err);
    }
    s.cycle += 1;
    const next = new Date(Date.now() + untilNextCycle(s.last?.webhooks ? input.webhookIntervalMinutes : input.intervalMinutes, connectionKey));
    await recordTrackerState({ connectionKey, state: s, nextCycleAt: next.toISOString() });

    if (historyIsLong(input.historyLimit)) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof jiraTracker>({ ...input, state: s });
    }
  }

  async function end(reason: string): Promise<{ stopped: string }> {
    setCurrentDetails(`stopped: ${reason}`);
    await condition(allHandlersFinished);
    return { stopped: reason };
  }
}

function describe(s: TrackerState, nextAt: Date): string {
  const at = nextAt.toISOString().slice(11, 16);
  const n = (v: number) => v.toLocaleString('en-US');
  const last = s.last
    ? `cycle ${n(s.cycle)}: ${n(s.last.tracked)} tracked, ${n(s.last.changed)} changed, ${n(s.last.calls)} calls, ${n(s.last.points)} points`
    : 'no cycle yet';
  const reconcile = s.lastReconcileAt ? `; last reconcile ${s.lastReconcileAt.slice(0, 16).replace('T', ' ')} UTC${s.lastReconcile ? ` (${n(s.lastReconcile.deleted)} deleted)` : ''}` : '';
  const error = s.lastError ? `; last error: ${s.lastError}` : '';
  return `${last}; next at ${at} UTC${reconcile}${error}`;
}
