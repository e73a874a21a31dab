import { defineQuery, defineSignal } from '@temporalio/workflow';

/**
 * Messages of a connection's tracker (`jira-tracker/<connection>`). Signal names are what an operator types in
 * the Temporal UI's "Send signal" dialog; none takes input but `stopTracker`, whose reason is optional.
 */

export interface TrackerInput {
  connectionKey: string;
  /** minutes between delta reads */
  intervalMinutes: number;
  /** minutes between delta reads while Jira's webhooks report the connection's changes (the safety net) */
  webhookIntervalMinutes: number;
  /** each delta read reaches this far back before the last one: Jira's search is eventually consistent */
  overlapMinutes: number;
  /** minutes between reconciles, which find deleted issues and lost permissions (a delta cannot show those) */
  reconcileIntervalMinutes: number;
  /** continue-as-new once history has this many events (default 2,000); tests lower it */
  historyLimit?: number;
  /** carried across continue-as-new */
  state?: TrackerState;
}

/** What one delta read did. */
export interface CycleReport {
  /** tickets the connection's workflows track */
  tracked: number;
  /** tracked tickets whose Jira state is newer than what their workflows hold */
  changed: number;
  /** workflows told */
  signalled: number;
  /** Jira calls, and Jira's points for them (1 per call plus 1 per issue object returned) */
  calls: number;
  points: number;
  /** lost wake-ups sent again (data submitted, comments queued, parked webhook news) */
  healed: number;
  duplicatesClosed: number;
  /** where the next delta read starts (ISO): when this one began */
  cursor: string;
  /** Jira's webhooks report this connection's changes: the next read can wait longer */
  webhooks: boolean;
  /** set when the connection is gone or disabled: the tracker ends */
  stop?: string;
}

export interface ReconcileReport {
  checked: number;
  /** tickets found deleted (or no longer visible), and their workflows told */
  deleted: number;
  calls: number;
  points: number;
}

export interface TrackerState {
  cycle: number;
  cursor: string | null;
  lastReconcileAt: string | null;
  lastError: string | null;
  last: CycleReport | null;
  lastReconcile: ReconcileReport | null;
  /** what the last cycles cost, summed over this run and its predecessors */
  totals: { calls: number; points: number; changed: number };
}

export const syncNowSignal = defineSignal('syncNow');
export const reconcileNowSignal = defineSignal('reconcileNow');
export const stopTrackerSignal = defineSignal<[{ reason?: string }?]>('stopTracker');
export const trackerStateQuery = defineQuery<TrackerState>('trackerState');

export const trackerWorkflowId = (connectionKey: string) => `jira-tracker/${connectionKey}`;
