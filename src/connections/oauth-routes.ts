import express from 'express';
import { z } from 'zod';
import type { Orm } from '../platform/db/orm.js';
import type { ConnectionKit } from './kit.js';
import { loadConnection } from './service.js';
import { OAuthError } from './oauth.js';
import { key } from '../http/schemas.js';
import { parse, Problem } from '../http/problem.js';

/** `/api/v1/oauth/jira`: connect a connection to Jira Cloud with OAuth 2.0 (3LO). */
export const oauthInitiateSchema = z.object({ connection_key: key }).strict();
export const oauthCallbackQuery = z.object({ code: z.string().min(1).max(4000), state: z.string().min(1).max(200) }).passthrough();

export function oauthRouter(orm: Orm, kit: ConnectionKit, onConnected: (connectionKey: string) => Promise<void>): express.Router {
  const r = express.Router();
  const oauth = () => {
    if (!kit.oauth) throw new Problem(409, 'Conflict', 'OAuth is not configured: set JIRA_OAUTH_CLIENT_ID, JIRA_OAUTH_CLIENT_SECRET and JIRA_OAUTH_REDIRECT_URI', { state: 'oauth_not_configured' });
    return kit.oauth;
  };
  const asProblem = (err: unknown): never => {
    if (err instanceof OAuthError) throw new Problem(err.status, err.status === 502 ? 'Bad Gateway' : 'Bad Request', err.message, err.field ? { field: err.field } : {});
    throw err;
  };

  r.post('/initiate', async (req, res) => {
    const { connection_key } = parse(oauthInitiateSchema, req.body);
    await loadConnection(orm.em.fork(), connection_key);
    res.json({ authorization_url: await oauth().initiate(connection_key) });
  });

  r.get('/callback', async (req, res) => {
    const q = parse(oauthCallbackQuery, req.query, 'query');
    const done = await oauth().callback(q.code, q.state).catch(asProblem);
    await onConnected(done.connectionKey).catch((err: unknown) => req.log?.('warn', 'could not start the webhook keep-alive; polling still tracks tickets', { err }));
    res.json({ status: 'connected', connection_key: done.connectionKey, cloud_id: done.cloudId, site_url: done.siteUrl });
  });

  return r;
}
