import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase, type Orm } from '../src/platform/db/orm.js';
import { startEmbeddedPostgres } from '../tools/dev-stack/embedded-postgres.js';
import { eventually, fakeJira, type FakeJira } from './helpers/infra.js';
import { freePort } from '../tools/ports.js';
import { approvedRequest, configureConnection, startTicketflow, type Ticketflow } from './helpers/ticketflow.js';
import { fileCleanup } from './helpers/cleanup.js';

/** PostgreSQL stops while the API takes requests: 503 with Retry-After, nothing half-written, full service after. */

let dir: string;
let port: number;
let pg: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
let orm: Orm;
let jira: FakeJira;
let tf: Ticketflow;

const cleanup = fileCleanup();

before(async () => {
  dir = cleanup.keep('PostgreSQL directory', mkdtempSync(join(tmpdir(), 'ticketflow-faults-')), (d) => rmSync(d, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  port = await freePort();
  [pg, jira] = await Promise.all([
    startEmbeddedPostgres(join(dir, 'pg'), port).then((server) => cleanup.keep('PostgreSQL', server, (s) => s.stop())),
    fakeJira(cleanup),
  ]);
  orm = cleanup.keep('database', await openDatabase(pg.url, { poolMax: 5 }), (o) => o.close());
  tf = await startTicketflow(cleanup, orm);
  await configureConnection(tf, 'jira', jira.url);
});

const tickets = async (id: string) => (await tf.http.get(`api/v1/privacy-request/${id}/jira-tickets`)).body as any[];

test('PostgreSQL down: 503 with Retry-After and nothing half-written; back up: full service', async () => {
  assert.equal((await tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_f_1') })).statusCode, 201);
  await eventually(async () => (await tickets('pri_f_1'))[0]?.task_state === 'open', 'first ticket open');

  await pg!.stop();
  for (const res of [await tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_f_2') }), await tf.http.get('api/v1/privacy-request/pri_f_1')]) {
    assert.equal(res.statusCode, 503, JSON.stringify(res.body));
    assert.equal(res.headers['retry-after'], '5');
    assert.match(String(res.headers['content-type']), /problem\+json/);
  }
  const ready = await tf.anonymous.get('readyz');
  assert.equal(ready.statusCode, 503);

  pg = await startEmbeddedPostgres(join(dir, 'pg'), port);
  await eventually(async () => (await tf.http.get('api/v1/privacy-request/pri_f_1')).statusCode === 200, 'service back', 30_000);
  assert.equal((await tf.http.get('api/v1/privacy-request/pri_f_2')).statusCode, 404, 'the refused request left nothing behind');
  assert.equal((await tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_f_2') })).statusCode, 201);
  await eventually(async () => (await tickets('pri_f_2'))[0]?.task_state === 'open', 'second ticket open after the restart', 30_000);
  assert.equal((await jira.issues()).filter((i) => i.fields.labels?.some((l: string) => l.startsWith('ticketflow-'))).length, 2, 'one ticket each');
});
