import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { loadConfig, ConfigError, type Config } from './config/index.js';
import { openDatabase, type Orm } from './db/orm.js';
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

export async function startWorker(config: Config, orm: Orm, temporalAddress: string) {
  const connection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    orm,
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

export async function startApi(config: Config, orm: Orm, temporalAddress: string) {
  const temporal = await connectTemporal(temporalAddress, config.TEMPORAL_NAMESPACE);
  const app = createApp({
    orm,
    temporal,
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

function requireEnv(config: Config): { databaseUrl: string; temporalAddress: string } {
  if (!config.DATABASE_URL || !config.TEMPORAL_ADDRESS) {
    process.stderr.write('DATABASE_URL and TEMPORAL_ADDRESS must be set to run this process alone; `npm start` runs the whole stack with embedded services.\n');
    process.exit(2);
  }
  return { databaseUrl: config.DATABASE_URL, temporalAddress: config.TEMPORAL_ADDRESS };
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
  const { databaseUrl, temporalAddress } = requireEnv(config);
  installTemporalRuntime(config.LOG_LEVEL);
  const orm = await openDatabase(databaseUrl);
  const worker = await startWorker(config, orm, temporalAddress);
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
  const { databaseUrl, temporalAddress } = requireEnv(config);
  const orm = await openDatabase(databaseUrl);
  const api = await startApi(config, orm, temporalAddress);
  log.info('API listening', { port: config.PORT });
  onSignals(async () => {
    await api.stop();
    await orm.close();
  });
}

export { onSignals };
