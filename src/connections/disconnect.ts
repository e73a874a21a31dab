import { z } from 'zod';
import type { Orm } from '../platform/db/orm.js';
import type { ConnectionKit } from './kit.js';
import { loadConnection, mergeSecretsIf } from './service.js';
import { ticketSettings } from './settings.js';
import type { DynamicWebhooks } from '../jira-webhooks/activities.js';
import type { ServerWebhook } from '../jira-webhooks/settings.js';
import { log } from '../platform/log.js';

/** Credentials and what was resolved with them: forgotten on disconnect. The ticket settings and the app's registration stay. */
const FORGOTTEN = [
  'username',
  'api_key',
  'access_token',
  'refresh_token',
  'expires_at',
  'refresh_at',
  'oauth1_access_token',
  'oauth1_token_secret',
  'authorized_at',
  'webhook_secret',
  'dynamic_webhooks',
  'server_webhook',
] as const;

export const disconnectAnswer = z
  .object({
    status: z.literal('disconnected'),
    connection_key: z.string(),
    /** the settings forgotten (credentials, tokens, webhook secret) */
    forgotten: z.array(z.string()),
    webhooks_removed: z.array(z.string()),
    /** webhooks ticketflow could not remove (Jira unreachable, or no longer allowed): an administrator deletes them */
    webhooks_left: z.array(z.object({ id: z.string(), reason: z.string() }).strict()),
    /** revoked: the server withdrew the grant; not_offered: it has no way to (see manual_steps) */
    revocation: z.enum(['revoked', 'not_offered', 'nothing_to_revoke', 'failed']),
    /** what a person still does in Jira, if anything */
    manual_steps: z.array(z.string()),
  })
  .strict();
export type Disconnected = z.infer<typeof disconnectAnswer>;

/**
 * Disconnects a connection from Jira: removes the webhooks ticketflow registered (while the credentials still
 * work), revokes the OAuth grant where the server offers that, then forgets every credential and token in one
 * write. Jira being away does not keep a connection connected: what could not be removed is listed for an
 * administrator. The ticket settings (project, templates, mapping) stay, so connecting again is one PUT or one
 * authorization away.
 */
export async function disconnect(orm: Orm, kit: ConnectionKit, connectionKey: string): Promise<Disconnected> {
  const em = orm.em.fork();
  const c = await loadConnection(em, connectionKey);
  const all = kit.secrets.read(c);
  const removed: string[] = [];
  const left: Array<{ id: string; reason: string }> = [];
  const manual: string[] = [];
  const settings = ticketSettings(all);
  const client = 'missing' in settings ? null : kit.connector.client(c, settings);
  const handled = new Set<string>();
  const attempt = async (ids: string[], remove: () => Promise<void>) => {
    if (!ids.length) return;
    ids.forEach((id) => handled.add(id));
    if (!client) return void left.push(...ids.map((id) => ({ id, reason: 'the connection has no usable credentials any more' })));
    try {
      await remove();
      removed.push(...ids);
    } catch (err) {
      left.push(...ids.map((id) => ({ id, reason: (err as Error).message })));
    }
  };
  const removeWebhooks = async (stored: Record<string, unknown>) => {
    const dynamic = stored.dynamic_webhooks as DynamicWebhooks | undefined;
    const server = stored.server_webhook as ServerWebhook | undefined;
    const dynamicIds = (dynamic?.ids ?? []).filter((id) => !handled.has(String(id)));
    await attempt(dynamicIds.map(String), () => client!.deleteWebhooks(dynamicIds));
    if (server?.id && !handled.has(server.id)) await attempt([server.id], () => client!.deleteServerWebhook(server.id!));
  };
  await removeWebhooks(all);
  const server = all.server_webhook as ServerWebhook | undefined;
  const dynamic = all.dynamic_webhooks as DynamicWebhooks | undefined;
  if (left.length) manual.push(`delete the webhooks ${left.map((w) => w.id).join(', ')} in Jira (settings → System → WebHooks)`);
  if (typeof all.webhook_secret === 'string' && !server?.id && !dynamic) manual.push('delete the admin webhook that delivers to this connection in Jira (settings → System → WebHooks): its secret is forgotten, so its deliveries are refused');

  const revocation = await kit.oauth.revoke(all);
  const method = all.auth_method ?? 'api_token';
  if (revocation !== 'revoked') {
    const where: Record<string, string> = {
      oauth2: 'the user withdraws the app in their Atlassian account (Connected apps)',
      dc_oauth2: 'the user revokes ticketflow in Jira (profile → Authorized applications), or an administrator deletes the incoming application link',
      oauth1: 'the user revokes ticketflow in Jira (profile → Authorized applications), or an administrator deletes the application link',
      pat: 'the token\'s owner revokes the personal access token in Jira (profile → Personal access tokens)',
      basic: 'change the password of the account if it was shared only with ticketflow',
      api_token: 'the token\'s owner revokes the API token (id.atlassian.com → Security → API tokens)',
      scoped_api_token: 'the token\'s owner revokes the API token (id.atlassian.com → Security → API tokens)',
    };
    if (where[String(method)]) manual.push(where[String(method)]!);
  }
  const forgotten = FORGOTTEN.filter((k) => all[k] !== undefined);
  // The webhook keep-alive may have registered one since the read above (it records it while the credentials
  // are still there): forgetting waits until every webhook recorded has been handled here, under the row lock.
  const hooksOf = (stored: Record<string, unknown>) => [...((stored.dynamic_webhooks as DynamicWebhooks | undefined)?.ids ?? []).map(String), (stored.server_webhook as ServerWebhook | undefined)?.id].filter(Boolean);
  for (let round = 0; ; round++) {
    let later: Record<string, unknown> | undefined;
    const done = await mergeSecretsIf(
      em,
      kit.secrets,
      connectionKey,
      (stored) => {
        later = stored;
        return round >= 3 || hooksOf(stored).every((id) => handled.has(id!));
      },
      {},
      FORGOTTEN,
    );
    if (done) break;
    await removeWebhooks(later!);
  }
  log.info('connection disconnected from Jira', { connection: connectionKey, forgotten, webhooksRemoved: removed.length, webhooksLeft: left.length, revocation });
  return { status: 'disconnected', connection_key: connectionKey, forgotten, webhooks_removed: removed, webhooks_left: left, revocation, manual_steps: manual };
}
