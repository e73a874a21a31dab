import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Orm } from '../platform/db/orm.js';
import { JiraTicketInstance, PrivacyRequest } from '../platform/db/entities.js';
import type { ConnectionKit } from '../connections/kit.js';
import { jiraFor } from '../connections/service.js';
import { withJiraFailures } from '../jira/activity-failures.js';
import { renderTicket, personalFieldsOf } from '../templates/render.js';
import { log } from '../platform/log.js';
import { metrics } from '../platform/metrics.js';
import { REDACTABLE } from './eraser.js';
import { REDACTION_PROPERTY } from './messages.js';
import { PersonalDataService } from './service.js';
import { startJiraRedaction, type PrivacySettings } from './starts.js';

export interface PersonalDataActivityDeps {
  orm: Orm;
  kit: ConnectionKit;
  /** starts the Jira redactions that retention asks for */
  temporal: Client;
  taskQueue: string;
  privacy?: PrivacySettings;
}

export type RedactionOutcome = 'redacted' | 'already_redacted' | 'ticket_gone' | 'not_pending';

/** Retention's and redaction's activities: each takes ids and numbers, loads what it needs, and answers counts and ticket keys. */
export function createPersonalDataActivities(deps: PersonalDataActivityDeps) {
  const { orm } = deps;
  const personal = new PersonalDataService(orm, deps.kit.secrets.keyring, deps.temporal, deps.taskQueue, deps.privacy ?? { personalDataRetentionDays: 30, auditLogRetentionDays: 365, sweepMinutes: 60 });

  const mark = (instanceId: string, state: 'done' | 'ticket_gone') =>
    orm.em.fork().nativeUpdate(JiraTicketInstance, { instanceId, jiraRedaction: 'pending' }, { jiraRedaction: state, jiraRedactedAt: new Date() });

  return {
    /** Rows still in plain text (an older process wrote them) are sealed, and boxes of a retired key re-sealed. */
    async sealLegacyPersonalData(): Promise<{ sealed: number; resealed: number }> {
      return personal.eraser.sealLegacyRows();
    },

    /** Erases one batch of requests whose retention ran out by `asOf` (the schedule's time). */
    async erasePersonalDataDue({ asOf, retentionDays, limit }: { asOf: string; retentionDays: number; limit?: number }) {
      const { reports, more } = await personal.eraser.eraseDue(new Date(asOf), retentionDays, limit);
      return {
        requestIds: reports.map((r) => r.privacy_request_id),
        identities: reports.filter((r) => r.erased.identity.length).length,
        submittedData: reports.reduce((n, r) => n + r.erased.submitted_data.length, 0),
        ticketsWithPersonalFields: reports.reduce((n, r) => n + r.tickets.length, 0),
        redactionsPending: reports.filter((r) => r.tickets.some((t) => t.jira_redaction === 'pending')).map((r) => r.privacy_request_id),
        more,
      };
    },

    /** Starts the redactions of these requests and of any left pending by an earlier erasure; answers how many were started. */
    async startJiraRedactions({ privacyRequestIds }: { privacyRequestIds: string[] }): Promise<{ started: number }> {
      const all = [...new Set([...privacyRequestIds, ...(await personal.eraser.pendingRedactions())])];
      for (const id of all) await startJiraRedaction(deps.temporal, deps.taskQueue, id);
      return { started: all.length };
    },

    /** The request's tickets whose redaction is still to do. */
    async pendingRedactions({ privacyRequestId }: { privacyRequestId: string }): Promise<{ instanceIds: string[] }> {
      const rows = await orm.em.fork().find(JiraTicketInstance, { privacyRequestId, jiraRedaction: 'pending' }, { fields: ['instanceId'], orderBy: { instanceId: 'asc' } });
      return { instanceIds: rows.map((r) => r.instanceId) };
    },

    /**
     * Rewrites the fields of the ticket ticketflow rendered that used personal variables, as the connection's
     * templates render them now that the values are erased, exactly once: the edit sets the entity property
     * `ticketflow.redaction` in the same request, so an attempt after a lost reply finds it and edits no more.
     */
    async redactTicket({ instanceId }: { instanceId: string }): Promise<{ ticketKey: string | null; outcome: RedactionOutcome }> {
      const em = orm.em.fork();
      const instance = await em.findOne(JiraTicketInstance, { instanceId });
      if (!instance || instance.jiraRedaction !== 'pending' || !instance.renderedTicketKey) return { ticketKey: instance?.renderedTicketKey ?? null, outcome: 'not_pending' };
      const ticketKey = instance.renderedTicketKey;
      const request = await em.findOne(PrivacyRequest, { id: instance.privacyRequestId });
      if (!request) throw ApplicationFailure.nonRetryable(`privacy request ${instance.privacyRequestId} does not exist`, 'NotFound');
      const { connection, settings, client } = await jiraFor(em, deps.kit, instance.connectionKey);
      const done = async (outcome: RedactionOutcome) => {
        await mark(instanceId, outcome === 'ticket_gone' ? 'ticket_gone' : 'done');
        metrics.jiraRedactions.inc({ connection: connection.key, outcome });
        log.info('ticket redaction', { connection: connection.key, ticketKey, outcome });
        return { ticketKey, outcome };
      };

      const marker = await withJiraFailures(() => client.issueProperty(ticketKey, REDACTION_PROPERTY));
      if (marker === undefined) return done('ticket_gone');
      if ((marker as { instance?: string } | null)?.instance === instanceId) return done('already_redacted');

      // Rendered as a ticket created now would be: the identity is erased, so the personal variables are empty.
      const fields = ((instance.personalFields as string[] | null | undefined) ?? personalFieldsOf(settings)).filter(REDACTABLE);
      const rendered = renderTicket(settings, { ...request, email: null, phone: null });
      const custom = Object.fromEntries(fields.filter((f) => f.startsWith('customfield_') && f in rendered.fields).map((f) => [f, rendered.fields[f]]));
      await withJiraFailures(() =>
        client.editIssue(ticketKey, {
          ...(fields.includes('summary') ? { summary: rendered.summary } : {}),
          ...(fields.includes('description') ? { description: rendered.description ?? null } : {}),
          fields: custom,
          properties: [{ key: REDACTION_PROPERTY, value: { instance: instanceId, at: new Date().toISOString() } }],
        }),
      );
      return done('redacted');
    },
  };
}

export type PersonalDataActivities = ReturnType<typeof createPersonalDataActivities>;
