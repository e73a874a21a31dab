import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { TicketChange, TrackedStatusCategory } from '../tracker/news.js';

export { refreshSignal, ticketChangedSignal } from '../tracker/news.js';

/**
 * Messages of the privacy-request ticket workflow, shared by the API client and the workflow (the news
 * signals every ticket workflow takes, `ticketChanged` and `refresh`, come from the tracker's news module). Signal names
 * are the ones an operator types in the Temporal UI's "Send signal" dialog. Payloads carry no personal data:
 * submitted data stays in PostgreSQL and the signal only says that it arrived.
 */

export type TaskState =
  | 'creating' // creating the Jira ticket
  | 'creation_failed' // every attempt failed; waits for `retry` or `link`
  | 'open' // ticket exists and is not done; waiting for news of it
  | 'waiting_for_data' // ticket done, manual task data not submitted yet
  | 'completed' // ticket done or deleted, and data submitted
  | 'failed' // ticket deleted before data was submitted; `link` revives it
  | 'canceled'; // the privacy request was canceled or denied

export interface TicketRef {
  id: string;
  key: string;
  url: string;
}

export interface InstanceState {
  taskState: TaskState;
  ticket: TicketRef | null;
  status: string | null;
  statusCategory: TrackedStatusCategory | null;
  dataSubmitted: boolean;
  lastError: string | null;
  /** Increases with every recorded change, so the read model in PostgreSQL never goes backwards. */
  seq: number;
  /** Jira's `updated` of the ticket as last seen, to drop webhook news older than what we hold. */
  updated?: string | null;
  /** Jira's resolution (e.g. "Won't Do"), as last seen */
  resolution?: string | null;
  /**
   * Whether the ticket's status counts as done by the connection's status mapping, as the last news said;
   * absent (no mapping, or older news): the status category decides.
   */
  done?: boolean;
}

export interface PrivacyRequestTicketInput {
  privacyRequestId: string;
  connectionKey: string;
  instanceId: string;
  /**
   * Minutes between Jira polls, for workflows started before the connection's tracker took polling over
   * (they keep it until their next wake-up); new workflows hold no timer and need neither.
   */
  pollIntervalMinutes?: number;
  webhookPollIntervalMinutes?: number;
  createMaxAttempts: number;
  /** Continue-as-new once history has this many events (default 2,000); tests lower it. */
  historyLimit?: number;
  /** Carried across continue-as-new. */
  state?: InstanceState;
}

export interface PrivacyRequestTicketResult {
  taskState: Extract<TaskState, 'completed' | 'canceled'>;
  ticketKey: string | null;
}

export interface LinkSignal {
  ticketKey: string;
  /** What the API read of the ticket when it checked that it exists: applied without another Jira read. */
  seen?: TicketChange & { id: string; url: string };
}

export interface CloseSignal {
  reason: string;
}

export const submitDataSignal = defineSignal('submitData');
export const retrySignal = defineSignal('retry');
export const linkSignal = defineSignal<[LinkSignal]>('link');
export const closeSignal = defineSignal<[CloseSignal]>('close');
export const stateQuery = defineQuery<InstanceState>('state');

/**
 * Actions whose caller waits for the outcome are Updates: the workflow's validator refuses what its state does
 * not allow, and the answer is the state after the handler ran. The signals above stay for operators (the
 * Temporal UI sends signals) and for older callers.
 */
/** Reads the ticket from Jira now (one direct read) and answers the state it leads to. */
export const refreshNowUpdate = defineUpdate<InstanceState>('refreshNow');
/** Retries a failed creation; answers once the workflow is creating again. */
export const retryCreationUpdate = defineUpdate<InstanceState>('retryCreation');
/** Tracks another ticket instead (the API has checked that it exists); answers the state with the new ticket. */
export const linkTicketUpdate = defineUpdate<InstanceState, [LinkSignal]>('linkTicket');

export const workflowIdFor = (privacyRequestId: string, connectionKey: string) =>
  `privacy-request/${privacyRequestId}/jira/${connectionKey}`;
