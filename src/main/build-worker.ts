import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import type { Orm } from '../platform/db/orm.js';
import type { ConnectionKit } from '../connections/kit.js';
import type { SearchLag } from '../jira/activity-failures.js';
import { createActivities } from '../privacy-requests/activities.js';
import { privacyRequestChores } from '../privacy-requests/tracker-chores.js';
import { createAnomalyActivities } from '../anomalies/activities.js';
import { anomalyChores } from '../anomalies/tracker-chores.js';
import { createWebhookActivities } from '../jira-webhooks/activities.js';
import { createTrackerActivities } from '../tracker/activities.js';
import { createCallbackActivities } from '../callbacks/activities.js';

/** Everything the worker's activities close over, and how the worker itself runs. */
export interface WorkerDeps {
  orm: Orm;
  kit: ConnectionKit;
  /** The worker's Temporal client: the tracker's activities signal the workflows whose ticket changed. */
  temporal: Client;
  /** UPSTREAM_CALLBACK_URL and _SECRET: where signed callbacks go (unset: none are sent) */
  upstream: { url?: string; secret?: string };
  /** WEBHOOK_BASE_URL: OAuth connections' dynamic webhooks deliver there */
  webhookBaseUrl?: string;
  search?: SearchLag;
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** The workflow code (./workflow-bundle.ts: prebuilt by `npm run build`, or bundled at start in development). */
  workflowBundle: NonNullable<WorkerOptions['workflowBundle']>;
  /**
   * The worker deployment version this worker belongs to. Every worker has one: the workflow types declare
   * their versioning behaviour (src/workflows.ts), and the server refuses that from an unversioned worker.
   */
  version: WorkerDeploymentVersion;
  tuning?: { maxCachedWorkflows: number; maxConcurrentActivityTaskExecutions: number; maxConcurrentWorkflowTaskExecutions: number; workflowThreadPoolSize: number };
  /** Payload codecs (PAYLOAD_KEYS encryption); they run outside the workflow sandbox, so the bundle is unaffected. */
  dataConverter?: WorkerOptions['dataConverter'];
}

/**
 * A versioned worker's options. Each workflow type says how it moves between versions (src/workflows.ts);
 * the default covers a type that says nothing.
 */
export function deploymentOptions(version: WorkerDeploymentVersion): NonNullable<WorkerOptions['workerDeploymentOptions']> {
  return { useWorkerVersioning: true, version, defaultVersioningBehavior: 'AUTO_UPGRADE' };
}

/** The one worker of ticketflow: all workflows and activities on one task queue. */
export function createWorker(deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    workflowBundle: deps.workflowBundle,
    workerDeploymentOptions: deploymentOptions(deps.version),
    ...deps.tuning,
    // Reads and read-model writes are local activities: as many may run together as activities may.
    ...(deps.tuning ? { maxConcurrentLocalActivityExecutions: deps.tuning.maxConcurrentActivityTaskExecutions } : {}),
    ...(deps.dataConverter ? { dataConverter: deps.dataConverter } : {}),
    // A tracker's cycle signals many workflows at once: enough pollers to drain their tasks quickly.
    maxConcurrentActivityTaskPolls: 8,
    maxConcurrentWorkflowTaskPolls: 8,
    activities: {
      ...createActivities(deps),
      ...createAnomalyActivities(deps),
      ...createWebhookActivities(deps),
      ...createTrackerActivities({ ...deps, chores: [...privacyRequestChores(deps), ...anomalyChores(deps)] }),
      ...createCallbackActivities(deps),
    },
  });
}
