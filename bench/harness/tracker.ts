import { reconcileNowSignal, syncNowSignal, trackerStateQuery, trackerWorkflowId, type TrackerState } from '../../src/tracker/messages.js';
import { n, say, sleep } from './output.js';
import type { Stack } from './stack.js';

/** The stack's connection tracker (`jira-tracker/<connection>`), driven by its own signals and read through its query. */

export const trackerOf = (stack: Stack) => stack.temporal.workflow.getHandle(trackerWorkflowId(stack.connectionKey));

/** The cycle the tracker last recorded in PostgreSQL (what the API and the console show); 0 before its first. */
export async function recordedCycle(stack: Stack): Promise<number> {
  const { rows } = await stack.db.query<{ cycle: number }>('select cycle from jira_tracker where connection_key = $1', [stack.connectionKey]);
  return rows[0]?.cycle ?? 0;
}

/** Waits until the API has started the tracker and it has recorded its first cycle (a new tracker reads at once). */
export async function waitForTracker(stack: Stack, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await recordedCycle(stack)) < 1) {
    stack.assertAlive();
    if (Date.now() > deadline) throw new Error(`the tracker ${trackerWorkflowId(stack.connectionKey)} recorded no cycle within ${timeoutMs / 1000} s; see the API's and the worker's logs in ${stack.logDir}`);
    await sleep(200);
  }
}

export interface CycleRun {
  state: TrackerState;
  /** from the signal until the cycle was in PostgreSQL, ms */
  recordedMs: number;
  /** performance.now() when the signal was sent */
  sentAt: number;
}

/**
 * One cycle now (`syncNow`, or `reconcileNow` for a delta and a reconcile): from the signal until the tracker
 * has recorded the cycle in PostgreSQL (watched every 20 ms), then its state by query.
 */
export async function runCycle(stack: Stack, o: { reconcile?: boolean; timeoutMs?: number } = {}): Promise<CycleRun> {
  const before = await recordedCycle(stack);
  const sentAt = performance.now();
  await trackerOf(stack).signal(o.reconcile ? reconcileNowSignal : syncNowSignal);
  const deadline = sentAt + (o.timeoutMs ?? 15 * 60_000);
  let saidAt = sentAt;
  while ((await recordedCycle(stack)) <= before) {
    stack.assertAlive();
    if (performance.now() > deadline) throw new Error(`the tracker did not record cycle ${before + 1} within ${(o.timeoutMs ?? 900_000) / 1000} s; see the worker's log in ${stack.logDir}`);
    if (performance.now() - saidAt > 5000) {
      say(`waiting for tracker cycle ${n(before + 1)} (${n((performance.now() - sentAt) / 1000)} s)`);
      saidAt = performance.now();
    }
    await sleep(20);
  }
  const recordedMs = performance.now() - sentAt;
  const state = await trackerOf(stack).query(trackerStateQuery);
  if (state.lastError) say(`the tracker's cycle ${state.cycle} failed: ${state.lastError}`);
  return { state, recordedMs, sentAt };
}
