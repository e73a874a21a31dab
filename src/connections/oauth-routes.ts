import { z } from 'zod';
import type { Orm } from '../platform/db/orm.js';
import type { ConnectionKit } from './kit.js';
import { loadConnection } from './service.js';
import { OAUTH_RETURNS } from './oauth.js';
import { key } from '../http/schemas.js';
import { auditNote, route, type Route } from '../http/route.js';
import { conflict, DomainError, malformed } from '../platform/errors.js';

export const oauthInitiateSchema = z
  .object({
    connection_key: key,
    /** console: the callback sends the browser back to the console's page of the connection instead of answering JSON */
    return_to: z.enum(OAUTH_RETURNS).optional(),
  })
  .strict();
export const oauthCallbackQuery = z
  .object({
    code: z.string().min(1).max(4000).optional(),
    state: z.string().min(1).max(200),
    /** Atlassian's answer when the user declined (access_denied) or the request was refused */
    error: z.string().max(200).optional(),
    error_description: z.string().max(2000).optional(),
  })
  .passthrough();

/** The console's page of a connection, where the browser lands after authorizing (relative: same origin as the API). */
const consolePage = (connectionKey: string, outcome: Record<string, string>) => `/console/connections/${encodeURIComponent(connectionKey)}?${new URLSearchParams(outcome)}`;

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
        return { body: { authorization_url: await oauth().initiate(body.connection_key, body.return_to ?? null) } };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/oauth/jira/callback',
      summary: "Atlassian's redirect after consent (no token: the single-use state authenticates it); 303 back to the console when it started there",
      tag: 'connections',
      query: oauthCallbackQuery,
      answers: {
        200: z.object({ status: z.literal('connected'), connection_key: z.string(), cloud_id: z.string(), site_url: z.string() }).strict(),
        303: { type: 'text/plain', description: 'back to the console (initiated with return_to: console): ?authorized=1, or ?authorization_error=<what went wrong>' },
      },
      ok: 200,
      problems: [409, 502],
      // A GET that changes state (it stores the connection's tokens); the single-use state stands for the caller.
      audit: { actor: 'oauth_redirect', temporal: 'start jiraWebhookKeepAlive' },
      handler: async ({ query, req, res }) => {
        const flow = oauth();
        const taken = await flow.takeState(query.state);
        if (!taken) throw malformed('query.state', 'unknown, used or expired state: start again with POST /api/v1/oauth/jira/initiate');
        auditNote(res, { targets: { connection: taken.connectionKey } });
        try {
          if (!query.code) throw malformed('query.code', `Atlassian did not authorize the app: ${[query.error ?? 'no code', query.error_description].filter(Boolean).join(': ')}; start again`);
          const done = await flow.exchange(query.code, taken.connectionKey);
          await onConnected(done.connectionKey).catch((err: unknown) => req.log?.('warn', 'could not start the webhook keep-alive; the tracker still reads changes', { err }));
          if (taken.returnTo === 'console') return { status: 303, headers: { location: consolePage(done.connectionKey, { authorized: '1' }) } };
          return { body: { status: 'connected', connection_key: done.connectionKey, cloud_id: done.cloudId, site_url: done.siteUrl } };
        } catch (err) {
          // The console shows what went wrong on the connection's page; an API caller gets the problem.
          if (taken.returnTo === 'console' && err instanceof DomainError) return { status: 303, headers: { location: consolePage(taken.connectionKey, { authorization_error: err.message }) } };
          throw err;
        }
      },
    }),
  ];
}
