import { createHash, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { Request } from 'express';

/**
 * The fake Jira's Data Center side, beyond REST v2's issues (server.ts): its OAuth 2.0 authorization server,
 * its OAuth 1.0a service provider, and its rate limiter. No OpenAPI description of Data Center is at hand, so
 * here is what the fake uses and the Atlassian page each comes from:
 *
 * - OAuth 2.0 provider ("Jira OAuth 2.0 provider API", confluence.atlassian.com/adminjiraserver/jira-oauth-2-0-provider-api-1115659070.html):
 *   GET /rest/oauth2/latest/authorize with client_id, redirect_uri, response_type=code, scope (READ, WRITE, ADMIN,
 *   SYSTEM_ADMIN), state, code_challenge and code_challenge_method=S256; POST /rest/oauth2/latest/token with
 *   grant_type authorization_code (code, redirect_uri, code_verifier) or refresh_token, and client_id and
 *   client_secret, as a form or query; answers access_token, refresh_token, expires_in, token_type. A refresh
 *   returns a new refresh token and retires the old one. The client id and secret come from an incoming
 *   application link ("Configure an incoming link", in the same administration docs).
 *   No revocation endpoint is documented, so the fake has none.
 * - OAuth 1.0a ("OAuth" under Security, developer.atlassian.com/server/jira/platform/oauth/, and RFC 5849):
 *   POST /plugins/servlet/oauth/request-token (oauth_callback), GET /plugins/servlet/oauth/authorize?oauth_token,
 *   which sends the browser to the callback with oauth_token and oauth_verifier, POST /plugins/servlet/oauth/access-token
 *   (oauth_verifier); answers are form encoded (oauth_token, oauth_token_secret), refusals `oauth_problem=…`. Every
 *   request is signed RSA-SHA1 with the consumer's private key; the application link's "incoming authentication"
 *   holds the consumer key and public key. The fake verifies signatures here with node:crypto, on its own reading
 *   of RFC 5849 §3.4.1 (not with the client's library).
 * - Webhooks ("Webhooks", developer.atlassian.com/server/jira/platform/webhooks/): POST/GET/DELETE
 *   /rest/webhooks/1.0/webhook[/{id}] with name, url, events, filters["issue-related-events-section"] (JQL),
 *   excludeBody and, from Jira 10, secret (deliveries then carry X-Hub-Signature: sha256=HMAC of the body);
 *   administrators only. The payload is the issue event Cloud sends too (webhookEvent, issue, changelog).
 * - Rate limiting ("Adjusting your code for rate limiting", developer.atlassian.com/server/jira/platform/adjusting-your-code-for-rate-limiting/):
 *   a token bucket per user; every answer carries X-RateLimit-Limit, X-RateLimit-Remaining,
 *   X-RateLimit-FillRate and X-RateLimit-Interval-Seconds, and an empty bucket answers 429 with Retry-After.
 * - REST v2 ("Jira Server platform REST API", docs.atlassian.com/software/jira/docs/api/REST/latest/): the same
 *   issue resources as Cloud's v3 under /rest/api/2, descriptions and comments in wiki markup (strings), users by
 *   `name` (not accountId), GET issue/createmeta/{project}/issuetypes[/{id}] paged as `values`,
 *   GET project/{key}/statuses, GET mypermissions?permissions=ADMINISTER, POST search with validateQuery.
 */

const random = () => randomBytes(18).toString('base64url');
const sha256url = (s: string) => createHash('sha256').update(s).digest('base64url');

export const DC_SCOPES = ['READ', 'WRITE', 'ADMIN', 'SYSTEM_ADMIN'];

/** Data Center's OAuth 2.0 authorization server: incoming links' clients, codes bound to a PKCE challenge, rotating refresh tokens. */
export function fakeDataCenterOAuth(ttlSeconds: number) {
  const clients = new Map<string, { secret: string; redirectUri: string; name: string }>();
  const codes = new Map<string, { clientId: string; redirectUri: string; challenge?: string; scope: string }>();
  const access = new Map<string, { expiresAt: number; clientId: string; scope: string }>();
  const refresh = new Map<string, { clientId: string; scope: string }>();
  const retired = new Set<string>();
  const stats = { authorizationCode: 0, refreshToken: 0, reusedRefreshTokens: 0, pkceFailures: 0 };
  const issue = (clientId: string, scope: string) => {
    const a = `dcat-${random()}`;
    const r = `dcrt-${random()}`;
    access.set(a, { expiresAt: Date.now() + ttlSeconds * 1000, clientId, scope });
    refresh.set(r, { clientId, scope });
    return { status: 200, body: { access_token: a, refresh_token: r, expires_in: ttlSeconds, token_type: 'bearer', scope, created_at: Math.floor(Date.now() / 1000) } };
  };
  const fail = (status: number, error: string, description: string) => ({ status, body: { error, error_description: description } });
  return {
    /** An administrator creates an incoming link: its redirect URL, and the client id and secret to give the integration. */
    addClient(name: string, redirectUri: string) {
      const id = `dc-client-${random()}`;
      const secret = `dc-secret-${random()}`;
      clients.set(id, { secret, redirectUri, name });
      return { client_id: id, client_secret: secret };
    },
    /** The user consents at once (the fake has no consent page); a bad request is answered as Jira does, on the page. */
    authorize(q: Record<string, string | undefined>): { redirect: string } | { status: number; text: string } {
      const client = clients.get(q.client_id ?? '');
      if (!client) return { status: 400, text: 'invalid client_id' };
      if (q.redirect_uri !== client.redirectUri) return { status: 400, text: 'redirect_uri does not match the incoming link' };
      if (q.response_type !== 'code') return { status: 400, text: 'unsupported response_type' };
      const scope = q.scope ?? 'READ';
      if (!DC_SCOPES.includes(scope)) return { status: 400, text: `invalid scope ${scope}` };
      if (q.code_challenge && q.code_challenge_method !== 'S256') return { status: 400, text: 'code_challenge_method must be S256' };
      const code = `dccode-${random()}`;
      codes.set(code, { clientId: q.client_id!, redirectUri: q.redirect_uri, challenge: q.code_challenge, scope });
      const url = new URL(q.redirect_uri);
      url.searchParams.set('code', code);
      if (q.state) url.searchParams.set('state', q.state);
      return { redirect: url.toString() };
    },
    token(p: Record<string, string | undefined>) {
      const client = clients.get(p.client_id ?? '');
      if (!client || client.secret !== p.client_secret) return fail(401, 'invalid_client', 'Client authentication failed');
      if (p.grant_type === 'authorization_code') {
        stats.authorizationCode += 1;
        const code = codes.get(p.code ?? '');
        codes.delete(p.code ?? '');
        if (!code || code.clientId !== p.client_id) return fail(400, 'invalid_grant', 'Invalid authorization code');
        if (code.redirectUri !== p.redirect_uri) return fail(400, 'invalid_grant', 'redirect_uri mismatch');
        if (code.challenge && sha256url(p.code_verifier ?? '') !== code.challenge) {
          stats.pkceFailures += 1;
          return fail(400, 'invalid_grant', 'PKCE verification failed');
        }
        return issue(code.clientId, code.scope);
      }
      if (p.grant_type === 'refresh_token') {
        stats.refreshToken += 1;
        const t = p.refresh_token ?? '';
        if (retired.has(t)) {
          stats.reusedRefreshTokens += 1;
          return fail(400, 'invalid_grant', 'Refresh token has been used');
        }
        const known = refresh.get(t);
        if (!known || known.clientId !== p.client_id) return fail(400, 'invalid_grant', 'Invalid refresh token');
        refresh.delete(t);
        retired.add(t);
        // Data Center retires the access tokens of the grant too.
        for (const [a, v] of access) if (v.clientId === known.clientId) access.delete(a);
        return issue(known.clientId, known.scope);
      }
      return fail(400, 'unsupported_grant_type', String(p.grant_type));
    },
    valid: (token: string) => (access.get(token)?.expiresAt ?? 0) > Date.now(),
    scopeOf: (token: string) => access.get(token)?.scope,
    expireAll() {
      for (const a of access.values()) a.expiresAt = 0;
    },
    stats: () => ({ ...stats, clients: clients.size, liveAccessTokens: [...access.values()].filter((a) => a.expiresAt > Date.now()).length }),
  };
}

/** RFC 5849 §3.6 percent-encoding: everything but unreserved characters. */
const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The parameters of an `Authorization: OAuth k="v", …` header (RFC 5849 §3.5.1), decoded. */
export function oauthHeaderParams(header: string | undefined): Record<string, string> | null {
  const m = /^OAuth\s+(.*)$/is.exec(header ?? '');
  if (!m) return null;
  const out: Record<string, string> = {};
  for (const part of m[1]!.matchAll(/([A-Za-z0-9_]+)\s*=\s*"([^"]*)"/g)) out[part[1]!] = decodeURIComponent(part[2]!);
  return out;
}

/**
 * The signature base string of RFC 5849 §3.4.1, from the request as the fake received it: the method, the base
 * string URI (scheme and host in lower case, a default port left out, no query), and every parameter (query,
 * form body, and the header's protocol parameters but realm and the signature), encoded, sorted by name then
 * value, joined with = and &.
 */
export function signatureBaseString(method: string, url: URL, headerParams: Record<string, string>, formBody?: Record<string, string>): string {
  const port = url.port && !((url.protocol === 'http:' && url.port === '80') || (url.protocol === 'https:' && url.port === '443')) ? `:${url.port}` : '';
  const baseUri = `${url.protocol.toLowerCase()}//${url.hostname.toLowerCase()}${port}${url.pathname}`;
  const pairs: Array<[string, string]> = [...url.searchParams.entries()];
  for (const [k, v] of Object.entries(formBody ?? {})) pairs.push([k, v]);
  for (const [k, v] of Object.entries(headerParams)) if (k !== 'realm' && k !== 'oauth_signature') pairs.push([k, v]);
  const normalized = pairs
    .map(([k, v]) => [enc(k), enc(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return `${method.toUpperCase()}&${enc(baseUri)}&${enc(normalized)}`;
}

/** Jira's OAuth 1.0a service provider: application links (consumer key → public key), request and access tokens, signature checks. */
export function fakeOAuth1() {
  const consumers = new Map<string, KeyObject>();
  const requestTokens = new Map<string, { consumerKey: string; callback: string; verifier?: string }>();
  const accessTokens = new Map<string, { consumerKey: string }>();
  const nonces = new Set<string>();
  const stats = { requestTokens: 0, accessTokens: 0, signedCalls: 0, refused: 0 };
  type Checked = { ok: true; params: Record<string, string> } | { ok: false; problem: string };

  /** Checks a signed request: a known consumer, a fresh timestamp and nonce, the token the step needs, a valid RSA-SHA1 signature. */
  function check(req: Request, token: 'none' | 'request' | 'access'): Checked {
    const params = oauthHeaderParams(req.get('authorization'));
    const refuse = (problem: string): Checked => {
      stats.refused += 1;
      return { ok: false, problem };
    };
    if (!params) return refuse('parameter_absent');
    const key = consumers.get(params.oauth_consumer_key ?? '');
    if (!key) return refuse('consumer_key_unknown');
    if (params.oauth_signature_method !== 'RSA-SHA1') return refuse('signature_method_rejected');
    const ts = Number(params.oauth_timestamp);
    if (!Number.isFinite(ts) || Math.abs(Date.now() / 1000 - ts) > 600) return refuse('timestamp_refused');
    const nonce = `${params.oauth_consumer_key}:${params.oauth_timestamp}:${params.oauth_nonce}`;
    if (!params.oauth_nonce || nonces.has(nonce)) return refuse('nonce_used');
    if (token === 'request' && !requestTokens.has(params.oauth_token ?? '')) return refuse('token_rejected');
    if (token === 'access' && accessTokens.get(params.oauth_token ?? '')?.consumerKey !== params.oauth_consumer_key) return refuse('token_rejected');
    const url = new URL(`${req.protocol}://${req.get('host')}${req.originalUrl}`);
    const form = req.is('application/x-www-form-urlencoded') && req.body && typeof req.body === 'object' ? (req.body as Record<string, string>) : undefined;
    const base = signatureBaseString(req.method, url, params, form);
    const good = verify('RSA-SHA1', Buffer.from(base), key, Buffer.from(params.oauth_signature ?? '', 'base64'));
    if (!good) return refuse('signature_invalid');
    nonces.add(nonce);
    if (nonces.size > 100_000) nonces.clear();
    return { ok: true, params };
  }

  return {
    /** An administrator's application link, incoming authentication: consumer key and the public key pasted. */
    addConsumer(consumerKey: string, publicKeyPem: string) {
      consumers.set(consumerKey, createPublicKey(publicKeyPem));
    },
    requestToken(req: Request): { status: number; body: string } {
      const c = check(req, 'none');
      if (!c.ok) return { status: 401, body: `oauth_problem=${c.problem}` };
      if (!c.params.oauth_callback) return { status: 400, body: 'oauth_problem=parameter_absent&oauth_parameters_absent=oauth_callback' };
      const token = `rt1-${random()}`;
      requestTokens.set(token, { consumerKey: c.params.oauth_consumer_key!, callback: c.params.oauth_callback });
      stats.requestTokens += 1;
      return { status: 200, body: `oauth_token=${enc(token)}&oauth_token_secret=${enc(random())}&oauth_callback_confirmed=true` };
    },
    /** The user approves at once (the fake has no approval page): back to the callback with the verifier. */
    authorize(token: string): { redirect: string } | { status: number; text: string } {
      const t = requestTokens.get(token);
      if (!t) return { status: 400, text: 'The request token is unknown or has expired.' };
      t.verifier = `v-${random()}`;
      const url = new URL(t.callback);
      url.searchParams.set('oauth_token', token);
      url.searchParams.set('oauth_verifier', t.verifier);
      return { redirect: url.toString() };
    },
    accessToken(req: Request): { status: number; body: string } {
      const c = check(req, 'request');
      if (!c.ok) return { status: 401, body: `oauth_problem=${c.problem}` };
      const rt = requestTokens.get(c.params.oauth_token!)!;
      if (!rt.verifier || rt.verifier !== c.params.oauth_verifier) return { status: 401, body: 'oauth_problem=verifier_invalid' };
      requestTokens.delete(c.params.oauth_token!);
      const token = `at1-${random()}`;
      accessTokens.set(token, { consumerKey: rt.consumerKey });
      stats.accessTokens += 1;
      return { status: 200, body: `oauth_token=${enc(token)}&oauth_token_secret=${enc(random())}&oauth_expires_in=157680000` };
    },
    /** A REST call signed with an access token: null when it is good, else Jira's oauth_problem. */
    apiCall(req: Request): string | null {
      const c = check(req, 'access');
      if (!c.ok) return c.problem;
      stats.signedCalls += 1;
      return null;
    },
    stats: () => ({ ...stats, consumers: consumers.size, liveAccessTokens: accessTokens.size }),
  };
}

/** Data Center's rate limiter: a token bucket per user (here, per fake), off until an administrator sets it. */
export class DataCenterBucket {
  settings: { limit: number; fillRate: number; intervalSeconds: number } | null = null;
  private tokens = 0;
  private lastFill = Date.now();

  set(s: { limit: number; fillRate: number; intervalSeconds: number } | null): void {
    this.settings = s;
    this.tokens = s?.limit ?? 0;
    this.lastFill = Date.now();
  }

  /** Takes a token; the headers every answer carries, and whether the call is refused (with Retry-After). */
  take(): { headers: Record<string, string>; retryAfterSeconds?: number } | null {
    const s = this.settings;
    if (!s) return null;
    const now = Date.now();
    const intervals = Math.floor((now - this.lastFill) / (s.intervalSeconds * 1000));
    if (intervals > 0) {
      this.tokens = Math.min(s.limit, this.tokens + intervals * s.fillRate);
      this.lastFill += intervals * s.intervalSeconds * 1000;
    }
    const refused = this.tokens < 1;
    if (!refused) this.tokens -= 1;
    const headers = {
      'X-RateLimit-Limit': String(s.limit),
      'X-RateLimit-Remaining': String(Math.max(0, this.tokens)),
      'X-RateLimit-FillRate': String(s.fillRate),
      'X-RateLimit-Interval-Seconds': String(s.intervalSeconds),
    };
    if (!refused) return { headers };
    const retryAfterSeconds = Math.max(1, Math.ceil((this.lastFill + s.intervalSeconds * 1000 - now) / 1000));
    return { headers: { ...headers, 'Retry-After': String(retryAfterSeconds) }, retryAfterSeconds };
  }
}
