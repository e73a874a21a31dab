import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../privacy-requests/activities.js';
import { createAnomalyActivities } from '../anomalies/activities.js';
import { createWebhookActivities } from '../jira-webhooks/activities.js';
import { createTrackerActivities } from '../tracker/activities.js';

export const workflowsPath = fileURLToPath(new URL('../workflows.js', import.meta.url));

export interface WorkerDeps extends ActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** A prebuilt bundle (tests build one and share it); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  tuning?: { maxCachedWorkflows: number; maxConcurrentActivityTaskExecutions: number; maxConcurrentWorkflowTaskExecutions: number; workflowThreadPoolSize: number };
  /** Payload codecs (PAYLOAD_KEYS encryption); they run outside the workflow sandbox, so the bundle is unaffected. */
  dataConverter?: WorkerOptions['dataConverter'];
}

/** The one worker of ticketflow: all workflows and activities on one task queue. */
export function createWorker(deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath }),
    ...deps.tuning,
    // Reads and read-model writes are local activities: as many may run together as activities may.
    ...(deps.tuning ? { maxConcurrentLocalActivityExecutions: deps.tuning.maxConcurrentActivityTaskExecutions } : {}),
    ...(deps.dataConverter ? { dataConverter: deps.dataConverter } : {}),
    // A tracker's cycle signals many workflows at once: enough pollers to drain their tasks quickly.
    maxConcurrentActivityTaskPolls: 8,
    maxConcurrentWorkflowTaskPolls: 8,
    activities: { ...createActivities(deps), ...createAnomalyActivities(deps), ...createWebhookActivities(deps), ...createTrackerActivities(deps) },
  });
}
