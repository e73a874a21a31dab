import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { deploymentOptions } from '../src/main/build-worker.js';
import { loadWorkflowCode, workflowBundlePath } from '../src/main/workflow-bundle.js';
import { adoptIfUnchosen, describeDeployment, setCurrentVersion, versionRegistered } from '../src/platform/temporal/deployments.js';
import type { TrackerActivities } from '../src/tracker/activities.js';
import type { AnomalyActivities } from '../src/anomalies/activities.js';
import type { AuditActivities } from '../src/audit/activities.js';
import { stopTrackerSignal, syncNowSignal, type CycleReport, type TrackerInput } from '../src/tracker/messages.js';
import type { AnomalyTicketCreateInput, TicketView } from '../src/anomalies/messages.js';
import type { jiraTracker } from '../src/tracker/workflow.js';
import type { anomalyTicketCreate } from '../src/anomalies/workflows.js';
import { temporalCliExecutable } from '../tools/temporal/servers.js';
import { eventually, temporalAddress, temporalConnections, uniqueName, workflowBundle } from './helpers/infra.js';
import { fileCleanup } from './helpers/cleanup.js';

/**
 * A rollout and a rollback with worker versioning, on the real dev server: the workflow code that ships
 * (each type's versioning behaviour from src/workflows.ts), two worker versions A and B on one task queue,
 * and the operator's command (docs/operators.md, "Rolling out a new version") to switch between them.
 * Activities are stand-ins that say which version ran them.
 */

const cleanup = fileCleanup();
const { VERSIONING_BEHAVIOR_AUTO_UPGRADE: AUTO_UPGRADE, VERSIONING_BEHAVIOR_PINNED: PINNED } = proto.temporal.api.enums.v1.VersioningBehavior;
const run = promisify(execFile);

/** What each version's activities saw: tracker cycles per workflow, create attempts per anomaly. */
class Ledger {
  cycles = new Map<string, string[]>();
  creates = new Map<string, Array<{ build: string; attempt: number }>>();
  /** create activities held until the test lets them go: they fail once then, so that a retry is dispatched */
  private readonly held = new Map<string, { release: () => void; released: Promise<void> }>();

  hold(anomalyId: string) {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    this.held.set(anomalyId, { release, released });
  }
  release(anomalyId: string) {
    this.held.get(anomalyId)!.release();
  }
  /** A failed test must not leave an activity holding its worker's shutdown. */
  releaseAll() {
    for (const h of this.held.values()) h.release();
  }

  /** console actions the workflows recorded: this test's client is not ticketflow's, so its signals are an operator's (src/audit/console-interceptor.ts) */
  consoleActions: Array<{ build: string; kind: string; name: string }> = [];

  activities(build: string): Pick<TrackerActivities, 'syncChanges' | 'reconcileTickets' | 'recordTrackerState'> & Pick<AnomalyActivities, 'createAnomalyTicket'> & Pick<AuditActivities, 'recordConsoleAction'> {
    return {
      recordConsoleAction: async ({ kind, name }) => void this.consoleActions.push({ build, kind, name }),
      syncChanges: async ({ connectionKey }) => {
        this.cycles.set(connectionKey, [...(this.cycles.get(connectionKey) ?? []), build]);
        const report: CycleReport = { tracked: 0, changed: 0, signalled: 0, calls: 1, points: 1, healed: 0, duplicatesClosed: 0, cursor: new Date().toISOString(), webhooks: false };
        return report;
      },
      reconcileTickets: async () => ({ checked: 0, deleted: 0, calls: 0, points: 0 }),
      recordTrackerState: async () => {},
      createAnomalyTicket: async (input: AnomalyTicketCreateInput): Promise<TicketView> => {
        const attempt = Context.current().info.attempt;
        this.creates.set(input.anomalyId, [...(this.creates.get(input.anomalyId) ?? []), { build, attempt }]);
        const held = this.held.get(input.anomalyId);
        if (held && attempt === 1) {
          await held.released;
          throw ApplicationFailure.retryable('Jira answered 503 (a stand-in failure: the retry shows where the workflow is routed)', 'JiraServerError');
        }
        return { ticket_id: '10001', ticket_number: `PRIV-${input.anomalyId}`, title: input.title, description: null, status: 'To Do', status_category: 'new', priority: null, category: null, created_at: null, updated_at: null, resolved_at: null, assigned_to: null } as TicketView;
      },
    };
  }
}

test('rollout to B and rollback to A: new workflows follow the current version, AUTO_UPGRADE ones move with it, PINNED ones finish where they started', async () => {
  const t = await temporalConnections(cleanup);
  const { client, namespace } = t;
  const taskQueue = uniqueName('rollout');
  const deploymentName = uniqueName('ticketflow');
  const A: WorkerDeploymentVersion = { deploymentName, buildId: 'build-a' };
  const B: WorkerDeploymentVersion = { deploymentName, buildId: 'build-b' };
  const ledger = new Ledger();

  const startWorker = async (version: WorkerDeploymentVersion) => {
    const worker = await Worker.create({
      connection: t.native,
      namespace,
      taskQueue,
      workflowBundle: workflowBundle(),
      activities: ledger.activities(version.buildId),
      workerDeploymentOptions: deploymentOptions(version),
    });
    const running = worker.run();
    cleanup.add(`worker ${version.buildId}`, async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });
    return worker;
  };

  /**
   * What an operator does (docs/operators.md): wait until the version's workers poll, then make it current
   * with the temporal CLI (the same API call where the SDK downloaded its own server and there is no CLI).
   */
  const makeCurrent = async (version: WorkerDeploymentVersion) => {
    await versionRegistered(client, version, taskQueue);
    const cli = await temporalCliExecutable();
    if (cli.type === 'existing-path') {
      await run(cli.path, ['worker', 'deployment', 'set-current-version', '--address', temporalAddress(), '--namespace', namespace, '--deployment-name', version.deploymentName, '--build-id', version.buildId, '--yes']);
    } else {
      await setCurrentVersion(client, version);
    }
    await eventually(async () => {
      const state = await describeDeployment(client, deploymentName);
      return state?.currentBuildId === version.buildId && state.propagated;
    }, `${version.buildId} current on every task queue partition`);
  };

  const trackerInput = (connectionKey: string): TrackerInput => ({ connectionKey, intervalMinutes: 24 * 60, webhookIntervalMinutes: 24 * 60, overlapMinutes: 5, reconcileIntervalMinutes: 7 * 24 * 60 });
  const startTracker = (connectionKey: string) =>
    client.workflow.start<typeof jiraTracker>('jiraTracker', { taskQueue, workflowId: `jira-tracker/${connectionKey}`, args: [trackerInput(connectionKey)] });
  const startCreate = (anomalyId: string) =>
    client.workflow.start<typeof anomalyTicketCreate>('anomalyTicketCreate', {
      taskQueue,
      workflowId: `anomaly/${anomalyId}/create/x`,
      args: [{ anomalyId, connectionKey: 'jira', title: `Anomaly ${anomalyId}`, description: '', priority: null, label: `tf-${anomalyId}` }],
    });
  const cyclesOf = (key: string) => ledger.cycles.get(key) ?? [];
  const cycled = (key: string, builds: string[]) => eventually(async () => cyclesOf(key).length === builds.length && cyclesOf(key), `${key}: cycles on ${builds.join(', ')}`).then((seen) => assert.deepEqual(seen, builds));
  const syncNow = async (h: WorkflowHandle, key: string, builds: string[]) => {
    await h.signal(syncNowSignal);
    await cycled(key, builds);
  };
  /** The version and behaviour the server records for a workflow, and the version of its last workflow task. */
  const versioning = async (h: WorkflowHandle) => {
    const info = (await h.describe()).raw.workflowExecutionInfo?.versioningInfo;
    const tasks = ((await h.fetchHistory()).events ?? []).filter((e) => e.workflowTaskCompletedEventAttributes);
    return { behavior: info?.behavior, buildId: info?.deploymentVersion?.buildId, lastTaskBy: tasks.at(-1)?.workflowTaskCompletedEventAttributes?.deploymentVersion?.buildId };
  };
  /** The operator's drain check (docs/operators.md): workflows still running pinned to a version. */
  const pinnedRunning = (v: WorkerDeploymentVersion) =>
    client.workflow.count(`TemporalWorkerDeploymentVersion = "${v.deploymentName}:${v.buildId}" AND TemporalWorkflowVersioningBehavior = "Pinned" AND ExecutionStatus = "Running"`).then((c) => c.count);

  try {
    // 1. The first version on a deployment nobody has chosen for becomes current by itself.
    await startWorker(A);
    assert.deepEqual(await adoptIfUnchosen(client, A, taskQueue), { made: 'current' });
    const t1 = await startTracker('one');
    await cycled('one', ['build-a']);
    ledger.hold('c1');
    const c1 = await startCreate('c1');
    await eventually(async () => ledger.creates.get('c1')?.length === 1, 'c1 attempting on A');
    assert.deepEqual(await versioning(t1), { behavior: AUTO_UPGRADE, buildId: 'build-a', lastTaskBy: 'build-a' });
    assert.deepEqual((await versioning(c1)).behavior, PINNED);

    // 2. B is deployed next to A: it gets nothing until an operator makes it current.
    await startWorker(B);
    assert.deepEqual(await adoptIfUnchosen(client, B, taskQueue), { made: 'nothing', currentBuildId: 'build-a' });
    await syncNow(t1, 'one', ['build-a', 'build-a']);

    // 3. Rollout: B current. New workflows start on B; the AUTO_UPGRADE tracker moves to B at its next task;
    //    the PINNED creation started on A retries and completes on A.
    await makeCurrent(B);
    const t2 = await startTracker('two');
    await cycled('two', ['build-b']);
    await syncNow(t1, 'one', ['build-a', 'build-a', 'build-b']);
    assert.deepEqual(await versioning(t1), { behavior: AUTO_UPGRADE, buildId: 'build-b', lastTaskBy: 'build-b' });
    await eventually(async () => (await pinnedRunning(A)) === 1, 'c1 keeping A from draining');
    ledger.release('c1');
    assert.equal((await c1.result()).ticket_number, 'PRIV-c1');
    assert.deepEqual(ledger.creates.get('c1'), [{ build: 'build-a', attempt: 1 }, { build: 'build-a', attempt: 2 }], 'the retry ran on A, though B is current');
    assert.deepEqual(await versioning(c1), { behavior: PINNED, buildId: 'build-a', lastTaskBy: 'build-a' });
    await eventually(async () => (await pinnedRunning(A)) === 0, 'A drained of pinned workflows');
    ledger.hold('c2');
    const c2 = await startCreate('c2');
    await eventually(async () => ledger.creates.get('c2')?.length === 1, 'c2 attempting on B');

    // 4. Rollback: A current again. New workflows start on A, both trackers move back to A (t2 was born on B),
    //    and the creation pinned to B still finishes on B: B's workers stay up until it drains.
    await makeCurrent(A);
    await syncNow(t1, 'one', ['build-a', 'build-a', 'build-b', 'build-a']);
    await syncNow(t2, 'two', ['build-b', 'build-a']);
    assert.deepEqual(await versioning(t2), { behavior: AUTO_UPGRADE, buildId: 'build-a', lastTaskBy: 'build-a' });
    const c3 = await startCreate('c3');
    await c3.result();
    assert.deepEqual(ledger.creates.get('c3'), [{ build: 'build-a', attempt: 1 }]);
    ledger.release('c2');
    await c2.result();
    assert.deepEqual(ledger.creates.get('c2'), [{ build: 'build-b', attempt: 1 }, { build: 'build-b', attempt: 2 }]);
    assert.deepEqual(await versioning(c2), { behavior: PINNED, buildId: 'build-b', lastTaskBy: 'build-b' });
    await eventually(async () => (await pinnedRunning(B)) === 0, 'B drained of pinned workflows');

    for (const h of [t1, t2]) await h.signal(stopTrackerSignal, { reason: 'test over' });
    await Promise.all([t1.result(), t2.result()]);
    // The audit interceptor rides along on every version: each syncNow the test sent was recorded once.
    await eventually(async () => ledger.consoleActions.filter((a) => a.kind === 'signal' && a.name === 'syncNow').length === 4, 'the four syncNow signals recorded as console actions');
  } finally {
    ledger.releaseAll();
  }
});

test("the default build id is the workflow bundle's content hash: the same whether prebuilt or bundled at start", async () => {
  const prebuilt = await loadWorkflowCode();
  assert.deepEqual(prebuilt.bundle, { codePath: workflowBundlePath });
  assert.match(prebuilt.contentBuildId, /^wf-[0-9a-f]{16}$/);
  const atStart = await loadWorkflowCode('/nonexistent/workflow-bundle.js');
  assert.equal(atStart.source, 'bundled at start');
  assert.equal(atStart.contentBuildId, prebuilt.contentBuildId, 'the same workflow code is the same version');
});
