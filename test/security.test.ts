import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import got from 'got';
import { useStack } from './helpers/ticketflow.js';
import { routesOf } from './helpers/routes.js';
import { apiDocument } from '../tools/console/document.js';

/** Every route needs a token unless it is on the short list of open ones; scopes are enforced. */

const ctx = useStack();

/** Routes that answer without a token, each for a reason (health probes, signed webhooks, the OAuth redirect). */
const OPEN = new Set(['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json', 'GET /docs', 'GET /docs/init.js', 'POST /webhooks/jira', 'POST /webhooks/jira/:connectionKey', 'GET /api/v1/oauth/jira/callback']);

describe('API tokens', () => {
  test('no route escapes authentication: every route but the open ones answers 401 problem+json without a token', async () => {
    const routes = routesOf((ctx.tf.app as any).router.stack);
    assert.ok(routes.length >= 30, `found ${routes.length} routes`);
    const escaped: string[] = [];
    for (const r of routes) {
      const id = `${r.method} ${r.path}`;
      if (OPEN.has(id)) continue;
      const url = r.path.replace(/:(\w+)/g, 'x1');
      const res = await ctx.tf.anonymous(url.replace(/^\//, ''), { method: r.method as 'GET', json: r.method === 'GET' ? undefined : {} });
      if (res.statusCode !== 401 || !/problem\+json/.test(String(res.headers['content-type']))) escaped.push(`${id} → ${res.statusCode}`);
    }
    assert.deepEqual(escaped, []);
  });

  test('invalid, revoked and under-scoped tokens are refused; scopes nest (admin ⊇ write ⊇ read)', async () => {
    const as = (token: string) => got.extend({ prefixUrl: ctx.tf.base, throwHttpErrors: false, retry: { limit: 0 }, responseType: 'json', headers: { authorization: `Bearer ${token}` } });
    const read = (await ctx.tf.tokens.create('reader', ['read'])).token;
    const write = (await ctx.tf.tokens.create('fides', ['write'])).token;
    const admin = (await ctx.tf.tokens.create('ops', ['admin'])).token;

    assert.equal((await as('tf_000000000000_' + 'A'.repeat(43)).get('api/v1/connection')).statusCode, 401);
    assert.equal((await as(read.slice(0, -1) + (read.endsWith('A') ? 'B' : 'A')).get('api/anomalies/1/ticket-links')).statusCode, 401, 'a wrong secret for a real id');

    const readOnly = await as(read).post('api/v1/privacy-request', { json: { id: 'pri_scope' } });
    assert.equal(readOnly.statusCode, 403);
    assert.equal((readOnly.body as any).required_scope, 'write');
    assert.equal((await as(read).get('api/v1/privacy-request/none')).statusCode, 404, 'read may read');
    assert.equal((await as(write).get('api/v1/connection')).statusCode, 403, 'connections need admin');
    assert.equal((await as(write).put('api/anomalies/scope-1', { json: { type: 'shape', status: 'Active' } })).statusCode, 201);
    assert.equal((await as(admin).get('api/v1/connection')).statusCode, 200);

    const me = await as(read).get('api/v1/me');
    assert.equal(me.statusCode, 200);
    assert.deepEqual({ ...(me.body as any), id: undefined }, { id: undefined, name: 'reader', scopes: ['read'] });
    assert.deepEqual(((await as(admin).get('api/v1/me')).body as any).scopes, ['admin']);
    assert.equal((await ctx.tf.anonymous.get('api/v1/me')).statusCode, 401);
    const server = (await as(read).get('api/v1/server')).body as any;
    assert.deepEqual(server.auth_methods, ['api_token', 'scoped_api_token', 'oauth2', 'pat', 'basic', 'dc_oauth2', 'oauth1']);
    assert.equal(server.oauth2_configured, true);

    const { token: doomed, id } = await ctx.tf.tokens.create('doomed', ['read']);
    assert.ok(await ctx.tf.tokens.revoke(id));
    assert.equal((await as(doomed).get('api/v1/privacy-request/none')).statusCode, 401, 'revoked');
    assert.equal((await ctx.tf.anonymous.get('healthz')).statusCode, 200, 'health stays open');
  });
});

describe('OpenAPI document', () => {
  test('lists exactly the routes Express serves, with request schemas from the same zod schemas the handlers parse', async () => {
    const res = await ctx.tf.anonymous.get('openapi.json');
    assert.equal(res.statusCode, 200);
    const doc = res.body as any;
    const served = routesOf((ctx.tf.app as any).router.stack).map((r) => `${r.method} ${r.path}`).filter((r) => !/^GET \/(openapi\.json|docs)/.test(r));
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`));
    assert.deepEqual([...served].sort(), [...documented].sort(), 'the served document lists exactly the routes Express serves');
    assert.equal(doc.openapi, '3.1.0');
    const create = doc.paths['/api/v1/privacy-request'].post;
    assert.deepEqual(create.security, [{ bearer: ['write'] }]);
    const body = create.requestBody.content['application/json'].schema;
    assert.equal(body.additionalProperties, false, 'unknown fields are refused, and the document says so');
    assert.deepEqual(body.properties.request_type.enum, ['access', 'erasure', 'consent', 'update']);
    assert.ok(doc.paths['/api/v1/connection/{key}/secret'].put.security[0].bearer.includes('admin'));
    assert.deepEqual(doc.paths['/healthz'].get.security, []);
    // What the handlers accept and answer, so a schema-driven client (or fuzzer) is not misled:
    assert.equal(doc.paths['/api/v1/privacy-request/{id}'].get.parameters[0].schema.pattern, '^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$', 'path ids as the handler validates them');
    assert.ok(create.responses['200'] && create.responses['201'], 'an upsert answers 201 when it created, 200 when it updated');
    assert.ok(doc.paths['/api/v1/connection/{key}/jira/statuses'].get.responses['409'], 'an unconfigured connection → 409');
    assert.equal(doc.paths['/api/v1/connection/{key}/jira/preview'].post.requestBody.required, false, 'preview works without a body');
    assert.ok(doc.paths['/codec/decode'].post.requestBody.content['application/json'].schema.properties.payloads);
    const anomaly = doc.paths['/api/anomalies/{anomaly_id}'].put.requestBody.content['application/json'].schema;
    assert.ok(!new RegExp(anomaly.properties.type.pattern).test('a\u0000b'), 'free-form strings exclude NUL, which the API refuses');
    assert.ok(new RegExp(anomaly.properties.type.pattern).test('shape'));

    // The console's client is typed from the document written at build time from the same registry
    // (tools/console/document.ts, no server): it is the document served, so the console cannot drift.
    assert.deepEqual(apiDocument(), doc, 'the build-time document is the served one');

    const page = await ctx.tf.anonymous.get('docs', { responseType: 'text' });
    assert.match(page.body, /swagger-ui-bundle\.js/);
    assert.equal((await ctx.tf.anonymous.get('docs/assets/swagger-ui-bundle.js', { responseType: 'text' })).statusCode, 200);
  });
});
