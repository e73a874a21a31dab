import { join, resolve } from 'node:path';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Connection as TemporalConnection } from '@temporalio/client';
import { registerSearchAttributes } from '../../src/platform/temporal/register-search-attributes.js';
import { configOrExit, installTemporalRuntime, onSignals, openAppDatabase, startApi, startWorker } from '../../src/main/processes.js';
import type { ConnectionSecrets } from '../../src/connections/secrets.js';
import { Keyring } from '../../src/platform/keyring.js';
import { ApiTokens } from '../../src/http/tokens.js';
import { PayloadEncryptionCodec } from '../../src/platform/temporal/codec.js';
import { temporalCliExecutable } from '../temporal/servers.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import type { Orm } from '../../src/platform/db/orm.js';
import { Connection } from '../../src/platform/db/entities.js';
import { searchAttributes } from '../../src/platform/temporal/search-attributes.js';
import { startFakeJiraProcess, type FakeJiraProcess } from '../fake-jira/process.js';

/**
 * `npm start`: the whole product on one machine, in the foreground. Temporal dev server (SQLite file and
 * UI), embedded PostgreSQL, worker, API, and the fake Jira with a demo connection unless a real Jira
 * connection is configured. Everything keeps its data under DATA_DIR, so a restart loses nothing.
 */
const say = (msg: string) => process.stderr.write(`[ticketflow] ${msg}\n`);
export const DEMO_CONNECTION = 'jira_demo';

// Everything listens on this machine for one user: on loopback only (HOST=0.0.0.0 opens it up), which is also
// what lets the Temporal UI read decrypted payloads without a token.
process.env.HOST ||= '127.0.0.1';
process.env.CODEC_AUTH ||= process.env.HOST === '127.0.0.1' || process.env.HOST === 'localhost' || process.env.HOST === '::1' ? 'none' : 'token';
const config = configOrExit();
const dataDir = resolve(config.DATA_DIR);
mkdirSync(dataDir, { recursive: true });
const sdkMetricsUrl = installTemporalRuntime(config);
const stops: Array<() => Promise<unknown>> = [];
const stopAll = async () => {
  for (const stop of stops.reverse()) await stop().catch((e: Error) => say(`while stopping: ${e.message}`));
};
onSignals(async () => {
  say('stopping (Ctrl-C again is ignored; give it a few seconds)');
  await stopAll();
  say('stopped; data kept in ' + dataDir);
});

try {
  const codec = new PayloadEncryptionCodec(config.PAYLOAD_KEYS ?? localPayloadKeys());
  let temporalAddress = config.TEMPORAL_ADDRESS;
  if (!temporalAddress) {
    const executable = await temporalCliExecutable();
    say(`starting the Temporal dev server (database ${join(dataDir, 'temporal.db')})`);
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable,
        dbFilename: join(dataDir, 'temporal.db'),
        port: config.TEMPORAL_PORT,
        ui: true,
        uiPort: config.TEMPORAL_UI_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
        searchAttributes,
        // The UI asks the API's codec endpoint to decrypt payloads (PAYLOAD_KEYS) for display.
        extraArgs: ['--ui-codec-endpoint', `http://localhost:${config.PORT}/codec`],
      },
    });
    stops.push(() => env.teardown());
    temporalAddress = env.address;
  } else {
    say(`using the Temporal cluster at ${temporalAddress}; registering the search attributes`);
    const connection = await TemporalConnection.connect({ address: temporalAddress });
    await registerSearchAttributes(connection, config.TEMPORAL_NAMESPACE).catch((e: Error) =>
      say(`could not register search attributes (${e.message}); an operator with admin rights must add: ${searchAttributes.map((a) => `${a.name}=Keyword`).join(', ')}`),
    );
    await connection.close();
  }

  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    say(`starting embedded PostgreSQL on port ${config.EMBEDDED_POSTGRES_PORT} (data in ${join(dataDir, 'postgres')})`);
    const pg = await startEmbeddedPostgres(join(dataDir, 'postgres'), config.EMBEDDED_POSTGRES_PORT);
    stops.push(() => pg.stop());
    databaseUrl = pg.url;
  }
  const { orm, kit } = await openAppDatabase(config, databaseUrl, config.SECRET_KEYS ?? localSecretKeys());
  stops.push(() => orm.close(), () => kit.close());

  let fakeJira: FakeJiraProcess | undefined;
  if (await wantFakeJira(orm)) {
    fakeJira = await startFakeJiraProcess({ port: config.FAKE_JIRA_PORT, stateFile: join(dataDir, 'fake-jira.json') });
    stops.push(() => fakeJira!.stop());
    await ensureDemoConnection(orm, kit.secrets, fakeJira.url);
  } else {
    await orm.em.fork().nativeUpdate(Connection, { key: DEMO_CONNECTION }, { disabled: true });
  }

  const tokenFile = await ensureDevToken(orm);
  // The only worker here: each start makes its own build the current version, changed workflow code or not.
  const worker = await startWorker(config, orm, temporalAddress, kit, codec, 'always');
  stops.push(() => worker.stop());
  const api = await startApi(config, orm, temporalAddress, kit, codec, sdkMetricsUrl);
  stops.push(() => api.stop());

  say('ready:');
  say(`  API          http://localhost:${config.PORT}/api/v1   (health: /healthz, /readyz; listening on ${config.HOST}${config.HOST === '127.0.0.1' ? ' only, HOST=0.0.0.0 opens it to the network' : ''})`);
  say(`  API token    admin token in ${tokenFile}: TOKEN=$(cat ${tokenFile}); curl -H "authorization: Bearer $TOKEN" …`);
  if (!config.TEMPORAL_ADDRESS) say(`  Temporal UI  http://localhost:${config.TEMPORAL_UI_PORT}   (payloads are encrypted; the UI decrypts them through http://localhost:${config.PORT}/codec)`);
  else say(`  codec        http://localhost:${config.PORT}/codec   (set it as the Temporal UI's codec endpoint to read encrypted payloads)`);
  const v = await worker.versioning;
  say(`  worker       version ${v.version.deploymentName}:${v.version.buildId}${v.current ? ' (current)' : ` (not current: ${v.currentBuildId ?? 'unversioned'} is)`}, workflow code ${worker.workflowCode}`);
  if (fakeJira) say(`  fake Jira    ${fakeJira.url}   (demo connection "${DEMO_CONNECTION}"; admin API under /_fake)`);
  say('  Ctrl-C stops everything; docs/walkthrough.md takes a request from approval to done.');
  worker.running.catch(async (err: Error) => {
    say(`the worker stopped: ${err.message}`);
    await stopAll();
    process.exit(1);
  });
} catch (err) {
  say(`could not start: ${(err as Error).message}`);
  say('what to do: check the message above; ports in use can be changed with PORT, TEMPORAL_PORT, TEMPORAL_UI_PORT, EMBEDDED_POSTGRES_PORT, FAKE_JIRA_PORT.');
  await stopAll();
  process.exit(1);
}

async function wantFakeJira(orm: Orm): Promise<boolean> {
  if (config.FAKE_JIRA !== 'auto') return config.FAKE_JIRA === 'on';
  const real = await orm.em.fork().count(Connection, { connectionType: 'jira_ticket', disabled: false, key: { $ne: DEMO_CONNECTION } });
  if (real > 0) say(`a real Jira connection is configured: not starting the fake Jira (FAKE_JIRA=on forces it)`);
  return real === 0;
}

async function ensureDemoConnection(orm: Orm, secrets: ConnectionSecrets, fakeUrl: string): Promise<void> {
  const em = orm.em.fork();
  const existing = await em.findOne(Connection, { key: DEMO_CONNECTION });
  if (existing) {
    existing.disabled = false;
    secrets.write(existing, { ...secrets.read(existing), domain: fakeUrl });
  } else {
    const demo = em.create(Connection, {
      key: DEMO_CONNECTION,
      name: 'Demo Jira (fake)',
      connectionType: 'jira_ticket',
      access: 'write',
      disabled: false,
      secrets: {},
      credentials: null,
    });
    secrets.write(demo, {
      domain: fakeUrl,
      username: 'demo@example.com',
      api_key: 'demo-token',
      project_key: 'PRIV',
      issue_type: 'Task',
      summary_template: 'DSR: __REQUEST_TYPE__ request __REQUEST_ID__',
      description_template: 'Privacy request __REQUEST_ID__ submitted on __SUBMISSION_DATE__.\nPolicy: __POLICY_NAME__\nLink: __REQUEST_URL__',
      due_date_config: { type: 'fixed_days', days: 30 },
    });
    em.persist(demo);
  }
  await em.flush();
}

/** An admin API token for the walkthrough, kept beside the data (mode 0600); made anew if the database lost it. */
async function ensureDevToken(orm: Orm): Promise<string> {
  const file = join(dataDir, 'api-token');
  const tokens = new ApiTokens(orm);
  if (existsSync(file) && (await tokens.verify(readFileSync(file, 'utf8').trim()))) return file;
  const { token } = await tokens.create('npm start (local admin)', ['admin']);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return file;
}

/** Without SECRET_KEYS, the dev stack keeps a generated key beside its data (mode 0600), and says so. */
function localSecretKeys(): string {
  const file = join(dataDir, 'secret-keys');
  if (!existsSync(file)) {
    writeFileSync(file, Keyring.generateSpec(), { mode: 0o600 });
    say(`SECRET_KEYS is not set: generated a key for connection credentials in ${file} (set SECRET_KEYS in production)`);
  }
  return readFileSync(file, 'utf8').trim();
}

/** Without PAYLOAD_KEYS, the dev stack keeps a generated key for Temporal payloads beside its data (mode 0600), and says so. */
function localPayloadKeys(): string {
  const file = join(dataDir, 'payload-keys');
  if (!existsSync(file)) {
    writeFileSync(file, PayloadEncryptionCodec.generateSpec(), { mode: 0o600 });
    say(`PAYLOAD_KEYS is not set: generated a key for Temporal payload encryption in ${file} (set PAYLOAD_KEYS in production; the worker and the API need the same one)`);
  }
  return readFileSync(file, 'utf8').trim();
}
