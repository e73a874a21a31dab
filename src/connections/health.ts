import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { AnomalyTicketLink, JiraTicketInstance, JiraTracker, type Connection } from '../platform/db/entities.js';
import { isoTime, maybeTime } from '../http/schemas.js';
import type { ConnectionKit } from './kit.js';
import { ticketSettings } from './settings.js';

/** Ticket instances still in ticketflow's hands (a finished, failed or canceled one is not). */
export const OPEN_TASK_STATES = ['creating', 'creation_failed', 'open', 'waiting_for_data'];
/** Anomaly links still followed. */
export const OPEN_LINK_STATES = ['active', 'unlinking'];

export const CONNECTION_STATES = ['connected', 'needs_reauthorization', 'not_configured', 'disabled'] as const;

export const healthAnswer = z
  .object({
    /**
     * disabled: switched off; not_configured: settings missing (`reason` names them, OAuth 2.0 not yet authorized);
     * needs_reauthorization: Jira refused the credentials on the tracker's last cycle (401/403, or the OAuth
     * refresh token is no longer good); connected: otherwise.
     */
    state: z.enum(CONNECTION_STATES),
    reason: z.string().nullable(),
    auth_method: z.string(),
    project_key: z.string().nullable(),
    issue_type: z.string().nullable(),
    site_url: z.string().nullable(),
    tracker: z
      .object({
        cycle: z.number().int(),
        last_cycle_at: maybeTime,
        next_cycle_at: maybeTime,
        last_reconcile_at: maybeTime,
        tracked: z.number().int(),
        changed: z.number().int(),
        calls: z.number().int(),
        points: z.number().int(),
        last_error: z.string().nullable(),
        updated_at: isoTime,
      })
      .strict()
      .nullable()
      .describe("the tracker's last cycle (null before its first)"),
    webhooks: z
      .object({
        kind: z.enum(['admin', 'dynamic', 'none']),
        active: z.boolean(),
        expires_at: z.string().nullable(),
        delivery_path: z.string().nullable(),
      })
      .strict(),
    quota: z
      .object({ app: z.string(), points_used: z.number().int(), points_per_hour: z.number().int(), resets_at: isoTime })
      .strict()
      .nullable()
      .describe("the OAuth app's Jira points this hour, shared by all its connections (null: the connection pays no points)"),
    open_tickets: z.object({ privacy_request_tickets: z.number().int(), anomaly_links: z.number().int() }).strict(),
  })
  .strict();
export type ConnectionHealth = z.infer<typeof healthAnswer>;

/** Credentials Jira refused, as the tracker records it: the person must authorize or give a new token. */
const AUTH_REFUSED = /answered 40[13]\b|authorize it again|refresh_token is invalid|invalid_grant/i;

/** Open tickets of a connection: what deleting it would leave unfollowed. */
export async function openTicketsOf(em: EntityManager, key: string) {
  const [privacy_request_tickets, anomaly_links] = await Promise.all([
    em.count(JiraTicketInstance, { connectionKey: key, taskState: { $in: OPEN_TASK_STATES } }),
    em.count(AnomalyTicketLink, { connectionKey: key, state: { $in: OPEN_LINK_STATES } }),
  ]);
  return { privacy_request_tickets, anomaly_links };
}

/** How a connection is doing, from what ticketflow recorded (no Jira call): settings, tracker, webhooks, quota. */
export async function connectionHealth(em: EntityManager, kit: ConnectionKit, c: Connection) {
  const all = kit.secrets.read(c);
  const authMethod = typeof all.auth_method === 'string' ? all.auth_method : 'api_token';
  const [tracker, open] = await Promise.all([em.findOne(JiraTracker, { connectionKey: c.key }), openTicketsOf(em, c.key)]);
  const settings = ticketSettings(all);
  let state: (typeof CONNECTION_STATES)[number] = 'connected';
  let reason: string | null = null;
  if (c.disabled) [state, reason] = ['disabled', 'the connection is disabled: no tickets are created and its tracker is stopped'];
  else if ('missing' in settings) [state, reason] = ['not_configured', `set ${settings.missing.join(', ')}`];
  else if (tracker?.lastError && AUTH_REFUSED.test(tracker.lastError)) {
    state = 'needs_reauthorization';
    reason = authMethod === 'oauth2' ? `Jira refused the authorization: authorize again (${tracker.lastError})` : `Jira refused the credentials: give new ones (${tracker.lastError})`;
  }
  const dynamic = all.dynamic_webhooks as { expires_at?: string } | undefined;
  const webhooks: ConnectionHealth['webhooks'] =
    typeof all.webhook_secret === 'string'
      ? { kind: 'admin', active: true, expires_at: null, delivery_path: `/webhooks/jira/${c.key}` }
      : dynamic?.expires_at
        ? { kind: 'dynamic', active: Date.parse(dynamic.expires_at) > Date.now(), expires_at: dynamic.expires_at, delivery_path: `/webhooks/jira/${c.key}` }
        : { kind: 'none', active: false, expires_at: null, delivery_path: null };
  const appQuota = authMethod === 'oauth2' ? await kit.connector.appQuota() : null;
  return {
    state,
    reason,
    auth_method: authMethod,
    project_key: typeof all.project_key === 'string' ? all.project_key : null,
    issue_type: typeof all.issue_type === 'string' ? all.issue_type : null,
    site_url: typeof all.domain === 'string' ? all.domain : typeof all.site_url === 'string' ? all.site_url : null,
    tracker: tracker
      ? {
          cycle: tracker.cycle,
          last_cycle_at: tracker.lastCycleAt ?? null,
          next_cycle_at: tracker.nextCycleAt ?? null,
          last_reconcile_at: tracker.lastReconcileAt ?? null,
          tracked: tracker.tracked,
          changed: tracker.changed,
          calls: tracker.calls,
          points: tracker.points,
          last_error: tracker.lastError ?? null,
          updated_at: tracker.updatedAt,
        }
      : null,
    webhooks,
    quota: appQuota ? { app: appQuota.app, points_used: appQuota.used, points_per_hour: appQuota.limit, resets_at: appQuota.resetsAt } : null,
    open_tickets: open,
  };
}
