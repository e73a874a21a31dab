import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/**
 * Messages of the privacy-request ticket workflow, shared by the API client and the workflow. Signal names
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

export type TrackedStatusCategory = 'new' | 'indeterminate' | 'done' | 'deleted';

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

/**
 * News of a ticket from a Jira webhook (the API verifies and fans it out): applied without another Jira call.
 * Operators may send it too, e.g. {"ticketKey": "PRIV-12", "status": "Done", "statusCategory": "done"}.
 */
export interface TicketChange {
  ticketKey: string;
  status: string | null;
  statusCategory: TrackedStatusCategory;
  resolution?: string | null;
  assignee?: string | null;
  /** Jira's `updated` of the issue at the time of the event */
  updated?: string | null;
}

export const ticketChangedSignal = defineSignal<[TicketChange]>('ticketChanged');
export const submitDataSignal = defineSignal('submitData');
export const refreshSignal = defineSignal('refresh');
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

// ---- Anomaly ↔ ticket links -------------------------------------------------------------------------

export interface TicketView {
  ticket_id: string;
  ticket_number: string;
  title: string;
  description: string | null;
  status: string;
  status_category: string;
  priority: string | null;
  category: string | null;
  created_at: string | null;
  updated_at: string | null;
  resolved_at: string | null;
  assigned_to: string | null;
  requester: string | null;
  url: string;
  comments_count: number | null;
  metadata: { project_key: string | null; issue_type: string | null };
}

export interface AnomalyTicketCreateInput {
  anomalyId: string;
  connectionKey: string;
  title: string;
  description: string;
  priority: string | null;
  /** Marks the one ticket this request makes, so a retried request finds it instead of making another. */
  label: string;
}

export interface AnomalyLinkState {
  state: 'active' | 'unlinked';
  status: string | null;
  statusCategory: TrackedStatusCategory | null;
  resolution: string | null;
  assignee: string | null;
  /** The done status already reported upstream (reset when the ticket leaves done). */
  doneNotified: boolean;
  lastError: string | null;
  seq: number;
  updated?: string | null;
}

export interface AnomalyLinkInput {
  linkId: string;
  anomalyId: string;
  connectionKey: string;
  ticketKey: string;
  /** as for privacy-request tickets: only links started before the tracker poll on their own */
  pollIntervalMinutes?: number;
  webhookPollIntervalMinutes?: number;
  historyLimit?: number;
  state?: AnomalyLinkState;
}

export interface AnomalyStatusSignal {
  status: string;
}

/** The anomaly's status changed upstream (drives reopening; the API also queues the status comment). */
export const anomalyStatusChangedSignal = defineSignal<[AnomalyStatusSignal]>('anomalyStatusChanged');
/** New comments wait in the link's outbox: deliver them now. */
export const commentAddedSignal = defineSignal('commentAdded');
export const unlinkSignal = defineSignal('unlink');
export const linkStateQuery = defineQuery<AnomalyLinkState>('linkState');
/** Delivers queued comments and reads the ticket now; answers the link's state after. */
export const refreshLinkUpdate = defineUpdate<AnomalyLinkState>('refreshNow');

export const anomalyLinkWorkflowId = (anomalyId: string, ticketKey: string) => `anomaly/${anomalyId}/ticket/${ticketKey}`;

// ---- Dynamic webhooks of OAuth connections ----------------------------------------------------------------

export const stopWebhooksSignal = defineSignal('stopWebhooks');
export const jiraWebhooksWorkflowId = (connectionKey: string) => `jira-webhooks/${connectionKey}`;
