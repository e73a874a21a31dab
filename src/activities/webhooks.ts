import type { ActivityDeps } from './index.js';
import { jiraFor, withJiraFailures } from './jira-failures.js';
import { JiraApiError } from '../jira/errors.js';
import { Connection } from '../db/entities.js';

export const DYNAMIC_WEBHOOK_EVENTS = ['jira:issue_created', 'jira:issue_updated', 'jira:issue_deleted', 'comment_created'];

export interface DynamicWebhooks {
  ids: number[];
  expires_at: string;
}

/** Activities of the dynamic-webhook keep-alive (OAuth connections). */
export function createWebhookActivities(deps: ActivityDeps) {
  const { orm, kit } = deps;
  return {
    /**
     * Makes sure Jira sends this connection's issue events to us for the next 30 days: refreshes the
     * webhooks registered before, or registers them (again, if Jira forgot them). Returns when they expire,
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
          try {
            return { ids: previous.ids, expires_at: await client.refreshWebhooks(previous.ids) };
          } catch (err) {
            // Expired or deleted on Jira's side: register anew below.
            if (!(err instanceof JiraApiError && (err.status === 404 || err.status === 400))) throw err;
          }
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
