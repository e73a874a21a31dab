import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createSign, createVerify } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import { generateOAuth1KeyPair, oauth1Header } from '../src/connections/oauth1.js';
import { oauthHeaderParams, signatureBaseString } from '../tools/fake-jira/datacenter.js';
import { normaliseBaseUrl } from '../src/jira/client.js';
import { parseRateLimitHeaders, rateLimitEnd } from '../src/jira/rate-limit-headers.js';

/**
 * OAuth 1.0a as RFC 5849 specifies it, checked on the RFC's own examples: the library ticketflow signs with
 * (oauth-1.0a) and, separately, the fake Jira's own reading of §3.4.1 must both produce the RFC's base string
 * and signature. RSA-SHA1 (§3.4.3) then signs that base string: signed by one, verified by the other.
 */

const hmac = (base: string, key: string) => createHmac('sha1', key).update(base).digest('base64');

test('RFC 5849 §1.2: the photos example signs to MdpQcU8iPSUjWoN/UDMsK2sui9I= (HMAC-SHA1)', () => {
  const oauth = new OAuth({ consumer: { key: 'dpf43f3p2l4k3l03', secret: 'kd94hf93k423kf44' }, signature_method: 'HMAC-SHA1', hash_function: hmac });
  // The RFC's request carries no oauth_version, which the library would add to its own: its parameters are given as they are.
  const data = { oauth_consumer_key: 'dpf43f3p2l4k3l03', oauth_token: 'nnch734d00sl2jdk', oauth_signature_method: 'HMAC-SHA1', oauth_timestamp: '137131202', oauth_nonce: 'chapoH' };
  const request = { url: 'http://photos.example.net/photos?file=vacation.jpg&size=original', method: 'GET' };
  // (copies: the library merges the request's parameters into the object it is given)
  assert.equal(oauth.getSignature(request, 'pfkkdhi9sl3r4s00', { ...data } as never), 'MdpQcU8iPSUjWoN/UDMsK2sui9I=');
  const fakes = signatureBaseString('GET', new URL(request.url), data);
  assert.equal(hmac(fakes, 'kd94hf93k423kf44&pfkkdhi9sl3r4s00'), 'MdpQcU8iPSUjWoN/UDMsK2sui9I=', "the fake's base string signs the same");
});

test('RFC 5849 §3.4.1.1: the signature base string of the example request', () => {
  const expected =
    'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7';
  const oauthParams = { oauth_consumer_key: '9djdj82h48djs9d2', oauth_token: 'kkk9d7dh3k39sjv7', oauth_signature_method: 'HMAC-SHA1', oauth_timestamp: '137131201', oauth_nonce: '7d8f3e4a' };
  // The request: POST /request?b5=%3D%253D&a3=a&c%40=&a2=r%20b with the form body c2&a3=2+q (decoded values here).
  const oauth = new OAuth({ consumer: { key: '9djdj82h48djs9d2', secret: 'j49sk3j29djd' }, signature_method: 'HMAC-SHA1', hash_function: hmac });
  const lib = oauth.getBaseString({ url: 'http://example.com/request', method: 'POST', data: { b5: '=%3D', a3: ['a', '2 q'], 'c@': '', a2: 'r b', c2: '' } }, { ...oauthParams } as never);
  assert.equal(lib, expected);
  const url = new URL('http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b');
  const fakes = signatureBaseString('POST', url, { ...oauthParams, realm: 'Example', oauth_signature: 'ignored' }, { c2: '', a3: '2 q' });
  assert.equal(fakes, expected, 'realm and oauth_signature are left out');
  // A default port is left out, the scheme and host lower-cased (§3.4.1.2).
  assert.match(signatureBaseString('GET', new URL('HTTP://EXAMPLE.COM:80/r?b=1'), {}), /^GET&http%3A%2F%2Fexample.com%2Fr&b%3D1$/);
});

test("RSA-SHA1: ticketflow's header verifies with the public key against the fake's base string, and fails with another key", () => {
  const { privateKey, publicKey } = generateOAuth1KeyPair();
  const url = 'http://127.0.0.1:8089/rest/api/2/issue/PRIV-1?fields=status%2Cresolution&expand=x%20y';
  const header = oauth1Header({ consumerKey: 'ticketflow', privateKey, token: { key: 'at-1', secret: '' } }, 'GET', url);
  const params = oauthHeaderParams(header)!;
  assert.equal(params.oauth_signature_method, 'RSA-SHA1');
  assert.equal(params.oauth_token, 'at-1');
  const base = signatureBaseString('GET', new URL(url), params);
  assert.ok(createVerify('RSA-SHA1').update(base).verify(publicKey, params.oauth_signature!, 'base64'));
  const other = generateOAuth1KeyPair();
  assert.ok(!createVerify('RSA-SHA1').update(base).verify(other.publicKey, params.oauth_signature!, 'base64'));
  // and the signature is RSASSA-PKCS1-v1_5 over SHA-1 of that base string (RFC 5849 §3.4.3)
  assert.equal(createSign('RSA-SHA1').update(base).sign(privateKey, 'base64'), params.oauth_signature);
});

test('legacy base URLs are cut back to the site; a context path stays', () => {
  assert.equal(normaliseBaseUrl('https://jira.example.com/rest/api/2/'), 'https://jira.example.com');
  assert.equal(normaliseBaseUrl('https://jira.example.com/jira/rest/api/2'), 'https://jira.example.com/jira');
  assert.equal(normaliseBaseUrl('https://jira.example.com/jira/secure/Dashboard.jspa'), 'https://jira.example.com/jira');
  assert.equal(normaliseBaseUrl('https://jira.example.com/secure/Dashboard.jspa?x=1#y'), 'https://jira.example.com');
  assert.equal(normaliseBaseUrl('https://jira.example.com/jira/browse/PRIV-12'), 'https://jira.example.com/jira');
  assert.equal(normaliseBaseUrl('jira.example.com/jira/'), 'https://jira.example.com/jira');
  assert.equal(normaliseBaseUrl('https://acme.atlassian.net/jira/software/projects/PRIV/boards/1'), 'https://acme.atlassian.net', 'Cloud sites have no context path');
  assert.equal(normaliseBaseUrl('https://acme.atlassian.net/rest/api/3/'), 'https://acme.atlassian.net');
  assert.equal(normaliseBaseUrl('http://127.0.0.1:8089/wiki'), 'http://127.0.0.1:8089/wiki', 'anything else is a context path');
});

test("Data Center's rate-limit headers: the bucket read, near its limit, and an empty one's wait", () => {
  const now = Date.parse('2026-12-01T10:00:00Z');
  const full = parseRateLimitHeaders({ 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '55', 'x-ratelimit-fillrate': '10', 'x-ratelimit-interval-seconds': '1' }, now);
  assert.deepEqual(full.bucket, { limit: 100, remaining: 55, fillRate: 10, intervalSeconds: 1 });
  assert.equal(full.nearLimit, false);
  const near = parseRateLimitHeaders({ 'X-RateLimit-Limit': '100', 'X-RateLimit-Remaining': '7' }, now);
  assert.equal(near.nearLimit, true, 'a tenth or less left slows the connection down');
  const refused = parseRateLimitHeaders({ 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '0', 'x-ratelimit-interval-seconds': '2', 'retry-after': '5' }, now);
  assert.equal(rateLimitEnd(refused, now), now + 5_000, 'Retry-After wins');
  const noRetryAfter = parseRateLimitHeaders({ 'x-ratelimit-remaining': '0', 'x-ratelimit-interval-seconds': '2' }, now);
  assert.equal(rateLimitEnd(noRetryAfter, now), now + 2_000, 'an empty bucket fills again after one interval');
});
