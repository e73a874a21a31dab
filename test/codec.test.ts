import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import got from 'got';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import proto from '@temporalio/proto';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA, PayloadEncryptionCodec, decodeHistory } from '../src/platform/temporal/codec.js';
import { codecGate, codecRoutes } from '../src/http/codec-routes.js';
import { mount } from '../src/http/route.js';
import { errorHandler } from '../src/http/problem.js';
import { ConfigError, loadConfig } from '../src/platform/config.js';
import { eventually, temporalConnections } from './helpers/infra.js';
import { Cleanup } from './helpers/cleanup.js';
import { approvedRequest, useStack } from './helpers/ticketflow.js';

/** PII-safe history: every Temporal payload encrypted with PAYLOAD_KEYS, and the codec endpoint for the UI. */

const PayloadMessage = proto.temporal.api.common.v1.Payload;
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');
const json = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const sameBytes = (a: Payload, b: Payload) => assert.deepEqual(Buffer.from(PayloadMessage.encode(a).finish()), Buffer.from(PayloadMessage.encode(b).finish()));

describe('payload codec', () => {
  const spec = PayloadEncryptionCodec.generateSpec('old');
  const codec = new PayloadEncryptionCodec(spec);

  test('round trip: encrypted with the active key, the original payload (metadata included) comes back', async () => {
    const original = [json({ email: 'jane.doe@example.com' }), json(null), json([1, 2, 3])];
    const encoded = await codec.encode(original);
    assert.equal(encoded.length, 3);
    for (const p of encoded) {
      assert.equal(text(p.metadata?.encoding), ENCRYPTED_ENCODING);
      assert.equal(text(p.metadata?.[KEY_ID_METADATA]), 'old');
      assert.deepEqual(Object.keys(p.metadata ?? {}).sort(), ['encoding', KEY_ID_METADATA].sort(), 'no clear metadata left (json/plain is inside)');
    }
    assert.doesNotMatch(text(encoded[0]!.data), /jane|example|json/);
    const decoded = await codec.decode(encoded);
    decoded.forEach((p, i) => sameBytes(p, original[i]!));
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded[0]!), { email: 'jane.doe@example.com' });
    const again = await codec.encode([original[0]!]);
    assert.notDeepEqual(Buffer.from(again[0]!.data!), Buffer.from(encoded[0]!.data!), 'a fresh IV each time');
  });

  test('key rotation: the new key set (new key first, old key kept) reads old payloads and writes with the new key', async () => {
    const old = await codec.encode([json({ n: 1 })]);
    const rotated = new PayloadEncryptionCodec(`${PayloadEncryptionCodec.generateSpec('new')},${spec}`);
    assert.equal(rotated.activeKid, 'new');
    assert.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode(old))[0]!), { n: 1 });
    const fresh = await rotated.encode([json({ n: 2 })]);
    assert.equal(text(fresh[0]!.metadata?.[KEY_ID_METADATA]), 'new');
    await assert.rejects(codec.decode(fresh), /payload encrypted with key "new", which is not in PAYLOAD_KEYS \(it has "old"\)/);
  });

  test('an unknown key id, a missing key id, a wrong key under a known id and altered data all fail clearly', async () => {
    const [sealed] = await codec.encode([json('x')]);
    const other = new PayloadEncryptionCodec(PayloadEncryptionCodec.generateSpec('other'));
    await assert.rejects(other.decode([sealed!]), (e: Error) => e.name === 'PayloadCodecError' && /key "old", which is not in PAYLOAD_KEYS/.test(e.message));
    await assert.rejects(codec.decode([{ ...sealed!, metadata: { encoding: sealed!.metadata!.encoding! } }]), /without "encryption-key-id"/);
    const impostor = new PayloadEncryptionCodec(PayloadEncryptionCodec.generateSpec('old'));
    await assert.rejects(impostor.decode([sealed!]), /key "old" does not decrypt: the key material differs or the payload was altered/);
    const altered = Buffer.from(sealed!.data!);
    altered[20] = altered[20]! ^ 1;
    await assert.rejects(codec.decode([{ ...sealed!, data: altered }]), /does not decrypt/);
    await assert.rejects(codec.decode([{ ...sealed!, data: altered.subarray(0, 10) }]), /truncated/);
  });

  test('unencrypted payloads (histories from before the codec) decode as they are; encrypted ones are not encrypted twice', async () => {
    const plain = [json({ old: true }), { metadata: { encoding: Buffer.from('binary/null') } }];
    const decoded = await codec.decode(plain);
    assert.equal(decoded[0], plain[0]);
    assert.equal(decoded[1], plain[1]);
    const [sealed] = await codec.encode([json('y')]);
    const [twice] = await codec.encode([sealed!]);
    assert.equal(twice, sealed);
  });

  test('PAYLOAD_KEYS is validated at start, naming the variable and without echoing key material', () => {
    assert.throws(
      () => loadConfig({ PAYLOAD_KEYS: 'k1:c2hvcnQ=' }),
      (e: Error) => e instanceof ConfigError && /PAYLOAD_KEYS: PAYLOAD_KEYS must be "kid:base64key/.test(e.message) && /value not shown/.test(e.message) && !e.message.includes('c2hvcnQ='),
    );
    const dup = PayloadEncryptionCodec.generateSpec('same');
    assert.throws(() => loadConfig({ PAYLOAD_KEYS: `${dup},${dup}` }), /PAYLOAD_KEYS: PAYLOAD_KEYS names a key id more than once/);
    assert.equal(loadConfig({ PAYLOAD_KEYS: dup }).PAYLOAD_KEYS, dup);
    assert.throws(() => loadConfig({ TEMPORAL_UI_ORIGIN: 'localhost:8233' }), /TEMPORAL_UI_ORIGIN.*scheme:\/\/host/);
  });
});

/** Every payload of a history, with where it sits (search attributes and headers are not run through codecs). */
function payloadsOf(node: unknown, path: string[] = [], out: Array<{ path: string; payload: Payload }> = []) {
  if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return out;
  if ((node as { $type?: { fullName?: string } }).$type?.fullName === '.temporal.api.common.v1.Payload') {
    out.push({ path: path.join('.'), payload: node as Payload });
    return out;
  }
  for (const [k, v] of Object.entries(node)) payloadsOf(v, [...path, k], out);
  return out;
}

/** All a reader of the history sees: its JSON form, and every payload's data and metadata as text. */
const readable = (history: proto.temporal.api.history.v1.IHistory) =>
  [historyToJSON(history), ...payloadsOf(history).flatMap(({ payload }) => [text(payload.data), ...Object.values(payload.metadata ?? {}).map(text)])].join('\n');

describe('workflow history on the server', () => {
  const ctx = useStack();
  const WEBHOOK_SECRET = 'webhook-secret-for-codec-test-0451';
  const MARKER = 'UNIQUE-SUBMITTED-VALUE-7781';
  const sensitive = ['jane.doe@example.com', '+1-555-0100', MARKER, 'secret-token-123', WEBHOOK_SECRET];
  type Instance = Record<string, any>;
  const ticket = (id: string, pred: (i: Instance) => boolean, what: string) =>
    eventually(async () => ((await ctx.tf.http.get(`api/v1/privacy-request/${id}/jira-tickets`)).body as Instance[]).find(pred), what);

  test('holds only ciphertext: no identity, submitted data or credential is readable without PAYLOAD_KEYS', async () => {
    const { tf, jira } = ctx;
    assert.equal((await tf.http.put('api/v1/connection/jira/secret', { json: { webhook_secret: WEBHOOK_SECRET } })).statusCode, 200);
    assert.equal((await tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_codec_1') })).statusCode, 201);
    const open = await ticket('pri_codec_1', (i) => i.task_state === 'open', 'ticket open');

    // ticketflow passes ids, not personal data, to its workflows. So that this test proves the codec and not
    // only that design, a signal through the application's client carries every sensitive value into history.
    await tf.client.workflow.getHandle(open.workflow_id).signal('codecProbe', { identity: { email: 'jane.doe@example.com', phone: '+1-555-0100' }, data: { ssn_marker: MARKER }, api_key: 'secret-token-123', webhook_secret: WEBHOOK_SECRET });
    const submit = await tf.http.post(`api/v1/privacy-request/pri_codec_1/jira-tickets/${open.instance_id}/submit-data`, { json: { data: { ssn_marker: MARKER } } });
    assert.equal(submit.statusCode, 202);
    await jira.transition(open.ticket_key, 'Done');
    assert.equal((await tf.http.post(`api/v1/privacy-request/pri_codec_1/jira-tickets/${open.instance_id}/refresh`)).statusCode, 200);
    await ticket('pri_codec_1', (i) => i.task_state === 'completed', 'completed');

    // The history as the server keeps it, read by a client without the codec.
    const cleanup = new Cleanup();
    const t = await temporalConnections(cleanup);
    try {
      const raw = new Client({ connection: t.connection, namespace: t.namespace });
      const handle = raw.workflow.getHandle(open.workflow_id);
      const history = await handle.fetchHistory();
      const payloads = payloadsOf(history);
      const dump = readable(history);
      for (const value of sensitive) assert.ok(!dump.includes(value), `${value} is readable in the raw history`);

      // Markers' "data" and "patch-data" are the SDK core's own bookkeeping (local activity type, attempt,
      // times; the patch id), written without the data converter; the dump check above covers them too.
      const sdkOwn = /markerRecordedEventAttributes\.details\.(data|patch-data)\./;
      const coded = payloads.filter(({ path }) => !/(^|\.)(searchAttributes|header)(\.|$)/.test(path) && !sdkOwn.test(path));
      assert.ok(coded.length >= 5, `history has payloads to check (${coded.length})`);
      const clear = coded.filter(({ payload }) => text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING).map(({ path, payload }) => `${path}: ${text(payload.metadata?.encoding)}`);
      assert.deepEqual(clear, [], 'every payload is encrypted');
      assert.ok(coded.every(({ payload }) => text(payload.metadata?.[KEY_ID_METADATA]) === tf.codec.activeKid));
      await assert.rejects(handle.result(), /encoding|binary\/encrypted/i, 'a client without the keys cannot read the result');

      // Positive control: with the keys, the same history reads back in full.
      const decoded = readable(await decodeHistory(history, tf.codec));
      for (const value of [...sensitive, open.instance_id]) assert.ok(decoded.includes(value), `${value} is in the decoded history`);
      assert.deepEqual(await tf.client.workflow.getHandle(open.workflow_id).result(), { taskState: 'completed', ticketKey: open.ticket_key });
    } finally {
      await cleanup.run();
    }
  });

  test('the codec endpoint decodes what the worker encoded, answers the UI\'s preflight, and refuses when not authorized', async () => {
    const { tf } = ctx;
    const UI = 'http://localhost:8233';
    const original = json({ email: 'jane.doe@example.com' });
    const [sealed] = await tf.codec.encode([original]);
    const toJson = (p: Payload) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    });
    const headers = { origin: UI, 'x-namespace': 'default' };

    const decode = await tf.http.post('codec/decode', { json: { payloads: [toJson(sealed!), toJson(original)] }, headers });
    assert.equal(decode.statusCode, 200);
    assert.deepEqual(decode.body, { payloads: [toJson(original), toJson(original)] }, 'decrypted, and a clear payload passes through');
    assert.equal(decode.headers['access-control-allow-origin'], UI);
    assert.equal(decode.headers['access-control-allow-credentials'], 'true');

    const encode = await tf.http.post('codec/encode', { json: { payloads: [toJson(original)] }, headers });
    assert.equal(encode.statusCode, 200);
    const encoded = (encode.body as unknown as { payloads: Array<{ metadata: Record<string, string> }> }).payloads;
    assert.equal(Buffer.from(encoded[0]!.metadata.encoding!, 'base64').toString(), ENCRYPTED_ENCODING);
    const back = await tf.http.post('codec/decode', { json: { payloads: encoded }, headers });
    assert.deepEqual(back.body, { payloads: [toJson(original)] });

    const preflight = await tf.http('codec/decode', {
      method: 'OPTIONS',
      headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], UI);
    assert.equal(preflight.headers['access-control-allow-headers'], 'content-type, x-namespace, authorization');
    assert.equal(preflight.headers['access-control-allow-credentials'], 'true');
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
    const stranger = await tf.http('codec/decode', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(stranger.headers['access-control-allow-origin'], undefined, 'other origins get no CORS grant');

    const foreign = await new PayloadEncryptionCodec(PayloadEncryptionCodec.generateSpec('elsewhere')).encode([original]);
    const unknown = await tf.http.post('codec/decode', { json: { payloads: [toJson(foreign[0]!)] }, headers });
    assert.equal(unknown.statusCode, 422);
    assert.match((unknown.body as any).detail, /key "elsewhere", which is not in PAYLOAD_KEYS/);
    const bad = await tf.http.post('codec/decode', { json: { payloads: 'nope' }, headers });
    assert.equal(bad.statusCode, 422);
    // The CLI sends {} when a signal or query has no input: nothing to decode is not an error.
    const empty = await tf.http.post('codec/encode', { json: {}, headers });
    assert.equal(empty.statusCode, 200);
    assert.deepEqual(empty.body, { payloads: [] });

    // The authorization hook (operator API tokens plug in here).
    const calls: string[] = [];
    const router = express.Router();
    mount(router, codecRoutes(tf.codec));
    const app = express()
      .use('/codec', ...codecGate({ uiOrigins: [UI], authorize: async (req) => (calls.push(req.method), req.get('authorization') === 'Bearer ok') }))
      .use(router)
      .use(errorHandler);
    const server = await new Promise<Server>((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    try {
      const http = got.extend({ prefixUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, throwHttpErrors: false, retry: { limit: 0 }, responseType: 'json' });
      const refused = await http.post('codec/decode', { json: { payloads: [toJson(sealed!)] }, headers });
      assert.equal(refused.statusCode, 401);
      assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
      assert.deepEqual(Object.keys(refused.body as unknown as object).sort(), ['detail', 'status', 'title', 'type']);
      assert.equal((refused.body as any).type, 'about:blank');
      assert.equal((refused.body as any).status, 401);
      assert.equal(refused.headers['access-control-allow-origin'], UI, 'the UI can read the refusal');
      const pre = await http('codec/decode', { method: 'OPTIONS', headers: { origin: UI, 'access-control-request-method': 'POST' } });
      assert.equal(pre.statusCode, 204, 'preflight carries no credentials and is not authorized');
      const allowed = await http.post('codec/decode', { json: { payloads: [toJson(sealed!)] }, headers: { ...headers, authorization: 'Bearer ok' } });
      assert.equal(allowed.statusCode, 200);
      assert.deepEqual(allowed.body, { payloads: [toJson(original)] });
      assert.deepEqual(calls, ['POST', 'POST']);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
