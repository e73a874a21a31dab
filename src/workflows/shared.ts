import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

/** What every ticket workflow uses alike: retry policies, the upstream callback, and when to continue as new. */

/** Jira may be down for hours; retries back off to one every 5 minutes. */
export const jiraRetry = { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' };
export const dbRetry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' };

export const { notifyUpstream } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { ...dbRetry, maximumInterval: '10 minutes' },
  summary: 'Send the signed callback to the upstream system',
});

/** Continue-as-new well before Temporal's limits; a ticket may stay open for a year of polls. */
const MAX_HISTORY_EVENTS = 2_000;

/** The history is long enough to continue as new (tests lower the limit). */
export function historyIsLong(limit = MAX_HISTORY_EVENTS): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > limit;
}
