import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { TrackedStatusCategory } from '../tracker/news.js';

/**
 * Messages of the anomaly ticket workflows (one-off creation, and the long-running link), shared by the API
 * client and the workflows. Signal names are what an operator types in the Temporal UI.
 */

export { refreshSignal, ticketChangedSignal } from '../tracker/news.js';

/**
 * A Jira ticket in the shape of the reference product's ticket objects (src/anomalies/ticket-view.ts), its times
 * as Jira writes them; the API answers it through ticketAnswer. Also the result of `anomalyTicketCreate`: the
 * optional fields are absent from the results of runs that an earlier version finished.
 */
export interface TicketView {
  ticket_id: string;
  ticket_number: string;
  title: string;
  description: string | null;
  status: string;
  status_category: string;
  priority: string | null;
  urgency?: string | null;
  impact?: string | null;
  category: string | null;
  subcategory?: string | null;
  created_at: string | null;
  updated_at: string | null;
  resolved_at: string | null;
  closed_at?: string | null;
  assigned_to: string | null;
  assigned_group?: string | null;
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
