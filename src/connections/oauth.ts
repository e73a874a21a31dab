import { createHash, randomBytes } from 'node:crypto';
import got from 'got';
import { LockMode } from '@mikro-orm/core';
import type { Orm } from '../platform/db/orm.js';
import { Connection, OAuthState } from '../platform/db/entities.js';
import type { SealedBox } from '../platform/keyring.js';
import type { ConnectionSecrets } from './secrets.js';
import { normaliseBaseUrl } from '../jira/client.js';
import { conflict, malformed, upstream } from '../platform/errors.js';
import { accessToken as oauth1AccessToken, requestToken as oauth1RequestToken } from './oauth1.js';

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

/** A pending authorization, used: the connection it was for, what it kept, and where the browser goes next. */
export interface Claimed {
  connectionKey: string;
  pending: Pending;
  returnTo: OAuthReturn | null;
}

export const OAUTH_SCOPES = ['read:jira-work', 'write:jira-work', 'read:jira-user', 'offline_access'];
/**
 * Data Center's scopes are levels (READ < WRITE < ADMIN < SYSTEM_ADMIN); creating and moving issues needs
 * WRITE. Its incoming links cannot manage webhooks (that needs ADMIN, which ticketflow does not ask for), so
 * DC OAuth 2.0 connections use a manual admin webhook.
 */
export const DC_OAUTH_SCOPE = 'WRITE';
export const DC_OAUTH_PATHS = { authorize: '/rest/oauth2/latest/authorize', token: '/rest/oauth2/latest/token' } as const;
const STATE_TTL_MINUTES = 10;
/** Refresh this long before expiry, or at half the token's life when that is shorter. */
const REFRESH_AHEAD_MS = 5 * 60_000;

interface TokenAnswer {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
}

/** Where a connection's OAuth 2.0 tokens come from: Atlassian's authorization server, or the Data Center site itself. */
interface TokenServer {
  url: string;
  clientId: string;
  clientSecret: string;
  /** Atlassian's endpoint takes JSON; Data Center's takes the form encoding of RFC 6749 */
  encoding: 'json' | 'form';
  name: string;
}

/** What a pending authorization keeps, sealed, besides its state. */
type Pending = { kind: 'oauth2' } | { kind: 'dc_oauth2'; verifier: string; redirectUri: string } | { kind: 'oauth1'; token: string; tokenSecret: string };

export interface Authorized {
  connectionKey: string;
  authMethod: 'oauth2' | 'dc_oauth2' | 'oauth1';
  siteUrl: string;
  cloudId?: string;
}

const hashState = (state: string) => createHash('sha256').update(state).digest('hex');
const base64url = (b: Buffer) => b.toString('base64url');

/**
 * The browser authorizations, each through the same initiate and callback endpoints:
 * - Jira Cloud, OAuth 2.0 (3LO) with the process's app (JIRA_OAUTH_*), through auth.atlassian.com;
 * - Jira Data Center, OAuth 2.0 with PKCE through an incoming application link, with the connection's own
 *   client id and secret, against the site's /rest/oauth2/latest/authorize and /token;
 * - Jira Server / Data Center, OAuth 1.0a (RSA-SHA1) through an application link: request token, the user's
 *   authorization, access token; its callback carries oauth_token and oauth_verifier instead of code and state.
 *
 * OAuth 2.0 refresh tokens rotate on both Cloud and Data Center: each refresh returns a new one and the old one
 * is retired (Atlassian revokes everything when one is reused). So a refresh runs under a row lock on the
 * connection (one at a time per connection, across every process), re-reads the tokens after taking the lock
 * (someone may have refreshed already), and commits the new tokens before anything uses them. OAuth 1.0a
 * access tokens do not expire that way (Jira keeps them for years) and have no refresh.
 */
export class JiraOAuth {
  constructor(
    private readonly orm: Orm,
    private readonly secrets: ConnectionSecrets,
    /** Jira Cloud's OAuth 2.0 app; absent when JIRA_OAUTH_* is not set */
    readonly cloud: OAuthConfig | undefined,
    private readonly timeoutMs: number,
    /** where Data Center authorizations send the browser back when the connection names no redirect_uri */
    private readonly defaultCallbackUrl?: string,
  ) {}

  private requireCloud(): OAuthConfig {
    if (!this.cloud) throw conflict('OAuth is not configured: set JIRA_OAUTH_CLIENT_ID, JIRA_OAUTH_CLIENT_SECRET and JIRA_OAUTH_REDIRECT_URI', { state: 'oauth_not_configured' });
    return this.cloud;
  }

  private callbackUrl(all: Record<string, unknown>): string {
    const url = (all.redirect_uri as string | undefined) ?? this.cloud?.redirectUri ?? this.defaultCallbackUrl;
    if (!url) {
      throw conflict('no callback URL for the authorization: set "redirect_uri" on the connection (the application link\'s redirect URL, https://<ticketflow>/api/v1/oauth/jira/callback), or JIRA_OAUTH_REDIRECT_URI or WEBHOOK_BASE_URL', {
        state: 'no_redirect_uri',
      });
    }
    return url;
  }

  private siteOf(all: Record<string, unknown>, connectionKey: string): string {
    if (typeof all.domain !== 'string') throw conflict(`connection ${connectionKey} has no domain: set it with PUT /api/v1/connection/${connectionKey}/secret first`, { state: 'not_configured', missing: ['domain'] });
    return normaliseBaseUrl(all.domain);
  }

  private async pend(connectionKey: string, state: string, pending: Pending, returnTo: OAuthReturn | null): Promise<void> {
    const secret = pending.kind === 'oauth2' ? null : this.secrets.keyring.seal(pending, connectionKey);
    await this.orm.em.fork().insert(OAuthState, { stateHash: hashState(state), connectionKey, expiresAt: new Date(Date.now() + STATE_TTL_MINUTES * 60_000), secret, returnTo });
  }

  /** Uses a pending authorization once: using it and checking it are one statement, so it is used once even if presented twice at once. */
  private async claimKey(stateKey: string, field: string): Promise<Claimed> {
    const [row] = await this.orm.em
      .getConnection()
      .execute<Array<{ connection_key: string; secret: SealedBox | null; return_to: OAuthReturn | null }>>(
        'delete from oauth_state where state_hash = ? and expires_at > now() returning connection_key, secret, return_to',
        [hashState(stateKey)],
      );
    if (!row) throw malformed(field, `unknown, used or expired ${field.replace('query.', '')}: start again with POST /api/v1/oauth/jira/initiate`);
    const pending = row.secret ? this.secrets.keyring.open<Pending>(row.secret, row.connection_key) : ({ kind: 'oauth2' } as const);
    return { connectionKey: row.connection_key, pending, returnTo: row.return_to };
  }

  /**
   * The first half of a callback: uses the pending authorization the callback names (OAuth 2.0's state, or
   * OAuth 1.0a's request token). Apart from `complete` so that a failed completion can still send the browser
   * back to where it came from.
   */
  claim(q: { state?: string; oauth_token?: string }): Promise<Claimed> {
    return q.oauth_token ? this.claimKey(`oauth1:${q.oauth_token}`, 'query.oauth_token') : this.claimKey(q.state ?? '', 'query.state');
  }

  /** The second half: exchanges what came back (a code, or OAuth 1.0a's verifier) for tokens and stores them sealed. */
  async complete(claimed: Claimed, q: { code?: string; oauth_verifier?: string; error?: string; error_description?: string }): Promise<Authorized> {
    const { connectionKey, pending } = claimed;
    if (pending.kind === 'oauth1') {
      if (!q.oauth_verifier) throw malformed('query.oauth_verifier', 'Jira did not authorize the request token: start again');
      return this.completeOAuth1(connectionKey, q.oauth_verifier, pending);
    }
    if (!q.code) throw malformed('query.code', `Jira did not authorize the app: ${[q.error ?? 'no code', q.error_description].filter(Boolean).join(': ')}; start again`);
    if (pending.kind === 'dc_oauth2') return this.completeDataCenter(connectionKey, q.code, pending);
    return this.completeCloud(connectionKey, q.code);
  }

  /** The URL to send the user to, for the connection's auth method; what comes back is bound to the connection, single-use and expiring. */
  async initiate(connectionKey: string, returnTo: OAuthReturn | null = null): Promise<string> {
    const c = await this.orm.em.fork().findOneOrFail(Connection, { key: connectionKey });
    const all = this.secrets.read(c);
    if (all.auth_method === 'dc_oauth2') return this.initiateDataCenter(connectionKey, all, returnTo);
    if (all.auth_method === 'oauth1') return this.initiateOAuth1(connectionKey, all, returnTo);
    const cloud = this.requireCloud();
    const state = randomBytes(32).toString('base64url');
    await this.pend(connectionKey, state, { kind: 'oauth2' }, returnTo);
    const url = new URL('/authorize', cloud.authUrl);
    url.search = new URLSearchParams({
      audience: 'api.atlassian.com',
      client_id: cloud.clientId,
      scope: OAUTH_SCOPES.join(' '),
      redirect_uri: cloud.redirectUri,
      state,
      response_type: 'code',
      prompt: 'consent',
    }).toString();
    return url.toString();
  }

  private async initiateDataCenter(connectionKey: string, all: Record<string, unknown>, returnTo: OAuthReturn | null): Promise<string> {
    const site = this.siteOf(all, connectionKey);
    const missing = ['oauth_client_id', 'oauth_client_secret'].filter((k) => typeof all[k] !== 'string');
    if (missing.length) {
      throw conflict(`connection ${connectionKey} needs the incoming application link's ${missing.join(' and ')} (PUT /api/v1/connection/${connectionKey}/secret)`, { state: 'not_configured', missing });
    }
    const redirectUri = this.callbackUrl(all);
    const state = randomBytes(32).toString('base64url');
    // PKCE (RFC 7636, S256): the verifier stays here, sealed with the state; only its hash travels.
    const verifier = base64url(randomBytes(48));
    await this.pend(connectionKey, state, { kind: 'dc_oauth2', verifier, redirectUri }, returnTo);
    const url = new URL(`${site}${DC_OAUTH_PATHS.authorize}`);
    url.search = new URLSearchParams({
      client_id: all.oauth_client_id as string,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: DC_OAUTH_SCOPE,
      state,
      code_challenge: base64url(createHash('sha256').update(verifier).digest()),
      code_challenge_method: 'S256',
    }).toString();
    return url.toString();
  }

  private async initiateOAuth1(connectionKey: string, all: Record<string, unknown>, returnTo: OAuthReturn | null): Promise<string> {
    const site = this.siteOf(all, connectionKey);
    const creds = this.oauth1Credentials(connectionKey, all);
    const rt = await oauth1RequestToken(site, creds, this.callbackUrl(all), this.timeoutMs);
    // The callback names the request token, not a state: the pending row is found by its hash.
    await this.pend(connectionKey, `oauth1:${rt.token}`, { kind: 'oauth1', token: rt.token, tokenSecret: rt.secret }, returnTo);
    return rt.authorizeUrl;
  }

  oauth1Credentials(connectionKey: string, all: Record<string, unknown>) {
    if (typeof all.oauth1_consumer_key !== 'string' || typeof all.oauth1_private_key !== 'string') {
      throw conflict(`connection ${connectionKey} needs oauth1_consumer_key and a key pair (oauth1_private_key, or "oauth1_generate_key": true)`, {
        state: 'not_configured',
        missing: ['oauth1_consumer_key', 'oauth1_private_key'].filter((k) => typeof all[k] !== 'string'),
      });
    }
    return { consumerKey: all.oauth1_consumer_key, privateKey: all.oauth1_private_key };
  }

  /** Jira Cloud: the code for tokens, then the site (by the connection's domain when the grant covers several). */
  private async completeCloud(connectionKey: string, code: string): Promise<Authorized> {
    const cloud = this.requireCloud();
    const tokens = await this.tokenRequest(this.cloudServer(cloud), { grant_type: 'authorization_code', code, redirect_uri: cloud.redirectUri });
    const resources = await got
      .get(new URL('/oauth/token/accessible-resources', cloud.gatewayUrl), {
        headers: { authorization: `Bearer ${tokens.access_token}` },
        timeout: { request: this.timeoutMs },
        retry: { limit: 0 },
      })
      .json<Array<{ id: string; url: string; name: string }>>();
    const em = this.orm.em.fork();
    const c = await em.findOneOrFail(Connection, { key: connectionKey });
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
    return { connectionKey: c.key, authMethod: 'oauth2', cloudId: site.id, siteUrl: site.url };
  }

  private async completeDataCenter(connectionKey: string, code: string, pending: Extract<Pending, { kind: 'dc_oauth2' }>): Promise<Authorized> {
    const em = this.orm.em.fork();
    const c = await em.findOneOrFail(Connection, { key: connectionKey });
    const all = this.secrets.read(c);
    const server = this.dataCenterServer(connectionKey, all);
    const tokens = await this.tokenRequest(server, { grant_type: 'authorization_code', code, redirect_uri: pending.redirectUri, code_verifier: pending.verifier });
    const siteUrl = this.siteOf(all, connectionKey);
    this.secrets.write(c, { ...all, ...this.tokenFields(tokens), auth_method: 'dc_oauth2', site_url: siteUrl });
    await em.flush();
    return { connectionKey, authMethod: 'dc_oauth2', siteUrl };
  }

  /** OAuth 1.0a: the request token the user authorized, and the verifier that proves it, for an access token. */
  private async completeOAuth1(connectionKey: string, verifier: string, pending: Extract<Pending, { kind: 'oauth1' }>): Promise<Authorized> {
    const em = this.orm.em.fork();
    const c = await em.findOneOrFail(Connection, { key: connectionKey });
    const all = this.secrets.read(c);
    const site = this.siteOf(all, connectionKey);
    const creds = { ...this.oauth1Credentials(connectionKey, all), token: { key: pending.token, secret: pending.tokenSecret } };
    const at = await oauth1AccessToken(site, creds, verifier, this.timeoutMs);
    this.secrets.write(c, { ...all, auth_method: 'oauth1', oauth1_access_token: at.token, oauth1_token_secret: at.secret, site_url: site, authorized_at: new Date().toISOString() });
    await em.flush();
    return { connectionKey, authMethod: 'oauth1', siteUrl: site };
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
      const tokens = await this.tokenRequest(this.serverFor(connectionKey, all), { grant_type: 'refresh_token', refresh_token: all.refresh_token });
      this.secrets.write(c, { ...all, ...this.tokenFields(tokens, all.refresh_token) });
      await em.flush();
      return tokens.access_token;
    });
  }

  /**
   * Withdraws the connection's OAuth 2.0 grant where the server offers a revocation endpoint (RFC 7009):
   * Atlassian's authorization server does (auth.atlassian.com/oauth/revoke, advertised in its metadata).
   * Data Center documents none, and OAuth 1.0a has no such call: there the user revokes the grant in Jira
   * (profile → Authorized applications) or an administrator removes the application link.
   */
  async revoke(all: Record<string, unknown>): Promise<'revoked' | 'not_offered' | 'nothing_to_revoke' | 'failed'> {
    if (all.auth_method !== 'oauth2') return 'not_offered';
    const token = (all.refresh_token ?? all.access_token) as string | undefined;
    if (!token || !this.cloud) return 'nothing_to_revoke';
    const res = await got
      .post(new URL('/oauth/revoke', this.cloud.authUrl), {
        form: { token, token_type_hint: all.refresh_token ? 'refresh_token' : 'access_token', client_id: this.cloud.clientId, client_secret: this.cloud.clientSecret },
        timeout: { request: this.timeoutMs },
        retry: { limit: 0 },
        throwHttpErrors: false,
      })
      .catch(() => null);
    return res && res.statusCode < 300 ? 'revoked' : 'failed';
  }

  private cloudServer(cloud: OAuthConfig): TokenServer {
    return { url: new URL('/oauth/token', cloud.authUrl).toString(), clientId: cloud.clientId, clientSecret: cloud.clientSecret, encoding: 'json', name: "Atlassian's token endpoint" };
  }

  private dataCenterServer(connectionKey: string, all: Record<string, unknown>): TokenServer {
    const site = this.siteOf(all, connectionKey);
    if (typeof all.oauth_client_id !== 'string' || typeof all.oauth_client_secret !== 'string') {
      throw conflict(`connection ${connectionKey} has lost its oauth_client_id or oauth_client_secret: set them again`, { state: 'not_configured' });
    }
    return { url: `${site}${DC_OAUTH_PATHS.token}`, clientId: all.oauth_client_id, clientSecret: all.oauth_client_secret, encoding: 'form', name: "Jira's token endpoint" };
  }

  private serverFor(connectionKey: string, all: Record<string, unknown>): TokenServer {
    return all.auth_method === 'dc_oauth2' ? this.dataCenterServer(connectionKey, all) : this.cloudServer(this.requireCloud());
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

  private async tokenRequest(server: TokenServer, body: Record<string, string>): Promise<TokenAnswer> {
    const params = { ...body, client_id: server.clientId, client_secret: server.clientSecret };
    const res = await got.post(server.url, {
      ...(server.encoding === 'json' ? { json: params } : { form: params }),
      timeout: { request: this.timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      responseType: 'json',
    });
    if (res.statusCode !== 200) {
      const err = res.body as { error?: string; error_description?: string };
      throw upstream(`${server.name} answered ${res.statusCode}: ${err?.error ?? ''} ${err?.error_description ?? ''}`.trim());
    }
    return res.body as TokenAnswer;
  }
}
