import { createHash, randomBytes } from 'node:crypto';
import got from 'got';
import { LockMode } from '@mikro-orm/core';
import type { Orm } from '../platform/db/orm.js';
import { Connection, OAuthState } from '../platform/db/entities.js';
import type { ConnectionSecrets } from './secrets.js';
import { conflict, malformed, upstream } from '../platform/errors.js';

export interface OAuthConfig {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** https://auth.atlassian.com, or the fake Jira in tests */
  authUrl: string;
  /** https://api.atlassian.com, or the fake Jira in tests */
  gatewayUrl: string;
}

/** Where the callback may send the browser afterwards: named places only, never a URL. */
export const OAUTH_RETURNS = ['console'] as const;
export type OAuthReturn = (typeof OAUTH_RETURNS)[number];

export const OAUTH_SCOPES = ['read:jira-work', 'write:jira-work', 'read:jira-user', 'offline_access'];
const STATE_TTL_MINUTES = 10;
/** Refresh this long before expiry, or at half the token's life when that is shorter. */
const REFRESH_AHEAD_MS = 5 * 60_000;


interface TokenAnswer {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
}

const hashState = (state: string) => createHash('sha256').update(state).digest('hex');

/**
 * Atlassian OAuth 2.0 (3LO). Refresh tokens rotate: each refresh returns a new one and reusing an old one
 * revokes everything. So a refresh runs under a row lock on the connection (one at a time per connection,
 * across every process), re-reads the tokens after taking the lock (someone may have refreshed already),
 * and commits the new tokens before anything uses them.
 */
export class JiraOAuth {
  constructor(
    private readonly orm: Orm,
    private readonly secrets: ConnectionSecrets,
    readonly config: OAuthConfig,
    private readonly timeoutMs: number,
  ) {}

  /** A single-use `state`, bound to the connection and expiring, inside Atlassian's authorization URL. */
  async initiate(connectionKey: string, returnTo: OAuthReturn | null = null): Promise<string> {
    const state = randomBytes(32).toString('base64url');
    await this.orm.em.fork().insert(OAuthState, { stateHash: hashState(state), connectionKey, expiresAt: new Date(Date.now() + STATE_TTL_MINUTES * 60_000), returnTo });
    const url = new URL('/authorize', this.config.authUrl);
    url.search = new URLSearchParams({
      audience: 'api.atlassian.com',
      client_id: this.config.clientId,
      scope: OAUTH_SCOPES.join(' '),
      redirect_uri: this.config.redirectUri,
      state,
      response_type: 'code',
      prompt: 'consent',
    }).toString();
    return url.toString();
  }

  /**
   * Uses the single-use state: the connection it was issued for and where the browser goes afterwards, or null
   * when it is unknown, used or expired. Taken apart from the exchange so that a failed exchange can still send
   * the browser back to where it came from.
   */
  async takeState(state: string): Promise<{ connectionKey: string; returnTo: OAuthReturn | null } | null> {
    // delete … returning: using the state and checking it are one statement, so it is used once even if presented twice at once
    const [row] = await this.orm.em
      .getConnection()
      .execute<Array<{ connection_key: string; return_to: OAuthReturn | null }>>('delete from oauth_state where state_hash = ? and expires_at > now() returning connection_key, return_to', [hashState(state)]);
    return row ? { connectionKey: row.connection_key, returnTo: row.return_to } : null;
  }

  /** Exchanges the code, picks the site (by the connection's domain when several), stores the sealed tokens. */
  async callback(code: string, state: string): Promise<{ connectionKey: string; cloudId: string; siteUrl: string }> {
    const taken = await this.takeState(state);
    if (!taken) throw malformed('query.state', 'unknown, used or expired state: start again with POST /api/v1/oauth/jira/initiate');
    return this.exchange(code, taken.connectionKey);
  }

  /** The second half of the callback, once the state named the connection. */
  async exchange(code: string, connectionKey: string): Promise<{ connectionKey: string; cloudId: string; siteUrl: string }> {
    const row = { connection_key: connectionKey };
    const tokens = await this.tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: this.config.redirectUri });
    const resources = await got
      .get(new URL('/oauth/token/accessible-resources', this.config.gatewayUrl), {
        headers: { authorization: `Bearer ${tokens.access_token}` },
        timeout: { request: this.timeoutMs },
        retry: { limit: 0 },
      })
      .json<Array<{ id: string; url: string; name: string }>>();
    const em = this.orm.em.fork();
    const c = await em.findOneOrFail(Connection, { key: row.connection_key });
    const all = this.secrets.read(c);
    const wanted = typeof all.domain === 'string' ? new URL(/^https?:/.test(all.domain) ? all.domain : `https://${all.domain}`).host : null;
    const site = wanted ? resources.find((r) => new URL(r.url).host === wanted) : resources.length === 1 ? resources[0] : undefined;
    if (!site) {
      throw conflict(
        wanted
          ? `the authorizing user cannot reach ${wanted}; sites available: ${resources.map((r) => r.url).join(', ') || 'none'}`
          : `the authorization covers ${resources.length} sites; set "domain" on the connection to choose one (${resources.map((r) => r.url).join(', ')})`,
        { state: 'site_not_chosen' },
      );
    }
    this.secrets.write(c, { ...all, ...this.tokenFields(tokens), auth_method: 'oauth2', cloud_id: site.id, site_url: site.url });
    await em.flush();
    return { connectionKey: c.key, cloudId: site.id, siteUrl: site.url };
  }

  /** A usable access token, refreshed first when it expires soon. */
  async accessToken(connectionKey: string): Promise<string> {
    const c = await this.orm.em.fork().findOneOrFail(Connection, { key: connectionKey });
    const all = this.secrets.read(c);
    if (typeof all.access_token === 'string' && Date.now() < Number(all.refresh_at ?? 0)) return all.access_token;
    return this.refresh(connectionKey);
  }

  /**
   * Refreshes the tokens unless someone else already did. `rejected` is the access token Jira refused (on a
   * 401): if the stored one differs, another caller has refreshed and that one is returned.
   */
  async refresh(connectionKey: string, rejected?: string): Promise<string> {
    return this.orm.em.fork().transactional(async (em) => {
      const c = await em.findOneOrFail(Connection, { key: connectionKey }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const all = this.secrets.read(c);
      const current = all.access_token as string | undefined;
      const fresh = current && (rejected ? current !== rejected : Date.now() < Number(all.refresh_at ?? 0));
      if (fresh) return current;
      if (typeof all.refresh_token !== 'string') throw conflict(`connection ${connectionKey} has no refresh token: authorize it again`, { state: 'not_authorized' });
      const tokens = await this.tokenRequest({ grant_type: 'refresh_token', refresh_token: all.refresh_token });
      this.secrets.write(c, { ...all, ...this.tokenFields(tokens, all.refresh_token) });
      await em.flush();
      return tokens.access_token;
    });
  }

  private tokenFields(t: TokenAnswer, previousRefresh?: string) {
    const lifetime = t.expires_in * 1000;
    const now = Date.now();
    return {
      access_token: t.access_token,
      refresh_token: t.refresh_token ?? previousRefresh,
      expires_at: now + lifetime,
      refresh_at: now + lifetime - Math.min(REFRESH_AHEAD_MS, lifetime / 2),
    };
  }

  private async tokenRequest(body: Record<string, string>): Promise<TokenAnswer> {
    const res = await got.post(new URL('/oauth/token', this.config.authUrl), {
      json: { ...body, client_id: this.config.clientId, client_secret: this.config.clientSecret },
      timeout: { request: this.timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      responseType: 'json',
    });
    if (res.statusCode !== 200) {
      const err = res.body as { error?: string; error_description?: string };
      throw upstream(`Atlassian's token endpoint answered ${res.statusCode}: ${err?.error ?? ''} ${err?.error_description ?? ''}`.trim());
    }
    return res.body as TokenAnswer;
  }
}
