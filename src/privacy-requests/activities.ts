import { ApplicationFailure } from '@temporalio/activity';
import type { Orm } from '../platform/db/orm.js';
import { JiraTicketInstance, PrivacyRequest } from '../platform/db/entities.js';
import { waitForSearchAfterRetry, withJiraFailures, type SearchLag } from '../jira/activity-failures.js';
import { jiraFor } from '../connections/service.js';
import type { ConnectionKit } from '../connections/kit.js';
import { issueInputFor, personalFieldsOf } from '../templates/render.js';
import type { PersonalDataService } from '../personal-data/service.js';
import type { InstanceState, TicketRef } from './messages.js';
import type { TicketChange, TrackedStatusCategory } from '../tracker/news.js';
import { hasWebhooks } from '../jira-webhooks/settings.js';
import { countCreation } from '../platform/metrics.js';
import { log } from '../platform/log.js';
import { SnapshotReads } from '../jira/snapshot.js';
import { claimParked } from '../tracker/watchers.js';
import { countsAsDone } from '../jira/status.js';

export interface PrivacyActivityDeps {
  orm: Orm;
  kit: ConnectionKit;
  /** opens the request's sealed identity to render the ticket; erases at completion when nothing is retained */
  personal: PersonalDataService;
  search?: SearchLag;
}

export interface PollResult {
  ticket: TicketRef | null;
  status: string | null;
  statusCategory: TrackedStatusCategory | null;
  dataSubmitted: boolean;
  /** Jira's `updated` of the ticket */
  updated?: string | null;
  /** Jira's resolution of the ticket (absent in older histories) */
  resolution?: string | null;
  /** whether the status counts as done by the connection's status mapping (absent without one: the category decides) */
  done?: boolean;
  /** the connection's webhooks report changes, so polls can be rarer (absent in older histories) */
  webhooks?: boolean;
}

/** A created (or found) ticket and, when Jira returned it, its first status (absent in older histories). */
export type CreatedTicket = TicketRef & { seen?: PollResult };

/** The entity property that marks the closing comment, so a retried post (its reply lost) finds the first one. */
export const CLOSING_MARKER = 'ticketflow.closing';

/** How the work ended elsewhere, as the closing comment says it. */
export type ClosingOutcome = 'completed' | 'canceled' | 'denied';

export function closingComment(requestId: string, requestType: string, outcome: ClosingOutcome): string {
  switch (outcome) {
    case 'completed':
      return `ticketflow: the manual task of ${requestType} request ${requestId} is complete (this ticket is done and its data was submitted). Nothing more is needed on this ticket.`;
    case 'canceled':
      return `ticketflow: ${requestType} request ${requestId} was canceled upstream, so the work on this ticket is no longer needed.`;
    case 'denied':
      return `ticketflow: ${requestType} request ${requestId} was denied upstream, so the work on this ticket is no longer needed.`;
  }
}

/** The label that marks the one ticket of an instance, so a retried create finds it instead of making another. */
export const idempotencyLabel = (instanceId: string) => `ticketflow-${instanceId}`;

/**
 * Activities close over their dependencies (database, Jira settings, upstream endpoint); tests build them
 * with their own. Everything sensitive is loaded here by id, so workflow histories only carry ids.
 */
export function createActivities(deps: PrivacyActivityDeps) {
  const { orm } = deps;
  const reads = new SnapshotReads();

  /** The instance and its connection's Jira client: all a poll needs (it runs for every ticket every cycle). */
  async function loadTracked(instanceId: string) {
    const em = orm.em.fork();
    const instance = await em.findOne(JiraTicketInstance, { instanceId });
    if (!instance) throw ApplicationFailure.nonRetryable(`ticket instance ${instanceId} does not exist`, 'NotFound');
    return { em, instance, ...(await jiraFor(em, deps.kit, instance.connectionKey)) };
  }

  /** The tracked instance with its request, which ticket creation renders. */
  async function loadInstance(instanceId: string) {
    const tracked = await loadTracked(instanceId);
    const request = await tracked.em.findOne(PrivacyRequest, { id: tracked.instance.privacyRequestId });
    if (!request) throw ApplicationFailure.nonRetryable(`privacy request ${tracked.instance.privacyRequestId} does not exist`, 'NotFound');
    return { ...tracked, request };
  }

  /** One direct read of the ticket: reads happen on creation, on refresh, and when the state is unknown. */
  async function observe({ instance, connection, client }: Awaited<ReturnType<typeof loadTracked>>, ticketKey: string): Promise<PollResult> {
    const found = await withJiraFailures(() => reads.read(connection.key, client, ticketKey));
    const stored = deps.kit.secrets.read(connection);
    const webhooks = hasWebhooks(stored);
    const mapping = stored.done_status_ids as string[] | null | undefined;
    if (!found) {
      log.warn('ticket no longer exists in Jira', { connection: connection.key, ticketKey });
      return { ticket: null, status: null, statusCategory: null, dataSubmitted: instance.dataSubmitted, webhooks };
    }
    return {
      ticket: { id: found.id, key: found.key, url: client.browseUrl(found.key) },
      status: found.status,
      statusCategory: found.statusCategory,
      dataSubmitted: instance.dataSubmitted,
      updated: found.updated,
      resolution: found.resolution,
      ...(mapping?.length ? { done: countsAsDone(mapping, found.statusId, found.statusCategory) } : {}),
      webhooks,
    };
  }

  return {
    /**
     * Creates the instance's ticket, or returns the one an earlier attempt created (its reply may have been
     * lost), with its first status: the workflow then needs no poll of its own before it sleeps.
     */
    async createTicket({ instanceId }: { instanceId: string }): Promise<CreatedTicket> {
      const loaded = await loadInstance(instanceId);
      const { request, settings, client, connection } = loaded;
      const identity = deps.personal.seal.openIdentity(request);
      const label = idempotencyLabel(instanceId);
      const retried = await waitForSearchAfterRetry(deps.search);
      const ticket = await countCreation(connection.key, 'privacy_request', () =>
        withJiraFailures(async () => {
          const [existing] = await client.searchIssues(`labels = "${label}" ORDER BY created ASC`, 1);
          if (existing) {
            log.info('ticket found: an earlier attempt created it', { connection: connection.key, ticketKey: existing.key });
            return { id: existing.id, key: existing.key, url: client.browseUrl(existing.key) };
          }
          const created = await client.createIssue(issueInputFor(settings, { ...request, ...identity }, { label }));
          log.info('ticket created', { connection: connection.key, ticketKey: created.key });
          return created;
        }),
      );
      // The key is in the read model before this returns, so a webhook about the new issue finds its workflow
      // (one that comes even earlier is parked and handed back when the workflow records its state). A retried
      // creation is checked for a duplicate once the search has caught up. The fields rendered from personal
      // variables are recorded with the ticket, for an erasure to name them (and to redact them in Jira).
      // SQL: the duplicate check is moved only later, never earlier, in the same statement
      await orm.em.getConnection().execute(
        `update jira_ticket_instance set ticket_id = ?, ticket_key = ?, ticket_url = ?, rendered_ticket_key = ?, personal_fields = ?::text[],
           duplicate_check_after = case when ? then now() + make_interval(secs => ?) else duplicate_check_after end
         where instance_id = ?`,
        [ticket.id, ticket.key, ticket.url, ticket.key, `{${personalFieldsOf(settings, identity).map((f) => `"${f}"`).join(',')}}`, retried, deps.search?.lagSeconds ?? 0, instanceId],
      );
      const seen = await observe(loaded, ticket.key);
      // Not found right after creation is left to the workflow's first read, which confirms a deletion.
      return seen.ticket ? { ...ticket, seen } : ticket;
    },

    /** The ticket's status (null ticket: gone from Jira), and whether data was submitted (heals a lost signal). */
    async pollTicket({ instanceId, ticketKey }: { instanceId: string; ticketKey: string }): Promise<PollResult> {
      return observe(await loadTracked(instanceId), ticketKey);
    },

    /**
     * Mirrors the workflow's state into PostgreSQL; older or repeated writes (lower seq) change nothing. Hands
     * back news of the ticket that a webhook brought before the read model knew its key.
     */
    async recordInstanceState({ instanceId, state }: { instanceId: string; state: InstanceState }): Promise<{ parked?: TicketChange }> {
      const db = orm.em.getConnection();
      // SQL: the seq guard and the row handed back are one statement, so concurrent writers cannot interleave
      const [row] = await db.execute<Array<{ connection_key: string }>>(
        `update jira_ticket_instance set
           task_state = ?, ticket_id = coalesce(?, ticket_id), ticket_key = ?, ticket_url = coalesce(?, ticket_url), status = ?, status_category = ?,
           data_submitted = data_submitted or ?, data_seen = ?, last_error = ?, jira_updated = ?, resolution = ?, state_seq = ?, updated_at = now()
         where instance_id = ? and state_seq < ?
         returning connection_key`,
        [
          state.taskState,
          state.ticket?.id || null,
          state.ticket?.key ?? null,
          state.ticket?.url || null,
          state.status,
          state.statusCategory,
          state.dataSubmitted,
          state.dataSubmitted,
          state.lastError,
          state.updated ?? null,
          state.resolution ?? null,
          state.seq,
          instanceId,
          state.seq,
        ],
      );
      if (!row || !state.ticket || ['completed', 'canceled'].includes(state.taskState)) return {};
      const parked = await claimParked(db, row.connection_key, { key: state.ticket.key, id: state.ticket.id || null });
      return parked ? { parked } : {};
    },

    /**
     * Closes the loop in Jira, where the connection opts in (`close_loop`): one comment saying how the work
     * ended, exactly once (it carries the property ticketflow.closing = "<instance>/<outcome>", and a retried
     * attempt that finds it does not post again), and, with `status_id`, a move to that status, skipped when the
     * ticket is there already (a webhook of our own move finds no workflow left to tell). It never fights the
     * team's workflow: without a transition to that status from where the ticket is, the ticket stays.
     */
    async closeTicketLoop({ instanceId, ticketKey, outcome }: { instanceId: string; ticketKey: string; outcome: ClosingOutcome }): Promise<{ commented: boolean; transitioned: boolean; reason?: string }> {
      const { em, instance, settings, client, connection } = await loadTracked(instanceId);
      const loop = settings.closeLoop;
      if (!loop || (!loop.comment && !loop.statusId)) return { commented: false, transitioned: false, reason: 'close_loop is off for this connection' };
      const request = await em.findOne(PrivacyRequest, { id: instance.privacyRequestId }, { fields: ['id', 'requestType'] });
      return withJiraFailures(async () => {
        let commented = false;
        if (loop.comment) {
          const marker = `${instanceId}/${outcome}`;
          const there = (await client.comments(ticketKey)).some((c) => (c.properties[CLOSING_MARKER] as { id?: string } | undefined)?.id === marker);
          if (!there) {
            await client.addComment(ticketKey, closingComment(instance.privacyRequestId, request?.requestType ?? 'privacy', outcome), { key: CLOSING_MARKER, value: { id: marker } });
            commented = true;
          } else log.info('closing comment found on the ticket: an earlier attempt posted it', { connection: connection.key, ticketKey });
        }
        let transitioned = false;
        let reason: string | undefined;
        if (loop.statusId) {
          const now = await client.issueStatusId(ticketKey);
          if (!now) reason = 'the ticket no longer exists';
          else if (now.id === loop.statusId) reason = `the ticket is already in status ${now.name}`;
          else {
            const to = (await client.transitionsTo(ticketKey)).find((t) => t.toId === loop.statusId);
            if (to) {
              await client.transition(ticketKey, to.id);
              transitioned = true;
            } else {
              reason = `no transition leads from ${now.name} to status ${loop.statusId}: the ticket is left where the team's workflow has it`;
              log.warn('closing the loop: ' + reason, { connection: connection.key, ticketKey });
            }
          }
        }
        return { commented, transitioned, ...(reason ? { reason } : {}) };
      });
    },

    /**
     * Marks the request's manual tasks complete when every instance is. Exactly one instance wins the claim;
     * it alone reports the request complete (and keeps winning on a retried attempt).
     */
    async completeManualTask({ instanceId }: { instanceId: string }): Promise<{ requestCompleted: boolean }> {
      const em = orm.em.fork();
      const instance = await em.findOne(JiraTicketInstance, { instanceId }, { fields: ['privacyRequestId'] });
      if (!instance) throw ApplicationFailure.nonRetryable(`ticket instance ${instanceId} does not exist`, 'NotFound');
      // SQL: "every instance finished" and the claim are one statement, so exactly one instance wins
      await em.getConnection().execute(
        `update privacy_request set manual_tasks_completed_at = now(), manual_tasks_completed_by = ?
         where id = ? and manual_tasks_completed_at is null
           and not exists (select 1 from jira_ticket_instance i
                           where i.privacy_request_id = privacy_request.id and i.task_state not in ('completed', 'canceled'))`,
        [instanceId, instance.privacyRequestId],
      );
      const req = await em.findOne(PrivacyRequest, { id: instance.privacyRequestId }, { fields: ['manualTasksCompletedBy'], refresh: true });
      const requestCompleted = req?.manualTasksCompletedBy === instanceId;
      // With no retention nothing is kept beyond completion (idempotent, so a retried attempt is harmless).
      if (requestCompleted) await deps.personal.eraseIfNotRetained(instance.privacyRequestId);
      return { requestCompleted };
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
