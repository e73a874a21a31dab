import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import got from 'got';
import type { Orm } from '../db/orm.js';
import { Connection, JiraTicketInstance, PrivacyRequest } from '../db/entities.js';
import { JiraApiError, JiraUnreachableError } from '../jira/errors.js';
import type { ConnectionKit } from '../connections/kit.js';
import { issueInputFor } from '../tickets/render.js';
import type { InstanceState, TicketRef, TrackedStatusCategory } from '../workflows/messages.js';

export interface ActivityDeps {
  orm: Orm;
  kit: ConnectionKit;
  upstream: { url?: string; secret?: string };
}

export interface UpstreamEvent {
  event: string;
  privacyRequestId: string;
  instanceId: string;
  connectionKey: string;
  ticketKey: string | null;
  taskState: string;
}

export interface PollResult {
  ticket: TicketRef | null;
  status: string | null;
  statusCategory: TrackedStatusCategory | null;
  dataSubmitted: boolean;
}

/** The label that marks the one ticket of an instance, so a retried create finds it instead of making another. */
export const idempotencyLabel = (instanceId: string) => `ticketflow-${instanceId}`;

/**
 * Activities close over their dependencies (database, Jira settings, upstream endpoint); tests build them
 * with their own. Everything sensitive is loaded here by id, so workflow histories only carry ids.
 */
export function createActivities(deps: ActivityDeps) {
  const { orm } = deps;

  async function loadInstance(instanceId: string) {
    const em = orm.em.fork();
    const instance = await em.findOne(JiraTicketInstance, { instanceId });
    if (!instance) throw ApplicationFailure.nonRetryable(`ticket instance ${instanceId} does not exist`, 'NotFound');
    const [request, connection] = await Promise.all([
      em.findOne(PrivacyRequest, { id: instance.privacyRequestId }),
      em.findOne(Connection, { key: instance.connectionKey }),
    ]);
    if (!request) throw ApplicationFailure.nonRetryable(`privacy request ${instance.privacyRequestId} does not exist`, 'NotFound');
    if (!connection || connection.disabled) {
      throw ApplicationFailure.nonRetryable(`connection ${instance.connectionKey} is missing or disabled`, 'ConnectionUnavailable');
    }
    const settings = deps.kit.secrets.settings(connection);
    if ('missing' in settings) {
      throw ApplicationFailure.nonRetryable(
        `connection ${connection.key} is not configured: set ${settings.missing.join(', ')} with PUT /api/v1/connection/${connection.key}/secret`,
        'ConnectionNotConfigured',
      );
    }
    return { instance, request, settings, client: deps.kit.connector.client(connection, settings) };
  }

  return {
    /** Creates the instance's ticket, or returns the one an earlier attempt created (its reply may have been lost). */
    async createTicket({ instanceId }: { instanceId: string }): Promise<TicketRef> {
      const { request, settings, client } = await loadInstance(instanceId);
      const label = idempotencyLabel(instanceId);
      return withJiraFailures(async () => {
        const [existing] = await client.searchIssues(`labels = "${label}" ORDER BY created ASC`, 1);
        if (existing) return { id: existing.id, key: existing.key, url: client.browseUrl(existing.key) };
        return client.createIssue(issueInputFor(settings, request, { label }));
      });
    },

    /** The ticket's status (null ticket: gone from Jira), and whether data was submitted (heals a lost signal). */
    async pollTicket({ instanceId, ticketKey }: { instanceId: string; ticketKey: string }): Promise<PollResult> {
      const { instance, client } = await loadInstance(instanceId);
      const found = await withJiraFailures(() => client.getIssueStatus(ticketKey));
      if (!found) return { ticket: null, status: null, statusCategory: null, dataSubmitted: instance.dataSubmitted };
      return {
        ticket: { id: found.id, key: found.key, url: client.browseUrl(found.key) },
        status: found.status,
        statusCategory: found.statusCategory,
        dataSubmitted: instance.dataSubmitted,
      };
    },

    /** Mirrors the workflow's state into PostgreSQL; older or repeated writes (lower seq) change nothing. */
    async recordInstanceState({ instanceId, state }: { instanceId: string; state: InstanceState }): Promise<void> {
      await orm.em.getConnection().execute(
        `update jira_ticket_instance set
           task_state = ?, ticket_id = ?, ticket_key = ?, ticket_url = ?, status = ?, status_category = ?,
           data_submitted = data_submitted or ?, last_error = ?, state_seq = ?, updated_at = now()
         where instance_id = ? and state_seq < ?`,
        [
          state.taskState,
          state.ticket?.id || null,
          state.ticket?.key ?? null,
          state.ticket?.url || null,
          state.status,
          state.statusCategory,
          state.dataSubmitted,
          state.lastError,
          state.seq,
          instanceId,
          state.seq,
        ],
      );
    },

    /**
     * Marks the request's manual tasks complete when every instance is. Exactly one instance wins the claim;
     * it alone reports the request complete (and keeps winning on a retried attempt).
     */
    async completeManualTask({ instanceId }: { instanceId: string }): Promise<{ requestCompleted: boolean }> {
      const conn = orm.em.getConnection();
      const [instance] = await conn.execute<{ privacy_request_id: string }[]>(
        'select privacy_request_id from jira_ticket_instance where instance_id = ?',
        [instanceId],
      );
      if (!instance) throw ApplicationFailure.nonRetryable(`ticket instance ${instanceId} does not exist`, 'NotFound');
      await conn.execute(
        `update privacy_request set manual_tasks_completed_at = now(), manual_tasks_completed_by = ?
         where id = ? and manual_tasks_completed_at is null
           and not exists (select 1 from jira_ticket_instance i
                           where i.privacy_request_id = privacy_request.id and i.task_state not in ('completed', 'canceled'))`,
        [instanceId, instance.privacy_request_id],
      );
      const [req] = await conn.execute<{ manual_tasks_completed_by: string | null }[]>(
        'select manual_tasks_completed_by from privacy_request where id = ?',
        [instance.privacy_request_id],
      );
      return { requestCompleted: req?.manual_tasks_completed_by === instanceId };
    },

    /** POSTs a signed event to the upstream system; retried by Temporal until it is accepted. */
    async notifyUpstream(event: UpstreamEvent): Promise<{ delivered: boolean }> {
      if (!deps.upstream.url || !deps.upstream.secret) return { delivered: false };
      const info = Context.current().info;
      const body = JSON.stringify({ ...event, occurredAt: new Date().toISOString() });
      const timestamp = Math.floor(Date.now() / 1000).toString();
      const signature = createHmac('sha256', deps.upstream.secret).update(`${timestamp}.${body}`).digest('hex');
      await got.post(deps.upstream.url, {
        body,
        headers: {
          'content-type': 'application/json',
          'x-ticketflow-timestamp': timestamp,
          'x-ticketflow-signature': `sha256=${signature}`,
          // Stable across retries, so the upstream can drop a delivery it already processed.
          'x-ticketflow-delivery': `${info.workflowExecution?.workflowId}/${info.workflowExecution?.runId}/${info.activityId}`,
        },
        timeout: { request: 15_000 },
        retry: { limit: 0 },
      });
      return { delivered: true };
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

/**
 * Translates Jira's answers into Temporal's retry semantics: rate limits wait for Retry-After, server faults
 * and network trouble retry with backoff, and everything else (400/401/403/404) fails at once with Jira's
 * own message, because another attempt would get the same answer.
 */
async function withJiraFailures<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof JiraApiError) {
      if (err.status === 429) {
        throw ApplicationFailure.create({
          message: err.message,
          type: 'JiraRateLimited',
          nextRetryDelay: `${Math.max(1, err.retryAfterSeconds ?? 10)}s`,
        });
      }
      if (err.retryable) throw ApplicationFailure.retryable(err.message, 'JiraServerError');
      throw ApplicationFailure.nonRetryable(err.message, 'JiraRejected', { status: err.status });
    }
    if (err instanceof JiraUnreachableError) throw ApplicationFailure.retryable(err.message, 'JiraUnreachable');
    throw err;
  }
}
