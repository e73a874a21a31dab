import { ApplicationFailure } from '@temporalio/activity';
import { waitForSearchAfterRetry, withJiraFailures, type SearchLag } from '../jira/activity-failures.js';
import { jiraFor } from '../connections/service.js';
import type { Orm } from '../platform/db/orm.js';
import type { ConnectionKit } from '../connections/kit.js';
import { Anomaly, AnomalyComment } from '../platform/db/entities.js';
import { anomalyBlock, createdDescription, reopenComment, unlinkComment } from './format.js';
import { ticketView } from './ticket-view.js';
import { enqueueComment } from './outbox.js';
import { hasWebhooks } from '../jira-webhooks/settings.js';
import { countCreation } from '../platform/metrics.js';
import type { AnomalyLinkState, AnomalyTicketCreateInput, TicketView } from './messages.js';
import type { TicketChange, TrackedStatusCategory } from '../tracker/news.js';
import { SnapshotReads } from '../jira/snapshot.js';
import { compileTemplate } from '../templates/template.js';
import { claimParked } from '../tracker/watchers.js';

/** The entity property that marks each comment ticketflow posts, so a retried post finds the first one. */
export const COMMENT_MARKER = 'ticketflow.delivery';

export interface LinkRef {
  linkId: string;
  connectionKey: string;
  ticketKey: string;
}

export interface LinkPoll {
  found: boolean;
  ticketId: string | null;
  ticketUrl: string | null;
  status: string | null;
  statusCategory: TrackedStatusCategory | null;
  resolution: string | null;
  assignee: string | null;
  /** comments accepted but not delivered yet (a lost commentAdded signal heals here) */
  pendingComments: boolean;
  updated?: string | null;
  webhooks?: boolean;
}

/** Activities of the anomaly ↔ ticket links; comment texts and anomaly facts are read from PostgreSQL by id. */
export function createAnomalyActivities(deps: { orm: Orm; kit: ConnectionKit; search?: SearchLag }) {
  const { orm, kit } = deps;
  const reads = new SnapshotReads();
  const db = () => orm.em.getConnection();

  return {
    /** Creates the ticket for an anomaly, or finds the one an earlier attempt of this request created. */
    async createAnomalyTicket(input: AnomalyTicketCreateInput): Promise<TicketView> {
      const em = orm.em.fork();
      const anomaly = await em.findOne(Anomaly, { id: input.anomalyId });
      if (!anomaly) throw ApplicationFailure.nonRetryable(`anomaly ${input.anomalyId} does not exist`, 'NotFound');
      const { settings, client } = await jiraFor(em, kit, input.connectionKey);
      await waitForSearchAfterRetry(deps.search);
      return countCreation(input.connectionKey, 'anomaly', () =>
        withJiraFailures(async () => {
          const [existing] = await client.searchIssues(`labels = "${input.label}" ORDER BY created ASC`, 1);
          const key =
            existing?.key ??
            (
              await client.createIssue({
                projectKey: settings.projectKey,
                issueType: settings.issueType,
                summary: input.title,
                description: createdDescription(input.description, anomalyBlock(anomaly, new Date())),
                priority: input.priority ?? undefined,
                labels: [input.label],
                // Fields the project requires come from the connection's custom_fields (as text: there is no privacy request to render them with).
                extraFields: Object.fromEntries(
                  Object.entries(settings.customFields ?? {})
                    .filter(([id]) => id !== 'labels')
                    .map(([id, t]) => [id, Array.isArray(t) ? t.map((x) => compileTemplate(x)({})) : compileTemplate(t)({})]),
                ),
                fieldMeta: settings.fieldMeta,
              })
            ).key;
          const issue = await client.getIssue(key);
          if (!issue) throw ApplicationFailure.retryable(`ticket ${key} not readable yet`, 'NotYetVisible');
          return ticketView(client, issue);
        }),
      );
    },

    /**
     * Delivers the link's pending comments in the order they were accepted, each exactly once: a comment
     * carries the property ticketflow.delivery = "<link>/<seq>", and one already on the ticket (its reply
     * lost, or the worker died after posting) is recognised instead of posted again.
     */
    async deliverComments(link: LinkRef): Promise<{ delivered: number }> {
      const em = orm.em.fork();
      const pending = await em.find(AnomalyComment, { linkId: link.linkId, deliveredAt: null }, { orderBy: { seq: 'asc' }, fields: ['seq', 'body'] });
      if (pending.length === 0) return { delivered: 0 };
      const { client } = await jiraFor(orm.em.fork(), kit, link.connectionKey);
      return withJiraFailures(async () => {
        const onTicket = new Map(
          (await client.comments(link.ticketKey)).flatMap((c) => {
            const v = c.properties[COMMENT_MARKER] as { id?: string } | undefined;
            return v?.id ? [[v.id, c.id] as const] : [];
          }),
        );
        for (const c of pending) {
          const marker = `${link.linkId}/${c.seq}`;
          const commentId = onTicket.get(marker) ?? (await client.addComment(link.ticketKey, c.body, { key: COMMENT_MARKER, value: { id: marker } }));
          await em.nativeUpdate(AnomalyComment, { linkId: link.linkId, seq: c.seq }, { deliveredAt: new Date(), jiraCommentId: commentId });
        }
        return { delivered: pending.length };
      });
    },

    async pollLinkedTicket(link: LinkRef): Promise<LinkPoll> {
      const { connection, client } = await jiraFor(orm.em.fork(), kit, link.connectionKey);
      const [issue, pending] = await Promise.all([
        withJiraFailures(() => reads.read(connection.key, client, link.ticketKey)),
        orm.em.fork().count(AnomalyComment, { linkId: link.linkId, deliveredAt: null }),
      ]);
      const pendingComments = pending > 0;
      const webhooks = hasWebhooks(kit.secrets.read(connection));
      if (!issue) return { found: false, ticketId: null, ticketUrl: null, status: null, statusCategory: 'deleted', resolution: null, assignee: null, pendingComments, webhooks };
      return {
        found: true,
        ticketId: issue.id,
        ticketUrl: client.browseUrl(issue.key),
        status: issue.status,
        statusCategory: issue.statusCategory,
        resolution: issue.resolution,
        assignee: issue.assignee,
        pendingComments,
        updated: issue.updated,
        webhooks,
      };
    },

    /** Mirrors the link's state into PostgreSQL (older or repeated writes change nothing); hands back parked webhook news. */
    async recordLinkState({ linkId, state, ticketId, ticketUrl }: { linkId: string; state: AnomalyLinkState; ticketId: string | null; ticketUrl: string | null }): Promise<{ parked?: TicketChange }> {
      // SQL: the seq guard, the coalesces and the row handed back are one statement, so concurrent writers cannot interleave
      const [row] = await db().execute<Array<{ connection_key: string; ticket_key: string; ticket_id: string | null }>>(
        `update anomaly_ticket_link set state = ?, status = ?, status_category = ?, resolution = ?, assignee = ?, last_error = ?, jira_updated = ?,
           ticket_id = coalesce(?, ticket_id), ticket_url = coalesce(?, ticket_url), last_synced_at = now(), state_seq = ?, updated_at = now()
         where link_id = ? and state_seq < ?
         returning connection_key, ticket_key, ticket_id`,
        [state.state, state.status, state.statusCategory, state.resolution, state.assignee, state.lastError, state.updated ?? null, ticketId, ticketUrl, state.seq, linkId, state.seq],
      );
      if (!row || state.state !== 'active') return {};
      const parked = await claimParked(db(), row.connection_key, { key: row.ticket_key, id: row.ticket_id });
      return parked ? { parked } : {};
    },

    /** Reopen on recurrence (opt-in per connection): back to a "to do" status, with a comment saying why. */
    async reopenTicket(link: LinkRef & { anomalyId: string }): Promise<{ reopened: boolean; reason?: string }> {
      const em = orm.em.fork();
      const { connection, client } = await jiraFor(em, kit, link.connectionKey);
      if (kit.secrets.read(connection).reopen_on_recurrence !== true) return { reopened: false, reason: 'reopen_on_recurrence is off for this connection' };
      return withJiraFailures(async () => {
        const issue = await client.getIssue(link.ticketKey);
        if (issue?.fields?.status?.statusCategory?.key !== 'done') return { reopened: false, reason: 'the ticket is not done' };
        const to = (await client.transitions(link.ticketKey)).find((t) => t.toCategory === 'new');
        if (!to) return { reopened: false, reason: 'no transition leads to a "to do" status' };
        await client.transition(link.ticketKey, to.id);
        await enqueueComment(orm, link.linkId, reopenComment(link.anomalyId, new Date()));
        return { reopened: true };
      });
    },

    /** Queues the unlink comment (delivered like any other) and marks the link unlinked, once. */
    async markUnlinked(link: LinkRef & { anomalyId: string }): Promise<void> {
      await enqueueComment(orm, link.linkId, unlinkComment(link.anomalyId, new Date()), { unlink: true });
    },
  };
}

export type AnomalyActivities = ReturnType<typeof createAnomalyActivities>;
