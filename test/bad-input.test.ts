import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { approvedRequest, useStack } from './helpers/ticketflow.js';

/** Hostile or broken input: each a clear 4xx as problem+json naming what is wrong, and nothing stored. */

const ctx = useStack();
const api = () => ctx.tf.http;

async function refused(res: { statusCode: number; headers: Record<string, unknown>; body: unknown }, status: number, field?: RegExp) {
  assert.equal(res.statusCode, status, JSON.stringify(res.body));
  assert.match(String(res.headers['content-type']), /application\/problem\+json/);
  const body = (typeof res.body === 'string' ? JSON.parse(res.body) : res.body) as { field?: string; detail?: string };
  assert.ok(body.detail, 'a detail says what is wrong');
  if (field) assert.match(String(body.field), field);
}
const stored = async (id: string) => (await api().get(`api/v1/privacy-request/${encodeURIComponent(id)}`)).statusCode !== 404;

describe('bad input changes nothing', () => {
  test('an oversized body → 413', async () => {
    const res = await api().post('api/v1/privacy-request', { json: approvedRequest('pri_big', { policy_name: 'x'.repeat(2_000_000) }) });
    await refused(res, 413, /^body$/);
    assert.equal(await stored('pri_big'), false);
  });

  test('wrong types and unknown fields → 422 naming each field', async () => {
    const wrong = await api().post('api/v1/privacy-request', { json: { ...approvedRequest('pri_types'), request_type: 7, identity: { email: 42 } } });
    await refused(wrong, 422, /^body\.(request_type|identity\.email)$/);
    assert.deepEqual(((wrong.body as any).errors as Array<{ field: string }>).map((e) => e.field).sort(), ['body.identity.email', 'body.request_type']);
    const unknown = await api().post('api/v1/privacy-request', { json: { ...approvedRequest('pri_unknown'), is_admin: true } });
    await refused(unknown, 422);
    assert.match((unknown.body as any).detail, /is_admin/);
    assert.equal(await stored('pri_types'), false);
    assert.equal(await stored('pri_unknown'), false);
  });

  test('path traversal and odd characters in ids → 422 (never reach Temporal, PostgreSQL or Jira)', async () => {
    for (const id of ['../../etc/passwd', '..', 'a/b', 'x y', 'pri\u0000', '%2e%2e']) {
      const res = await api().post('api/v1/privacy-request', { json: approvedRequest(id) });
      // A NUL is refused wherever it stands; the sample request repeats the id in its request_url.
      await refused(res, 422, /^body\.(id|request_url)$/);
    }
    await refused(await api().get('api/v1/privacy-request/..%2F..%2Fetc%2Fpasswd'), 422, /^path$/);
    await refused(await api().put('api/anomalies/..%2Fx', { json: { type: 'shape', status: 'Active' } }), 422, /^path$/);
    const links = await api().post('api/anomalies/1/ticket-links', { json: { ticket_key: '../PRIV-1' } });
    assert.ok([404, 422].includes(links.statusCode), String(links.statusCode));
  });

  test('a huge template → 422 when saved; the stored settings stay as they were', async () => {
    const before = (await api().get('api/v1/connection/jira')).body as any;
    const res = await api().put('api/v1/connection/jira/secret', { json: { summary_template: '__REQUEST_ID__ '.repeat(50_000) } });
    await refused(res, 422, /^body\.summary_template$/);
    assert.deepEqual((await api().get('api/v1/connection/jira')).body, before);
  });

  test('a domain that is not a Jira site (another scheme, credentials, no host) → 422 naming body.domain; nothing stored', async () => {
    const before = (await api().get('api/v1/connection/jira')).body as any;
    for (const domain of ['file:///etc/passwd', 'javascript:alert(1)', 'ftp://jira.example.com', 'https://user:pw@jira.example.com', 'https://', 'jira example.com']) {
      const res = await api().put('api/v1/connection/jira/secret', { json: { domain } });
      await refused(res, 422, /^body\.domain$/);
    }
    assert.deepEqual((await api().get('api/v1/connection/jira')).body, before);
    // A host with a port, and a full https URL with a path (a Data Center context path), are still fine.
    for (const domain of ['localhost:1', 'https://127.0.0.1:1/jira']) {
      const res = await api().put('api/v1/connection/jira/secret', { json: { domain } });
      assert.equal(res.statusCode, 200, `${domain}: ${JSON.stringify(res.body)}`);
    }
    await api().put('api/v1/connection/jira/secret', { json: { domain: before.secrets.domain } });
  });

  test('a body that is not UTF-8 → 400; not JSON → 400; not application/json → 415', async () => {
    const bytes = Buffer.concat([Buffer.from('{"id":"pri_utf8","request_type":"erasure","status":"approved","policy_name":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
    await refused(await api().post('api/v1/privacy-request', { body: bytes, headers: { 'content-type': 'application/json' } }), 400, /^body$/);
    assert.equal(await stored('pri_utf8'), false);
    await refused(await api().post('api/v1/privacy-request', { body: '{"id": ', headers: { 'content-type': 'application/json' } }), 400, /^body$/);
    await refused(await api().post('api/v1/privacy-request', { body: 'id=pri_form', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415);
    assert.equal(await stored('pri_form'), false);
  });
});
