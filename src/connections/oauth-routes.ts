import { z } from 'zod';
import type { Orm } from '../platform/db/orm.js';
import type { ConnectionKit } from './kit.js';
import { loadConnection } from './service.js';
import { key } from '../http/schemas.js';
import { route, type Route } from '../http/route.js';

export const oauthInitiateSchema = z.object({ connection_key: key }).strict();
/**
 * OAuth 2.0 comes back with `code` and `state` (Cloud and Data Center); OAuth 1.0a with `oauth_token` and
 * `oauth_verifier`. Whatever else the server adds is ignored.
 */
export const oauthCallbackQuery = z
  .object({
    code: z.string().min(1).max(4000).optional(),
    state: z.string().min(1).max(200).optional(),
    oauth_token: z.string().min(1).max(500).optional(),
    oauth_verifier: z.string().min(1).max(500).optional(),
  })
  .passthrough()
  .superRefine((q, ctx) => {
    if (q.oauth_token || q.oauth_verifier) {
      for (const k of ['oauth_token', 'oauth_verifier'] as const) if (!q[k]) ctx.addIssue({ code: 'custom', path: [k], message: 'OAuth 1.0a sends oauth_token and oauth_verifier together' });
      return;
    }
    for (const k of ['code', 'state'] as const) if (!q[k]) ctx.addIssue({ code: 'custom', path: [k], message: 'required (OAuth 2.0 sends code and state; OAuth 1.0a oauth_token and oauth_verifier)' });
  });

/**
 * `/api/v1/oauth/jira`: connect a connection by the user's consent in the browser: Jira Cloud OAuth 2.0 (3LO),
 * Jira Data Center OAuth 2.0 (an incoming application link), or OAuth 1.0a (an application link), as the
 * connection's auth_method says.
 */
export function oauthRoutes(orm: Orm, kit: ConnectionKit, onConnected: (connectionKey: string) => Promise<void>): Route[] {
  return [
    route({
      method: 'post',
      path: '/api/v1/oauth/jira/initiate',
      summary: "Start the connection's browser authorization (oauth2, dc_oauth2 or oauth1): the URL to send the user to",
      tag: 'connections',
      body: oauthInitiateSchema,
      answers: { 200: z.object({ authorization_url: z.string() }).strict() },
      problems: [409, 502],
      handler: async ({ body }) => {
        await loadConnection(orm.em.fork(), body.connection_key);
        return { body: { authorization_url: await kit.oauth.initiate(body.connection_key) } };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/oauth/jira/callback',
      summary: "Where Atlassian or the Jira site sends the browser back after consent (no token: the single-use state or request token authenticates it)",
      tag: 'connections',
      query: oauthCallbackQuery,
      answers: {
        200: z
          .object({
            status: z.literal('connected'),
            connection_key: z.string(),
            auth_method: z.enum(['oauth2', 'dc_oauth2', 'oauth1']),
            cloud_id: z.string().optional(),
            site_url: z.string(),
          })
          .strict(),
      },
      problems: [409, 502],
      handler: async ({ query, req }) => {
        const done = query.oauth_token ? await kit.oauth.callbackOAuth1(query.oauth_token, query.oauth_verifier!) : await kit.oauth.callback(query.code!, query.state!);
        await onConnected(done.connectionKey).catch((err: unknown) => req.log?.('warn', 'could not start the webhook keep-alive; the tracker still reads changes', { err }));
        return {
          body: { status: 'connected', connection_key: done.connectionKey, auth_method: done.authMethod, ...(done.cloudId ? { cloud_id: done.cloudId } : {}), site_url: done.siteUrl },
        };
      },
    }),
  ];
}
