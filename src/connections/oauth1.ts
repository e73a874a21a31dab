import { createPrivateKey, createPublicKey, createSign, generateKeyPairSync } from 'node:crypto';
import got from 'got';
import OAuth from 'oauth-1.0a';
import { upstream } from '../platform/errors.js';

/**
 * OAuth 1.0a with RSA-SHA1, as Jira Server and Data Center application links speak it (RFC 5849). The
 * signature base string and the Authorization header come from the `oauth-1.0a` library (checked against the
 * RFC's examples in test/oauth1.test.ts); the RSA-SHA1 signature itself (RFC 5849 §3.4.3) is node:crypto's.
 * Jira's endpoints: /plugins/servlet/oauth/request-token, /authorize and /access-token.
 */

export const OAUTH1_PATHS = {
  requestToken: '/plugins/servlet/oauth/request-token',
  authorize: '/plugins/servlet/oauth/authorize',
  accessToken: '/plugins/servlet/oauth/access-token',
} as const;

export interface OAuth1Credentials {
  consumerKey: string;
  /** PEM, PKCS#1 or PKCS#8 */
  privateKey: string;
  /** the request token (during the dance) or the access token */
  token?: { key: string; secret: string };
}

/** A 2048-bit RSA key pair: the private key stays sealed here, the public one is pasted into Jira's application link. */
export function generateOAuth1KeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKey, publicKey };
}

/** The public key of a private key, as Jira's "Incoming Authentication" form wants it (PEM, SubjectPublicKeyInfo). */
export function publicKeyOf(privateKeyPem: string): string {
  return createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
}

function signer(creds: OAuth1Credentials): OAuth {
  const key = createPrivateKey(creds.privateKey);
  return new OAuth({
    consumer: { key: creds.consumerKey, secret: '' },
    signature_method: 'RSA-SHA1',
    // RSA-SHA1 signs the base string with the consumer's private key; the HMAC key the library passes is unused.
    hash_function: (base) => createSign('RSA-SHA1').update(base).sign(key, 'base64'),
  });
}

/**
 * The Authorization header of one request. `extra` are OAuth protocol parameters that are signed and sent in
 * the header too (oauth_callback for a request token, oauth_verifier for an access token).
 */
export function oauth1Header(creds: OAuth1Credentials, method: string, url: string, extra: Record<string, string> = {}): string {
  const oauth = signer(creds);
  const signed = oauth.authorize({ url, method, data: { ...extra } }, creds.token);
  return oauth.toHeader({ ...signed, ...extra } as OAuth.Authorization).Authorization;
}

/** A form-encoded token answer (oauth_token=…&oauth_token_secret=…), or Jira's refusal in words. */
async function tokenCall(url: string, header: string, timeoutMs: number, what: string): Promise<{ key: string; secret: string; params: URLSearchParams }> {
  const res = await got.post(url, { headers: { authorization: header }, timeout: { request: timeoutMs }, retry: { limit: 0 }, throwHttpErrors: false });
  const params = new URLSearchParams(res.body);
  const key = params.get('oauth_token');
  if (res.statusCode !== 200 || !key) {
    // Jira says why in oauth_problem (e.g. consumer_key_unknown, signature_invalid, token_rejected).
    const problem = params.get('oauth_problem') ?? res.body.slice(0, 200);
    throw upstream(`Jira's OAuth 1.0a ${what} endpoint answered ${res.statusCode}: ${problem}. Check that the application link's incoming authentication has consumer key and public key as GET /api/v1/connection/{key} shows them.`, {
      oauth_problem: params.get('oauth_problem') ?? undefined,
    });
  }
  return { key, secret: params.get('oauth_token_secret') ?? '', params };
}

/** Step 1: a request token, bound to the callback Jira sends the browser back to. */
export async function requestToken(site: string, creds: OAuth1Credentials, callbackUrl: string, timeoutMs: number) {
  const url = `${site}${OAUTH1_PATHS.requestToken}`;
  const t = await tokenCall(url, oauth1Header(creds, 'POST', url, { oauth_callback: callbackUrl }), timeoutMs, 'request-token');
  return { token: t.key, secret: t.secret, authorizeUrl: `${site}${OAUTH1_PATHS.authorize}?oauth_token=${encodeURIComponent(t.key)}` };
}

/** Step 3: the access token for the request token the user authorized, with the verifier the callback carried. */
export async function accessToken(site: string, creds: OAuth1Credentials & { token: { key: string; secret: string } }, verifier: string, timeoutMs: number) {
  const url = `${site}${OAUTH1_PATHS.accessToken}`;
  const t = await tokenCall(url, oauth1Header(creds, 'POST', url, { oauth_verifier: verifier }), timeoutMs, 'access-token');
  return { token: t.key, secret: t.secret };
}
