import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { loadConfig, ConfigError, type Config } from './config/index.js';
import { openDatabase, type Orm } from './db/orm.js';
import { ConnectionSecrets } from './connections/secrets.js';
import { resealConnections } from './connections/service.js';
import { Keyring } from './secrets/keyring.js';
import { connectTemporal } from './temporal/client.js';
import { createWorker } from './worker.js';
import { createApp } from './api/app.js';
import { log, setLogLevel } from './log.js';
import type { Server } from 'node:http';

/** Exits with the config problem spelled out instead of a stack trace. */
export function configOrExit(): Config {
  try {
    const config = loadConfig();
    setLogLevel(config.LOG_LEVEL);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

export function installTemporalRuntime(level: Config['LOG_LEVEL']): void {
  Runtime.install({ logger: new DefaultLogger(level === 'debug' ? 'DEBUG' : 'WARN') });
}

export async function startWorker(config: Config, orm: Orm, temporalAddress: string, secrets: ConnectionSecrets) {
  const connection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    orm,
    secrets,
    jiraTimeoutMs: config.JIRA_REQUEST_TIMEOUT_SECONDS * 1000,
    upstream: { url: config.UPSTREAM_CALLBACK_URL, secret: config.UPSTREAM_CALLBACK_SECRET },
  });
  const running = worker.run();
  return {
    running,
    async stop() {
      worker.shutdown();
      await running.catch(() => {});
      await connection.close();
    },
  };
}

export async function startApi(config: Config, orm: Orm, temporalAddress: string, secrets: ConnectionSecrets) {
  const temporal = await connectTemporal(temporalAddress, config.TEMPORAL_NAMESPACE);
  const app = createApp({
    orm,
    temporal,
    secrets,
    hostPolicy: { allowHttpHosts: config.JIRA_HTTP_HOST_ALLOWLIST },
    settings: {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      pollIntervalMinutes: config.JIRA_POLLING_INTERVAL_MINUTES,
      createMaxAttempts: config.JIRA_CREATE_MAX_ATTEMPTS,
      jiraTimeoutMs: config.JIRA_REQUEST_TIMEOUT_SECONDS * 1000,
    },
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.PORT, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  return {
    server,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await temporal.connection.close();
    },
  };
}

function requireEnv(config: Config): { databaseUrl: string; temporalAddress: string; secrets: ConnectionSecrets } {
  if (!config.DATABASE_URL || !config.TEMPORAL_ADDRESS || !config.SECRET_KEYS) {
    process.stderr.write(
      'DATABASE_URL, TEMPORAL_ADDRESS and SECRET_KEYS must be set to run this process alone (SECRET_KEYS: "kid:$(openssl rand -base64 32)"); `npm start` runs the whole stack with embedded services.\n',
    );
    process.exit(2);
  }
  return { databaseUrl: config.DATABASE_URL, temporalAddress: config.TEMPORAL_ADDRESS, secrets: new ConnectionSecrets(new Keyring(config.SECRET_KEYS)) };
}

/** Opens the database, migrates it, and re-seals credentials left in clear or under a retired key. */
export async function openAppDatabase(databaseUrl: string, secrets: ConnectionSecrets): Promise<Orm> {
  const orm = await openDatabase(databaseUrl);
  const resealed = await resealConnections(orm.em.fork(), secrets);
  if (resealed) log.info('re-sealed connection credentials with the active key', { connections: resealed, kid: secrets.keyring.activeKid });
  return orm;
}

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      log.info('stopping', { signal: sig });
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

/** `node dist/src/worker.js`: the worker alone, against an existing PostgreSQL and Temporal cluster. */
export async function runWorkerProcess(): Promise<void> {
  const config = configOrExit();
  const { databaseUrl, temporalAddress, secrets } = requireEnv(config);
  installTemporalRuntime(config.LOG_LEVEL);
  const orm = await openAppDatabase(databaseUrl, secrets);
  const worker = await startWorker(config, orm, temporalAddress, secrets);
  log.info('worker running', { taskQueue: config.TEMPORAL_TASK_QUEUE });
  onSignals(async () => {
    await worker.stop();
    await orm.close();
  });
  await worker.running;
}

/** `node dist/src/api/main.js`: the API alone. */
export async function runApiProcess(): Promise<void> {
  const config = configOrExit();
  const { databaseUrl, temporalAddress, secrets } = requireEnv(config);
  const orm = await openAppDatabase(databaseUrl, secrets);
  const api = await startApi(config, orm, temporalAddress, secrets);
  log.info('API listening', { port: config.PORT });
  onSignals(async () => {
    await api.stop();
    await orm.close();
  });
}

export { onSignals };
