/**
 * Workflow ids, inputs and results of personal data's two workflows: the retention run that the schedule
 * starts, and the redaction of a request's tickets in Jira. Inputs carry ids and numbers of days, never
 * personal data: the activities load what they need by id.
 */

/** The Temporal Schedule that runs retention (visible under Schedules in the Temporal UI). */
export const RETENTION_SCHEDULE_ID = 'ticketflow-retention';
/** The schedule's workflows: Temporal appends the scheduled time to this id. */
export const RETENTION_WORKFLOW_ID = 'retention-sweep';

export const redactionWorkflowId = (privacyRequestId: string) => `privacy-request/${privacyRequestId}/jira-redaction`;

/** The Jira entity property that marks a ticket redacted: set in the edit's own request, so a retry sees it and edits no more. */
export const REDACTION_PROPERTY = 'ticketflow.redaction';

export interface RetentionInput {
  /** erase personal data this many days after a request's manual tasks completed, or it was canceled or denied */
  personalDataRetentionDays: number;
  /** delete audit entries older than this */
  auditLogRetentionDays: number;
}

export interface RetentionResult {
  /** the run's time (the schedule's), and the moment before which requests were done for their data to go */
  asOf: string;
  cutoff: string;
  /** requests whose personal data this run erased, and the first 100 of their ids */
  requestsErased: number;
  requestIds: string[];
  identitiesErased: number;
  submittedDataErased: number;
  /** tickets named as rendered from personal variables, and requests whose redaction in Jira was started */
  ticketsWithPersonalFields: number;
  redactionsStarted: number;
  auditEntriesDeleted: number;
  /** rows found in plain text (written by an older version) and sealed, and boxes re-sealed under the active key */
  legacyRowsSealed: number;
  rowsResealed: number;
}

export interface RedactionInput {
  privacyRequestId: string;
}

export interface RedactionResult {
  redacted: string[];
  alreadyRedacted: string[];
  ticketGone: string[];
  failed: Array<{ ticketKey: string | null; error: string }>;
}
