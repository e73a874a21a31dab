/**
 * Whether Jira tells us about this connection's tickets by webhook: an admin webhook signed with the
 * connection's secret, or dynamic webhooks that ticketflow registered (OAuth) and keeps alive.
 */
export function hasWebhooks(settings: Record<string, unknown>): boolean {
  const dynamic = settings.dynamic_webhooks as { expires_at?: string } | undefined;
  return typeof settings.webhook_secret === 'string' || (!!dynamic?.expires_at && Date.parse(dynamic.expires_at) > Date.now());
}

/** The events ticketflow listens to, as Jira names them (Cloud and Data Center alike). */
export const WEBHOOK_EVENTS = ['jira:issue_created', 'jira:issue_updated', 'jira:issue_deleted', 'comment_created'];

/** A Data Center webhook ticketflow registered (administrator credentials), or why it could not. */
export interface ServerWebhook {
  id?: string;
  url?: string;
  jql?: string;
  registered_at?: string;
  /** none could be registered: an administrator sets one up by hand */
  manual?: boolean;
  reason?: string;
}

/**
 * How a connection's webhooks are set up, by auth method:
 * - dynamic: Cloud OAuth 2.0 registers dynamic webhooks (30 days, refreshed);
 * - registered: Data Center with a PAT, Basic or OAuth 1.0a acts as its user, and registers a webhook through
 *   /rest/webhooks/1.0/webhook when that user is a Jira administrator (otherwise manual);
 * - manual: everything else (Cloud API tokens, Data Center OAuth 2.0, whose incoming links cannot manage
 *   webhooks): an administrator creates the webhook in Jira with the URL, events, JQL and secret the API gives.
 */
export function webhookModeOf(settings: Record<string, unknown>): 'dynamic' | 'registered' | 'manual' {
  const method = settings.auth_method ?? 'api_token';
  if (method === 'oauth2') return 'dynamic';
  if (method === 'pat' || method === 'basic' || method === 'oauth1') return (settings.server_webhook as ServerWebhook | undefined)?.manual ? 'manual' : 'registered';
  return 'manual';
}

export const webhookUrl = (baseUrl: string, connectionKey: string) => `${baseUrl.replace(/\/+$/, '')}/webhooks/jira/${encodeURIComponent(connectionKey)}`;
