import { ActivityFailure, ApplicationFailure, patched, proxyActivities, proxyLocalActivities, workflowInfo, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';

/** What every workflow uses alike: retry policies, short activities, patch ids, when to continue as new, failure text. */

/** Jira may be down for hours; retries back off to one every 5 minutes. */
export const jiraRetry = { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' };
export const dbRetry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' };

/** The patch that made the short activities local; histories recorded before it replay without it. */
export const SHORT_ACTIVITIES_LOCAL = 'short-activities-local';

/**
 * The patch that handed polling to the connection's tracker: ticket workflows from before it poll on their own
 * timer until their next wake-up, then wait for news with no timer, and read Jira only when asked to.
 */
export const TRACKER_OWNS_POLLING = 'tracker-owns-polling';

/**
 * The patch that closes the loop in Jira: when a privacy request's instance completes or is canceled, the
 * connection may want a comment on the ticket (and a move to a status) saying so. Runs recorded before it end
 * without that step.
 */
export const CLOSE_THE_LOOP = 'close-the-loop';

/**
 * Activities that take milliseconds to seconds (a coalesced status read, the read model's PostgreSQL writes)
 * run as local activities: inside the workflow task that asked for them, instead of costing Temporal an
 * activity task and another workflow task each. A poll is then one workflow task. Workflows that recorded
 * them as activity tasks keep doing so.
 */
export function shortActivities<A extends object>(options: ActivityOptions & LocalActivityOptions): A {
  const remote = proxyActivities<A>(options) as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const local = proxyLocalActivities<A>(options) as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return new Proxy({} as A, {
    get: (_, name: string) => (...args: unknown[]) => (patched(SHORT_ACTIVITIES_LOCAL) ? local : remote)[name]!(...args),
  });
}

/** Writes of the read model: quick, and retried while PostgreSQL is away. */
export const dbWrites = (summary: string) => ({ startToCloseTimeout: '30 seconds', retry: dbRetry, summary }) as const;

/** Continue-as-new well before Temporal's limits; a ticket may stay open for a year of polls. */
const MAX_HISTORY_EVENTS = 2_000;

/** The history is long enough to continue as new (tests lower the limit). */
export function historyIsLong(limit = MAX_HISTORY_EVENTS): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > limit;
}

/**
 * Records a workflow's state once per change: `write` runs only when the state differs from what was last
 * recorded, and `seq` (which keeps the read model from going backwards) grows with each real change.
 * `carried` is what a run continued from another counts as recorded already.
 */
export function onEachChange<S extends { seq: number }>(s: S, carried: string, write: (s: S) => Promise<void>): () => Promise<void> {
  let recorded = carried;
  return async () => {
    const snapshot = JSON.stringify({ ...s, seq: 0 });
    if (snapshot === recorded) return;
    recorded = snapshot;
    s.seq += 1;
    await write(s);
  };
}

/** An activity's failure as people should read it: the innermost message, Jira's own words where it spoke. */
export function failureMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof ActivityFailure && e.cause) e = e.cause;
  if (e instanceof ApplicationFailure) return e.message;
  return e instanceof Error ? e.message : String(e);
}
