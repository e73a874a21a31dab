import type { Orm } from '../platform/db/orm.js';
import type { ConnectionKit } from '../connections/kit.js';
import { withJiraFailures } from '../jira/activity-failures.js';
import { jiraFor } from '../connections/service.js';
import { Connection } from '../platform/db/entities.js';

export const DYNAMIC_WEBHOOK_EVENTS = ['jira:issue_created', 'jira:issue_updated', 'jira:issue_deleted', 'comment_created'];

export interface DynamicWebhooks {
  ids: number[];
  expires_at: string;
}

/** Activities of the dynamic-webhook keep-alive (OAuth connections). */
export function createWebhookActivities(deps: {
  orm: Orm;
  kit: ConnectionKit;
  /** Public base URL of the API, where OAuth connections' dynamic webhooks deliver; unset: none are registered */
  webhookBaseUrl?: string;
}) {
  const { orm, kit } = deps;
  return {
    /**
     * Makes sure Jira sends this connection's issue events to us for the next 30 days: refreshes the
     * webhooks registered before while Jira still has them, or registers them (again). Returns when they expire,
     * or null when the connection cannot have dynamic webhooks (not OAuth, disabled, no public URL).
     */
    async ensureDynamicWebhooks({ connectionKey }: { connectionKey: string }): Promise<{ expiresAt: string | null }> {
      if (!deps.webhookBaseUrl) return { expiresAt: null };
      const em = orm.em.fork();
      const found = await em.findOne(Connection, { key: connectionKey });
      if (!found || found.disabled || kit.secrets.read(found).auth_method !== 'oauth2') return { expiresAt: null };
      const { connection, settings, client } = await jiraFor(em, kit, connectionKey);
      const all = kit.secrets.read(connection);
      const previous = all.dynamic_webhooks as DynamicWebhooks | undefined;
      const next = await withJiraFailures(async (): Promise<DynamicWebhooks> => {
        if (previous?.ids.length) {
          // Refreshing ids Jira has forgotten (expired, deleted) succeeds and does nothing: look first.
          const live = new Set(await client.webhookIds());
          if (previous.ids.every((id) => live.has(id))) return { ids: previous.ids, expires_at: await client.refreshWebhooks(previous.ids) };
        }
        const url = `${deps.webhookBaseUrl!.replace(/\/+$/, '')}/webhooks/jira/${encodeURIComponent(connectionKey)}`;
        const ids = await client.registerWebhooks(url, `project = "${settings.projectKey}"`, DYNAMIC_WEBHOOK_EVENTS);
        return { ids, expires_at: await client.refreshWebhooks(ids) };
      });
      kit.secrets.write(connection, { ...all, dynamic_webhooks: next });
      await em.flush();
      return { expiresAt: next.expires_at };
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
