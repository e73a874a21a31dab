import { createServer } from 'node:http';
import { metricsText } from '../platform/metrics.js';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { loadConfig, ConfigError, oauthApp, temporalUiOrigins, type Config } from '../platform/config.js';
import { openDatabase, type Orm } from '../platform/db/orm.js';
import { resealConnections } from '../connections/service.js';
import { connectionKit, type ConnectionKit } from '../connections/kit.js';
import { connectTemporal } from '../platform/temporal/client.js';
import { PayloadEncryptionCodec } from '../platform/temporal/codec.js';
import { createWorker } from './build-worker.js';
import { loadWorkflowCode } from './workflow-bundle.js';
import { adoptIfUnchosen, describeDeployment, setCurrentVersion, versionRegistered } from '../platform/temporal/deployments.js';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { createApp } from '../http/app.js';
import { TicketWorkflowStarts } from '../privacy-requests/starts.js';
import { ConnectionTrackers, type TrackerSettings } from '../tracker/starts.js';
import { RetentionSchedule, type PrivacySettings } from '../personal-data/starts.js';
import { PersonalDataEraser } from '../personal-data/eraser.js';
import { PersonalDataSeal } from '../personal-data/sealing.js';
import { problemsForClientErrors } from '../http/problem.js';
import { log, setLogLevel } from '../platform/log.js';
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

/**
 * The SDK's logger, and its Prometheus exporter on loopback (port WORKER_METRICS_PORT + 1) when metrics are
 * on: our /metrics appends what it exports. Returns that exporter's URL.
 */
export function installTemporalRuntime(config: Config): string | undefined {
  const port = config.METRICS !== 'off' && config.WORKER_METRICS_PORT ? config.WORKER_METRICS_PORT + 1 : undefined;
  Runtime.install({
    logger: new DefaultLogger(config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN'),
    ...(port ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${port}` } } } } : {}),
  });
  return port ? `http://127.0.0.1:${port}/metrics` : undefined;
}

/**
 * Where this worker's version stands in its deployment: `current` gets new workflows and AUTO_UPGRADE tasks;
 * otherwise it runs only what is pinned to it until an operator makes it current.
 */
export interface WorkerVersioning {
  version: WorkerDeploymentVersion;
  current: boolean;
  currentBuildId: string | null;
}

/**
 * `promote`: `if-unchosen` (a standalone worker) makes its version current only on a deployment where no
 * operator has chosen one yet; `always` (`npm start`, where this is the only worker) makes it current.
 */
export async function startWorker(config: Config, orm: Orm, temporalAddress: string, kit: ConnectionKit, codec: PayloadEncryptionCodec, promote: 'if-unchosen' | 'always' = 'if-unchosen') {
  const connection = await NativeConnection.connect({ address: temporalAddress });
  // The tracker's activities signal the workflows whose ticket changed.
  const temporal = await connectTemporal(temporalAddress, config.TEMPORAL_NAMESPACE, codec);
  const code = await loadWorkflowCode();
  const version = { deploymentName: config.TEMPORAL_DEPLOYMENT_NAME, buildId: config.TEMPORAL_BUILD_ID ?? code.contentBuildId };
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowBundle: code.bundle,
    version,
    orm,
    kit,
    temporal,
    upstream: { url: config.UPSTREAM_CALLBACK_URL, secret: config.UPSTREAM_CALLBACK_SECRET },
    webhookBaseUrl: config.WEBHOOK_BASE_URL,
    search: { lagSeconds: config.JIRA_SEARCH_LAG_SECONDS, waitOnRetry: config.JIRA_RETRY_WAITS_FOR_SEARCH },
    dataConverter: { payloadCodecs: [codec] },
    privacy: privacySettings(config),
    tuning: {
      maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
      maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      workflowThreadPoolSize: config.WORKER_WORKFLOW_THREADS,
    },
  });
  const running = worker.run();
  const stop = async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch(() => {});
    await temporal.connection.close();
    await connection.close();
  };
  // Not waited for: the worker polls meanwhile, and a slow answer must not hold its start.
  const versioning = routeToVersion(temporal, version, config.TEMPORAL_TASK_QUEUE, promote, () => worker.getState() === 'RUNNING');
  return { running, stop, version, versioning, workflowCode: code.source };
}

/**
 * Makes the worker's version current where `promote` says so; a refusal leaves the choice to an operator.
 * Never rejects: the worker runs whatever is decided here.
 */
async function routeToVersion(client: Client, version: WorkerDeploymentVersion, taskQueue: string, promote: 'if-unchosen' | 'always', running: () => boolean): Promise<WorkerVersioning> {
  try {
    return await client.withDeadline(Date.now() + 60_000, async (): Promise<WorkerVersioning> => {
      if (promote === 'if-unchosen') {
        const adopted = await adoptIfUnchosen(client, version, taskQueue);
        return adopted.made === 'current' ? { version, current: true, currentBuildId: version.buildId } : { version, current: false, currentBuildId: adopted.currentBuildId };
      }
      const state = await versionRegistered(client, version, taskQueue);
      if (state.currentBuildId !== version.buildId) await setCurrentVersion(client, version);
      return { version, current: true, currentBuildId: version.buildId };
    });
  } catch (err) {
    // Stopped meanwhile: its connection is closed, and there is nothing left to decide.
    if (!running()) return { version, current: false, currentBuildId: null };
    log.warn(
      `could not make ${version.deploymentName}:${version.buildId} current; the worker runs, but gets only workflows pinned to it until an operator runs: temporal worker deployment set-current-version --deployment-name ${version.deploymentName} --build-id ${version.buildId}`,
      { error: err },
    );
    const state = await client.withDeadline(Date.now() + 10_000, () => describeDeployment(client, version.deploymentName)).catch(() => undefined);
    return { version, current: state?.currentBuildId === version.buildId, currentBuildId: state?.currentBuildId ?? null };
  }
}

/** How long personal data and audit entries are kept, from the configuration. */
export function privacySettings(config: Config): PrivacySettings {
  return { personalDataRetentionDays: config.PERSONAL_DATA_RETENTION_DAYS, auditLogRetentionDays: config.AUDIT_LOG_RETENTION_DAYS, sweepMinutes: config.RETENTION_SWEEP_MINUTES };
}

/** The trackers' cadence, from the configuration. */
export function trackerSettings(config: Config): TrackerSettings {
  return {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    intervalMinutes: config.JIRA_POLLING_INTERVAL_MINUTES,
    webhookIntervalMinutes: config.JIRA_WEBHOOK_POLLING_INTERVAL_MINUTES,
    overlapMinutes: config.JIRA_DELTA_OVERLAP_MINUTES,
    reconcileIntervalMinutes: config.JIRA_RECONCILE_INTERVAL_MINUTES,
  };
}

export async function startApi(config: Config, orm: Orm, temporalAddress: string, kit: ConnectionKit, codec: PayloadEncryptionCodec, sdkMetricsUrl?: string) {
  const temporal = await connectTemporal(temporalAddress, config.TEMPORAL_NAMESPACE, codec);
  const settings = { taskQueue: config.TEMPORAL_TASK_QUEUE, createMaxAttempts: config.JIRA_CREATE_MAX_ATTEMPTS };
  const starts = new TicketWorkflowStarts(orm, temporal, settings).start();
  const trackers = new ConnectionTrackers(orm, temporal, trackerSettings(config)).start();
  // The retention schedule is a long-lived part of the deployment, like the trackers: every API ensures it.
  const retention = new RetentionSchedule(temporal, config.TEMPORAL_TASK_QUEUE, privacySettings(config)).start();
  const app = createApp({
    orm,
    temporal,
    kit,
    settings,
    starts,
    trackers,
    codec,
    privacy: privacySettings(config),
    metrics: { mode: config.METRICS, sdkMetricsUrl },
    webhookBaseUrl: () => config.WEBHOOK_BASE_URL,
    codecEndpoint: { uiOrigins: temporalUiOrigins(config), ...(config.CODEC_AUTH === 'none' ? { authorize: () => true } : {}) },
    temporalUi: { url: temporalUiOrigins(config)[0]!, namespace: config.TEMPORAL_NAMESPACE },
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.PORT, config.HOST, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  problemsForClientErrors(server);
  return {
    server,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      trackers.stopPasses();
      retention.stop();
      await starts.stop();
      await temporal.connection.close();
    },
  };
}

function requireEnv(config: Config): { databaseUrl: string; temporalAddress: string; secretKeys: string; payloadKeys: string } {
  if (!config.DATABASE_URL || !config.TEMPORAL_ADDRESS || !config.SECRET_KEYS || !config.PAYLOAD_KEYS) {
    process.stderr.write(
      'DATABASE_URL, TEMPORAL_ADDRESS, SECRET_KEYS and PAYLOAD_KEYS must be set to run this process alone (SECRET_KEYS and PAYLOAD_KEYS are separate key sets, each "kid:$(openssl rand -base64 32)"; the worker and the API need the same PAYLOAD_KEYS); `npm start` runs the whole stack with embedded services.\n',
    );
    process.exit(2);
  }
  return { databaseUrl: config.DATABASE_URL, temporalAddress: config.TEMPORAL_ADDRESS, secretKeys: config.SECRET_KEYS, payloadKeys: config.PAYLOAD_KEYS };
}

/**
 * Opens the database, migrates it, builds the connection kit, and re-seals credentials and personal data left
 * in clear (written before sealing existed) or under a retired key.
 */
export async function openAppDatabase(config: Config, databaseUrl: string, secretKeys: string): Promise<{ orm: Orm; kit: ConnectionKit }> {
  const orm = await openDatabase(databaseUrl);
  return { orm, kit: await appKit(config, orm, secretKeys) };
}

/** The connection kit from the configuration; credentials and personal data left in clear or under a retired key re-sealed. */
export async function appKit(config: Config, orm: Orm, secretKeys: string): Promise<ConnectionKit> {
  const kit = connectionKit(orm, {
    secretKeys,
    jiraTimeoutMs: config.JIRA_REQUEST_TIMEOUT_SECONDS * 1000,
    allowHttpHosts: config.JIRA_HTTP_HOST_ALLOWLIST,
    gatewayUrl: config.JIRA_API_GATEWAY_URL,
    oauth: oauthApp(config),
    // Data Center authorizations come back to the same callback as Cloud's.
    callbackUrl: config.JIRA_OAUTH_REDIRECT_URI ?? (config.WEBHOOK_BASE_URL ? `${config.WEBHOOK_BASE_URL.replace(/\/+$/, '')}/api/v1/oauth/jira/callback` : undefined),
    rateLimitPerSecond: config.JIRA_RATE_LIMIT_PER_SECOND,
    appPointsPerHour: config.JIRA_APP_POINTS_PER_HOUR,
  });
  const resealed = await resealConnections(orm.em.fork(), kit.secrets);
  if (resealed) log.info('re-sealed connection credentials with the active key', { connections: resealed, kid: kit.secrets.keyring.activeKid });
  await new PersonalDataEraser(orm, new PersonalDataSeal(kit.secrets.keyring)).sealLegacyRows();
  return kit;
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
  const { databaseUrl, temporalAddress, secretKeys, payloadKeys } = requireEnv(config);
  const sdkMetricsUrl = installTemporalRuntime(config);
  const { orm, kit } = await openAppDatabase(config, databaseUrl, secretKeys);
  const codec = new PayloadEncryptionCodec(payloadKeys);
  const worker = await startWorker(config, orm, temporalAddress, kit, codec);
  const metricsServer = sdkMetricsUrl ? await serveWorkerMetrics(config.HOST, config.WORKER_METRICS_PORT, sdkMetricsUrl) : undefined;
  log.info('worker running', {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    payloadKey: codec.activeKid,
    metricsPort: metricsServer ? config.WORKER_METRICS_PORT : null,
    workflowCode: worker.workflowCode,
    deployment: worker.version.deploymentName,
    buildId: worker.version.buildId,
  });
  void worker.versioning.then((v) => {
    const fields = { deployment: v.version.deploymentName, buildId: v.version.buildId, currentBuildId: v.currentBuildId };
    if (v.current) log.info(`worker version ${v.version.deploymentName}:${v.version.buildId} is current: it gets new workflows`, fields);
    else {
      log.info(
        `worker version ${v.version.deploymentName}:${v.version.buildId} is not the current version (${v.currentBuildId ?? 'unversioned workers'}): it gets no new workflows until an operator makes it current (docs/operators.md, "Rolling out a new version")`,
        fields,
      );
    }
  });
  onSignals(async () => {
    // In-flight activities finish (or time out) before the process exits; nothing new is polled.
    await worker.stop();
    metricsServer?.close();
    await kit.close();
    await orm.close();
  });
  await worker.running;
}

/** `node dist/src/api/main.js`: the API alone. */
export async function runApiProcess(): Promise<void> {
  const config = configOrExit();
  const { databaseUrl, temporalAddress, secretKeys, payloadKeys } = requireEnv(config);
  const { orm, kit } = await openAppDatabase(config, databaseUrl, secretKeys);
  const codec = new PayloadEncryptionCodec(payloadKeys);
  const api = await startApi(config, orm, temporalAddress, kit, codec);
  log.info('API listening', { port: config.PORT, payloadKey: codec.activeKid });
  onSignals(async () => {
    await api.stop();
    await kit.close();
    await orm.close();
  });
}

/** A worker has no API: it serves /metrics (its own and the SDK's) on a port of its own. */
function serveWorkerMetrics(host: string, port: number, sdkMetricsUrl: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    metricsText(sdkMetricsUrl).then(
      (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  return new Promise((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve(server)));
}

export { onSignals };
