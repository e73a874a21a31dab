import { hostname } from 'node:os';
import { isGrpcServiceError, type Client } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import proto from '@temporalio/proto';

/**
 * Worker deployments (worker versioning): which version of the workers gets new workflows and the tasks of
 * AUTO_UPGRADE ones. Operators switch versions with the temporal CLI (docs/operators.md, "Rolling out a new
 * version"); ticketflow itself only makes a version current where nobody has chosen one yet.
 */

const NOT_FOUND = 5; // gRPC status: the deployment does not exist until a worker of it has polled

export interface DeploymentState {
  /** pass to a change so that it fails if someone changed the deployment meanwhile */
  conflictToken: Uint8Array;
  /** null: unversioned workers get new workflows */
  currentBuildId: string | null;
  /** a current version was chosen at least once (unversioned included): ticketflow then leaves it to operators */
  currentEverSet: boolean;
  buildIds: string[];
  /** every task queue partition routes by the latest change (an older server does not say: taken as yes) */
  propagated: boolean;
}

export const versionName = (v: WorkerDeploymentVersion) => `${v.deploymentName}:${v.buildId}`;

/** The deployment as the server sees it; undefined until a worker of it has polled. */
export async function describeDeployment(client: Client, deploymentName: string): Promise<DeploymentState | undefined> {
  try {
    const res = await client.workflowService.describeWorkerDeployment({ namespace: client.options.namespace, deploymentName });
    const info = res.workerDeploymentInfo;
    const routing = info?.routingConfig;
    return {
      conflictToken: res.conflictToken,
      currentBuildId: routing?.currentDeploymentVersion?.buildId || null,
      currentEverSet: !!routing?.currentVersionChangedTime,
      buildIds: (info?.versionSummaries ?? []).map((s) => s.deploymentVersion?.buildId ?? '').filter(Boolean),
      propagated: info?.routingConfigUpdateState !== proto.temporal.api.enums.v1.RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_IN_PROGRESS,
    };
  } catch (err) {
    if (isGrpcServiceError(err) && err.code === NOT_FOUND) return undefined;
    throw err;
  }
}

/** Makes `version` the one that gets new workflows and AUTO_UPGRADE tasks (what `temporal worker deployment set-current-version` does). */
export async function setCurrentVersion(client: Client, version: WorkerDeploymentVersion, conflictToken?: Uint8Array): Promise<void> {
  await client.workflowService.setWorkerDeploymentCurrentVersion({
    namespace: client.options.namespace,
    deploymentName: version.deploymentName,
    buildId: version.buildId,
    identity: `ticketflow@${hostname()}/${process.pid}`,
    ...(conflictToken ? { conflictToken } : {}),
  });
}

/**
 * Waits until the workers of `version` poll both halves of `taskQueue` (workflow and activity tasks), as the
 * server sees it: before that, making the version current is refused (its task queues would be missing).
 */
export async function versionRegistered(client: Client, version: WorkerDeploymentVersion, taskQueue: string, timeoutMs = 30_000): Promise<DeploymentState> {
  const { WORKFLOW, ACTIVITY } = { WORKFLOW: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, ACTIVITY: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const polled = await polledTaskQueues(client, version);
    const state = polled.length ? await describeDeployment(client, version.deploymentName) : undefined;
    if (state && [WORKFLOW, ACTIVITY].every((type) => polled.some((q) => q.name === taskQueue && q.type === type))) return state;
    if (Date.now() > deadline) throw new Error(`the Temporal server has not seen the workers of ${versionName(version)} poll task queue ${taskQueue} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function polledTaskQueues(client: Client, version: WorkerDeploymentVersion): Promise<Array<{ name: string; type: number }>> {
  try {
    const res = await client.workflowService.describeWorkerDeploymentVersion({ namespace: client.options.namespace, deploymentVersion: version });
    const queues = res.versionTaskQueues?.length ? res.versionTaskQueues : (res.workerDeploymentVersionInfo?.taskQueueInfos ?? []);
    return queues.map((q) => ({ name: q.name ?? '', type: q.type ?? 0 }));
  } catch (err) {
    if (isGrpcServiceError(err) && err.code === NOT_FOUND) return [];
    throw err;
  }
}

export type Adoption = { made: 'current' } | { made: 'nothing'; currentBuildId: string | null };

/**
 * On a deployment whose current version was never chosen (a new cluster, or the first versioned rollout
 * over unversioned workers), the first version to poll becomes current: otherwise nothing would run until an
 * operator stepped in. Once one was chosen, new versions wait for an operator to make them current. Two
 * first workers racing both pass the same conflict token: one wins, the other finds a choice made.
 */
export async function adoptIfUnchosen(client: Client, version: WorkerDeploymentVersion, taskQueue: string): Promise<Adoption> {
  const state = await versionRegistered(client, version, taskQueue);
  if (state.currentBuildId === version.buildId) return { made: 'current' };
  if (state.currentEverSet) return { made: 'nothing', currentBuildId: state.currentBuildId };
  try {
    await setCurrentVersion(client, version, state.conflictToken);
    return { made: 'current' };
  } catch (err) {
    const now = await describeDeployment(client, version.deploymentName);
    if (now?.currentEverSet) return now.currentBuildId === version.buildId ? { made: 'current' } : { made: 'nothing', currentBuildId: now.currentBuildId };
    throw err;
  }
}
