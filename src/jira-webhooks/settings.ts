/**
 * Whether Jira tells us about this connection's tickets by webhook: an admin webhook signed with the
 * connection's secret, or dynamic webhooks that ticketflow registered (OAuth) and keeps alive.
 */
export function hasWebhooks(settings: Record<string, unknown>): boolean {
  const dynamic = settings.dynamic_webhooks as { expires_at?: string } | undefined;
  return typeof settings.webhook_secret === 'string' || (!!dynamic?.expires_at && Date.parse(dynamic.expires_at) > Date.now());
}
