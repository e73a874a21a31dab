import { randomBytes } from 'node:crypto';
import type { Orm } from '../platform/db/orm.js';
import type { ConnectionKit } from '../connections/kit.js';
import { withJiraFailures } from '../jira/activity-failures.js';
import { jiraFor, mergeSecretsIf } from '../connections/service.js';
import { ticketSettings } from '../connections/settings.js';
import { Connection } from '../platform/db/entities.js';
import { log } from '../platform/log.js';
import { webhookModeOf, webhookUrl, WEBHOOK_EVENTS, type ServerWebhook } from './settings.js';

export const DYNAMIC_WEBHOOK_EVENTS = WEBHOOK_EVENTS;

export interface DynamicWebhooks {
  ids: number[];
  expires_at: string;
}

/** A Data Center webhook does not expire; the keep-alive looks again this often (an administrator may delete it). */
const SERVER_WEBHOOK_CHECK_MS = 30 * 86_400_000;

/** Activities of the webhook keep-alive: Cloud OAuth connections' dynamic webhooks, Data Center administrators' registered ones. */
export function createWebhookActivities(deps: {
  orm: Orm;
  kit: ConnectionKit;
  /** Public base URL of the API, where registered webhooks deliver; unset: none are registered */
  webhookBaseUrl?: string;
}) {
  const { orm, kit } = deps;
  /** Still connected: a disconnect forgets the credentials, so the ticket settings are incomplete after one. */
  const connected = (stored: Record<string, unknown>) => !('missing' in ticketSettings(stored));
  /**
   * Webhooks registered while the connection was being disconnected: the disconnect did not see them, so they are
   * removed here, with the credentials this activity read before they were forgotten. Best effort: Jira may
   * refuse them already (a revoked grant), and then an administrator deletes them.
   */
  const withdraw = async (connectionKey: string, ids: string[], remove: () => Promise<void>) => {
    try {
      await remove();
      log.info('removed webhooks registered while the connection was disconnected', { connection: connectionKey, webhookIds: ids });
    } catch (err) {
      log.warn('could not remove webhooks registered while the connection was disconnected; delete them in Jira', { connection: connectionKey, webhookIds: ids, error: (err as Error).message });
    }
  };
  return {
    /**
     * Makes sure Jira sends this connection's issue events to us: for Cloud OAuth, refreshes the dynamic webhooks
     * registered before while Jira still has them, or registers them (again), for 30 days; for Data Center with an
     * administrator's credentials, registers a webhook filtered by the connection's JQL scope and signed with its
     * secret (Jira 10+), or keeps the one registered. Returns when to look again, or null when the connection cannot
     * have registered webhooks (another auth method, disabled, no public URL, not an administrator).
     */
    async ensureDynamicWebhooks({ connectionKey }: { connectionKey: string }): Promise<{ expiresAt: string | null }> {
      if (!deps.webhookBaseUrl) return { expiresAt: null };
      const em = orm.em.fork();
      const found = await em.findOne(Connection, { key: connectionKey });
      if (!found || found.disabled) return { expiresAt: null };
      const mode = webhookModeOf(kit.secrets.read(found));
      if (mode !== 'dynamic' && mode !== 'registered') return { expiresAt: null };
      const { connection, settings, client } = await jiraFor(em, kit, connectionKey);
      const all = kit.secrets.read(connection);
      const url = webhookUrl(deps.webhookBaseUrl, connectionKey);
      if (mode === 'registered') {
        const previous = all.server_webhook as ServerWebhook | undefined;
        const next = await withJiraFailures(async (): Promise<ServerWebhook | null> => {
          if (previous?.id && previous.jql === settings.jqlScope && previous.url === url && (await client.serverWebhookExists(previous.id))) return previous;
          if (!(await client.isAdministrator())) return null;
          // A changed scope or URL: the old webhook goes, a new one is registered with the same secret.
          if (previous?.id) await client.deleteServerWebhook(previous.id);
          const secret = typeof all.webhook_secret === 'string' ? all.webhook_secret : randomBytes(32).toString('base64url');
          all.webhook_secret = secret;
          const id = await client.registerServerWebhook({ name: `ticketflow ${connectionKey}`, url, events: WEBHOOK_EVENTS, jql: settings.jqlScope, secret });
          log.info('registered a Data Center webhook', { connection: connectionKey, webhookId: id });
          return { id, url, jql: settings.jqlScope, registered_at: new Date().toISOString() };
        });
        if (!next) {
          await mergeSecretsIf(em, kit.secrets, connectionKey, connected, { server_webhook: { manual: true, reason: 'the credentials are not a Jira administrator\'s' } });
          return { expiresAt: null };
        }
        if (!(await mergeSecretsIf(em, kit.secrets, connectionKey, connected, { server_webhook: next, webhook_secret: all.webhook_secret }))) {
          // The one kept from before was the disconnect's to remove; a new one is this activity's.
          if (next !== previous) await withdraw(connectionKey, [next.id!], () => client.deleteServerWebhook(next.id!));
          return { expiresAt: null };
        }
        return { expiresAt: new Date(Date.now() + SERVER_WEBHOOK_CHECK_MS).toISOString() };
      }
      const previous = all.dynamic_webhooks as DynamicWebhooks | undefined;
      const next = await withJiraFailures(async (): Promise<DynamicWebhooks> => {
        if (previous?.ids.length) {
          // Refreshing ids Jira has forgotten (expired, deleted) succeeds and does nothing: look first.
          const live = new Set(await client.webhookIds());
          if (previous.ids.every((id) => live.has(id))) return { ids: previous.ids, expires_at: await client.refreshWebhooks(previous.ids) };
        }
        // Cloud's dynamic webhooks take only a subset of JQL, so their filter is the project; the scope may be narrower.
        const ids = await client.registerWebhooks(url, `project = "${settings.projectKey}"`, DYNAMIC_WEBHOOK_EVENTS);
        return { ids, expires_at: await client.refreshWebhooks(ids) };
      });
      // The calls above may have refreshed the tokens: only this field is written, over what is stored now.
      if (!(await mergeSecretsIf(em, kit.secrets, connectionKey, connected, { dynamic_webhooks: next }))) {
        if (next.ids !== previous?.ids) await withdraw(connectionKey, next.ids.map(String), () => client.deleteWebhooks(next.ids));
        return { expiresAt: null };
      }
      return { expiresAt: next.expires_at };
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
