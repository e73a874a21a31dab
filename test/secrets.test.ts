import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '../src/platform/keyring.js';
import { ConnectionSecrets } from '../src/connections/secrets.js';
import { resealConnections } from '../src/connections/service.js';
import { isForbiddenAddress } from '../src/jira/host-policy.js';
import { Connection } from '../src/platform/db/entities.js';
import { JiraClient } from '../src/jira/client.js';
import { JiraUnreachableError } from '../src/jira/errors.js';
import { configureConnection, useStack } from './helpers/ticketflow.js';

/** Credentials at rest, in API answers, and where a connection may send them. */

const ctx = useStack();
const row = async (key: string) =>
  (await ctx.orm.em.getConnection().execute<Array<{ secrets: Record<string, unknown>; credentials: any }>>('select secrets, credentials from connection where key = ?', [key]))[0]!;

describe('credentials at rest', () => {
  test('are sealed with AES-256-GCM under the active key id; the readable part holds none', async () => {
    const { secrets, credentials } = await row('jira');
    assert.equal(secrets.api_key, undefined);
    assert.equal(secrets.username, undefined);
    assert.equal(secrets.project_key, 'PRIV');
    assert.equal(credentials.kid, 'test');
    assert.ok(!JSON.stringify(credentials).includes('secret-token-123'));
    assert.ok(!JSON.stringify(credentials).includes('bot@example.com'));
  });

  test('are never returned by the API', async () => {
    const all = [await ctx.tf.http.get('api/v1/connection/jira'), await ctx.tf.http.get('api/v1/connection'), await ctx.tf.http.put('api/v1/connection/jira/secret', { json: { issue_type: 'Task' } })];
    for (const r of all) {
      const text = JSON.stringify(r.body);
      assert.ok(!text.includes('secret-token-123') && !text.includes('bot@example.com'), text);
    }
    assert.equal(((all[0]!.body as any).secrets).api_key, '**********');
  });

  test('a sealed box moved to another connection does not open', async () => {
    await configureConnection(ctx.tf, 'other', ctx.jira.url);
    const stolen = (await row('jira')).credentials;
    await ctx.orm.em.getConnection().execute('update connection set credentials = ? where key = ?', [JSON.stringify(stolen), 'other']);
    const other = await ctx.orm.em.fork().findOneOrFail(Connection, { key: 'other' });
    assert.throws(() => ctx.tf.secrets.read(other), /does not decrypt: the key material differs or the secret was altered/);
    await ctx.orm.em.getConnection().execute('delete from connection where key = ?', ['other']);
  });

  test('rotation: with a new key first, start-up re-seals every row and old boxes stay readable until then', async () => {
    const rotated = new ConnectionSecrets(new Keyring(`k2:${Buffer.alloc(32, 7).toString('base64')},${ctx.tf.secretKeys}`));
    const before = await ctx.orm.em.fork().findOneOrFail(Connection, { key: 'jira' });
    assert.equal(rotated.read(before).api_key, 'secret-token-123', 'old key still opens');
    assert.ok(rotated.needsResealing(before));
    const count = await resealConnections(ctx.orm.em.fork(), rotated);
    assert.ok(count >= 1);
    assert.equal((await row('jira')).credentials.kid, 'k2');
    const after = await ctx.orm.em.fork().findOneOrFail(Connection, { key: 'jira' });
    assert.equal(rotated.read(after).api_key, 'secret-token-123');
    assert.throws(() => ctx.tf.secrets.read(after), /not in SECRET_KEYS/);
    // put the test key back for the rest of the file
    await resealConnections(ctx.orm.em.fork(), new ConnectionSecrets(new Keyring(`${ctx.tf.secretKeys},k2:${Buffer.alloc(32, 7).toString('base64')}`)));
  });

  test('SECRET_KEYS of the wrong shape is refused with a hint', () => {
    assert.throws(() => new Keyring('k1:short'), /32-byte keys .*openssl rand -base64 32/);
  });
});

describe('where credentials may go', () => {
  const put = (domain: string) => ctx.tf.http.put('api/v1/connection/jira/secret', { json: { domain } });

  test('http to a non-loopback host is refused, naming the field; loopback is fine', async () => {
    const r = await put('http://jira.example.com');
    assert.equal(r.statusCode, 422);
    assert.equal((r.body as any).field, 'body.domain');
    assert.match((r.body as any).detail, /must use https/);
    assert.equal((await put(ctx.jira.url)).statusCode, 200);
  });

  test('link-local and cloud metadata hosts are refused', async () => {
    for (const domain of ['https://169.254.169.254', 'https://[fe80::1]', 'https://metadata.google.internal']) {
      const r = await put(domain);
      assert.equal(r.statusCode, 422, domain);
      assert.equal((r.body as any).field, 'body.domain');
    }
    assert.ok(isForbiddenAddress('::ffff:169.254.169.254'));
    assert.ok(!isForbiddenAddress('10.0.0.1'));
  });

  test('the Jira client refuses to connect to a name that resolves to a forbidden address', async () => {
    // localhost resolves to loopback, which is allowed: proves the lookup path works...
    const ok = await JiraClient.basic({ baseUrl: ctx.jira.url.replace('127.0.0.1', 'localhost'), username: 'u', apiToken: 't' }).myself();
    assert.equal(ok.accountId, 'fake-account');
    // ...and an address literal in the metadata range is refused before any socket is opened.
    const err = await JiraClient.basic({ baseUrl: 'http://169.254.169.254', username: 'u', apiToken: 't' }, 2_000).myself().catch((e: unknown) => e);
    assert.ok(err instanceof JiraUnreachableError);
    assert.equal(err.code, 'EFORBIDDENHOST');
  });
});
