import { z } from 'zod';
import type { Orm } from '../platform/db/orm.js';
import type { ConnectionKit } from './kit.js';
import { loadConnection } from './service.js';
import { key } from '../http/schemas.js';
import { OAUTH_RETURNS } from './oauth.js';
import { auditNote, route, type Route } from '../http/route.js';
import { DomainError } from '../platform/errors.js';

export const oauthInitiateSchema = z
  .object({
    connection_key: key,
    /** console: the callback sends the browser back to the console's page of the connection instead of answering JSON */
    return_to: z.enum(OAUTH_RETURNS).optional(),
  })
  .strict();
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
    /** the answer when the user declined (access_denied) or the request was refused */
    error: z.string().max(200).optional(),
    error_description: z.string().max(2000).optional(),
  })
  .passthrough()
  .superRefine((q, ctx) => {
    if (q.oauth_token || q.oauth_verifier) {
      for (const k of ['oauth_token', 'oauth_verifier'] as const) if (!q[k]) ctx.addIssue({ code: 'custom', path: [k], message: 'OAuth 1.0a sends oauth_token and oauth_verifier together' });
      return;
    }
    // A declined consent comes back with the state and an error instead of a code.
    for (const k of q.error ? (['state'] as const) : (['code', 'state'] as const)) {
      if (!q[k]) ctx.addIssue({ code: 'custom', path: [k], message: 'required (OAuth 2.0 sends code and state; OAuth 1.0a oauth_token and oauth_verifier)' });
    }
  });

/** The console's page of a connection, where the browser lands after authorizing (relative: same origin as the API). */
const consolePage = (connectionKey: string, outcome: Record<string, string>) => `/console/connections/${encodeURIComponent(connectionKey)}?${new URLSearchParams(outcome)}`;

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
      handler: async ({ body, res }) => {
        auditNote(res, { targets: { connection: body.connection_key } });
        await loadConnection(orm.em.fork(), body.connection_key);
        return { body: { authorization_url: await kit.oauth.initiate(body.connection_key, body.return_to ?? null) } };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/oauth/jira/callback',
      summary: 'Where Atlassian or the Jira site sends the browser back after consent (no token: the single-use state or request token authenticates it); 303 back to the console when it started there',
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
        303: { type: 'text/plain', description: 'back to the console (initiated with return_to: console): ?authorized=1, or ?authorization_error=<what went wrong>' },
      },
      ok: 200,
      problems: [409, 502],
      // A GET that changes state (it stores the connection's tokens); the single-use state stands for the caller.
      audit: { actor: 'oauth_redirect', temporal: 'start jiraWebhookKeepAlive' },
      handler: async ({ query, req, res }) => {
        const claimed = await kit.oauth.claim(query);
        auditNote(res, { targets: { connection: claimed.connectionKey } });
        try {
          const done = await kit.oauth.complete(claimed, query);
          await onConnected(done.connectionKey).catch((err: unknown) => req.log?.('warn', 'could not start the webhook keep-alive; the tracker still reads changes', { err }));
          if (claimed.returnTo === 'console') return { status: 303, headers: { location: consolePage(done.connectionKey, { authorized: '1' }) } };
          return {
            body: { status: 'connected', connection_key: done.connectionKey, auth_method: done.authMethod, ...(done.cloudId ? { cloud_id: done.cloudId } : {}), site_url: done.siteUrl },
          };
        } catch (err) {
          // The console shows what went wrong on the connection's page; an API caller gets the problem.
          if (claimed.returnTo === 'console' && err instanceof DomainError) return { status: 303, headers: { location: consolePage(claimed.connectionKey, { authorization_error: err.message }) } };
          throw err;
        }
      },
    }),
  ];
}
