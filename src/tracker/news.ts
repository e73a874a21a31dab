import { defineSignal } from '@temporalio/workflow';

/**
 * News of a ticket, as every ticket workflow (privacy-request instances, anomaly links) takes it: from the
 * connection's tracker, from Jira's webhooks, or from an operator. Safe to import in workflow code.
 */

export type TrackedStatusCategory = 'new' | 'indeterminate' | 'done' | 'deleted';

/**
 * The state of a ticket as the tracker or a webhook saw it: applied without another Jira call.
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
  /** Jira's status id */
  statusId?: string;
  /**
   * Whether the status counts as done by the connection's status mapping, worked out where the news was read;
   * absent (no mapping, an operator's signal, older news): the status category decides.
   */
  done?: boolean;
}

export const ticketChangedSignal = defineSignal<[TicketChange]>('ticketChanged');
/** Something about the ticket changed that the news does not say (a comment, say): read it. */
export const refreshSignal = defineSignal('refresh');

/** News is applied unless the state a workflow holds is already newer (deliveries can arrive out of order). */
export function isNewer(change: TicketChange, lastUpdated: string | null | undefined): boolean {
  if (!change.updated || !lastUpdated) return true;
  return Date.parse(change.updated) >= Date.parse(lastUpdated);
}

/** Issue keys are compared without regard to case (Jira's are upper case; people type them as they like). */
export const sameTicket = (a: string, b: string) => a.toUpperCase() === b.toUpperCase();
