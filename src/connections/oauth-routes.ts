import { z } from 'zod';
import type { Orm } from '../platform/db/orm.js';
import type { ConnectionKit } from './kit.js';
import { loadConnection } from './service.js';
import { key } from '../http/schemas.js';
import { auditNote, route, type Route } from '../http/route.js';
import { conflict } from '../platform/errors.js';

export const oauthInitiateSchema = z.object({ connection_key: key }).strict();
export const oauthCallbackQuery = z.object({ code: z.string().min(1).max(4000), state: z.string().min(1).max(200) }).passthrough();

/** `/api/v1/oauth/jira`: connect a connection to Jira Cloud with OAuth 2.0 (3LO). */
export function oauthRoutes(orm: Orm, kit: ConnectionKit, onConnected: (connectionKey: string) => Promise<void>): Route[] {
  const oauth = () => {
    if (!kit.oauth) throw conflict('OAuth is not configured: set JIRA_OAUTH_CLIENT_ID, JIRA_OAUTH_CLIENT_SECRET and JIRA_OAUTH_REDIRECT_URI', { state: 'oauth_not_configured' });
    return kit.oauth;
  };
  return [
    route({
      method: 'post',
      path: '/api/v1/oauth/jira/initiate',
      summary: 'Start OAuth 2.0 (3LO): the authorization URL',
      tag: 'connections',
      body: oauthInitiateSchema,
      answers: { 200: z.object({ authorization_url: z.string() }).strict() },
      problems: [409],
      handler: async ({ body, res }) => {
        auditNote(res, { targets: { connection: body.connection_key } });
        await loadConnection(orm.em.fork(), body.connection_key);
        return { body: { authorization_url: await oauth().initiate(body.connection_key) } };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/oauth/jira/callback',
      summary: "Atlassian's redirect after consent (no token: the single-use state authenticates it)",
      tag: 'connections',
      query: oauthCallbackQuery,
      answers: { 200: z.object({ status: z.literal('connected'), connection_key: z.string(), cloud_id: z.string(), site_url: z.string() }).strict() },
      problems: [409, 502],
      // A GET that changes state (it stores the connection's tokens); the single-use state stands for the caller.
      audit: { actor: 'oauth_redirect', temporal: 'start jiraWebhookKeepAlive' },
      handler: async ({ query, req, res }) => {
        const done = await oauth().callback(query.code, query.state);
        auditNote(res, { targets: { connection: done.connectionKey } });
        await onConnected(done.connectionKey).catch((err: unknown) => req.log?.('warn', 'could not start the webhook keep-alive; the tracker still reads changes', { err }));
        return { body: { status: 'connected', connection_key: done.connectionKey, cloud_id: done.cloudId, site_url: done.siteUrl } };
      },
    }),
  ];
}
