import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowStartOptions } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { conflict, DomainError, invalid, unavailable, upstream } from '../platform/errors.js';
import { AnomalyId, JiraConnection, JiraTicketKey } from '../platform/temporal/search-attributes.js';
import type { AnomalyLinkInput, TicketView } from './messages.js';
import type { anomalyTicketCreate, anomalyTicketLink } from './workflows.js';

/**
 * Where the anomaly workflows are started, and the one place that knows their ids, search attributes and
 * summaries. Both are started "use existing": a repeated call joins the workflow already running.
 */
export class AnomalyStarts {
  constructor(
    private readonly temporal: Client,
    private readonly settings: { taskQueue: string },
  ) {}

  /**
   * Creates the ticket and answers it: the caller's response is the ticket, so this waits for the workflow.
   * An identical request (same `requestKey`) joins the creation in flight instead of making a second ticket.
   */
  async createTicket(input: { anomalyId: string; connectionKey: string; requestKey: string; title: string; description: string; priority: string | null }): Promise<TicketView> {
    const { anomalyId, connectionKey, requestKey, ...ticket } = input;
    try {
      return await this.temporal.workflow.execute<typeof anomalyTicketCreate>('anomalyTicketCreate', {
        ...this.options(`anomaly/${anomalyId}/create/${requestKey}`, { anomalyId, connectionKey }),
        args: [{ anomalyId, connectionKey, ...ticket, label: `ticketflow-anomaly-${requestKey}` }],
        staticSummary: `Create a Jira ticket for anomaly ${anomalyId} via ${connectionKey}`,
      });
    } catch (err) {
      throw creationProblem(err);
    }
  }

  /** Starts following a stored link; the link is in PostgreSQL first, so a failed start is safe to repeat. */
  async followLink(input: AnomalyLinkInput, workflowId: string): Promise<void> {
    try {
      await this.temporal.workflow.start<typeof anomalyTicketLink>('anomalyTicketLink', {
        ...this.options(workflowId, input),
        args: [input],
        staticSummary: `Jira ticket ${input.ticketKey} linked to anomaly ${input.anomalyId} via ${input.connectionKey}`,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw unavailable(`the link is stored, but its workflow could not be started (${(err as Error).message}); repeat the call`, 5);
    }
  }

  private options(workflowId: string, of: { anomalyId: string; connectionKey: string; ticketKey?: string }) {
    return {
      workflowId,
      taskQueue: this.settings.taskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: AnomalyId, value: of.anomalyId },
        { key: JiraConnection, value: of.connectionKey },
        ...(of.ticketKey ? [{ key: JiraTicketKey, value: of.ticketKey }] : []),
      ],
    } satisfies Partial<WorkflowStartOptions>;
  }
}

/** A failed creation as the caller should see it: Jira's rejection names the field, a disabled connection is a conflict. */
function creationProblem(err: unknown): DomainError {
  let cause: unknown = err;
  while (cause instanceof WorkflowFailedError || cause instanceof ActivityFailure) cause = cause.cause;
  if (cause instanceof ApplicationFailure) {
    if (cause.type === 'JiraRejected') {
      const fields = ((cause.details?.[0] as { fields?: string[] } | undefined)?.fields ?? []).map((f) => `jira.fields.${f}`);
      return fields.length ? invalid(fields[0]!, cause.message) : upstream(cause.message);
    }
    if (cause.type === 'ConnectionUnavailable' || cause.type === 'ConnectionNotConfigured') return conflict(cause.message, { field: 'connection_key' });
    return upstream(cause.message);
  }
  return err instanceof DomainError ? err : upstream((err as Error).message);
}
