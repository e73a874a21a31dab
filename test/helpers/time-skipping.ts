import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { before } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { WorkflowNotFoundError, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import type { SignalDefinition, Workflow } from '@temporalio/common';
import { timeSkippingExecutable } from '../../tools/temporal/servers.js';
import { registerSearchAttributes } from '../../src/platform/temporal/register-search-attributes.js';
import { eventually, uniqueName, workflowBundle } from './infra.js';
import { fileCleanup, type Cleanup } from './cleanup.js';

export interface TimeSkipping {
  readonly env: TestWorkflowEnvironment;
  /** the file's disposer stack: workers go on it after the server, so they stop before it is torn down */
  readonly cleanup: Cleanup;
}

/** Temporal's time-skipping test server for one test file: month-long waits take no real time. */
export function useTimeSkipping(): TimeSkipping {
  let env: TestWorkflowEnvironment | undefined;
  const cleanup = fileCleanup();
  before(async () => {
    env = cleanup.keep('time-skipping server', await startTimeSkipping(), (e) => e.teardown());
    await registerSearchAttributes(env.connection, 'default');
  });
  return {
    cleanup,
    get env() {
      if (!env) throw new Error('the time-skipping server is not up yet');
      return env;
    },
  };
}

/**
 * The SDK gives the server's JVM 5 s to listen (a fixed limit in its core) and then kills it: on a loaded
 * machine that start can take longer, so it is tried again, three times in all, before the file fails.
 */
async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  const executable = await timeSkippingExecutable();
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({ server: { executable } });
    } catch (err) {
      if (attempt >= 3 || !/did not start within/.test((err as Error).message ?? '')) throw err;
      process.stderr.write(`the time-skipping server did not start in time (attempt ${attempt} of 3); starting it again\n`);
    }
  }
}

/**
 * Asks a workflow that may be continuing as new: the time-skipping server answers "Completed workflow" to a
 * signal or query that arrives between a run's end and its successor's start (the real server hands a
 * signal to the new run), so the call is made again until the successor answers.
 */
export async function acrossRuns<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const betweenRuns = err instanceof WorkflowNotFoundError || /completed workflow/i.test((err as Error).message ?? '');
      if (!betweenRuns || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export function signalAcrossRuns<A extends unknown[]>(h: WorkflowHandle, def: SignalDefinition<A>, ...args: A): Promise<void> {
  return acrossRuns(() => h.signal(def, ...args));
}

/**
 * The workflow's history once it is at rest (its last task completed, none scheduled after it, and `ready`
 * true): what a test measures growth from.
 */
export async function historyAtRest(h: WorkflowHandle, ready: () => boolean = () => true) {
  return eventually(async () => {
    const events = (await h.fetchHistory()).events ?? [];
    const completed = events.findLastIndex((e) => e.workflowTaskCompletedEventAttributes);
    const scheduled = events.findLastIndex((e) => e.workflowTaskScheduledEventAttributes);
    return ready() && completed > scheduled ? events : null;
  }, 'the workflow at rest');
}

/**
 * Console actions the workflows of this file recorded: the tests' client is not ticketflow's, so its signals
 * and Updates are an operator's as far as the workflows can tell (src/audit/console-interceptor.ts).
 */
export const consoleActions: Array<{ kind: string; name: string; outcome?: string }> = [];

/**
 * Runs one workflow with the given (mocked) activities on its own task queue. With RECORD_HISTORIES=1
 * (`npm run record-histories`) the history of a run given `recordAs` is saved under test/histories.
 */
export async function runWorkflow<W extends Workflow>(
  ts: TimeSkipping,
  opts: { type: string; workflowId: string; args: Parameters<W>; activities: object; recordAs?: string },
  body: (h: WorkflowHandle<W>) => Promise<void>,
): Promise<void> {
  const { env } = ts;
  const taskQueue = uniqueName('wf');
  const activities = { recordConsoleAction: async (a: { kind: string; name: string; outcome?: string }) => void consoleActions.push(a), ...opts.activities };
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: workflowBundle(), activities });
  // A test that times out leaves its body running: this worker must still stop before the server goes.
  const stopWorker = ts.cleanup.add(`worker on ${taskQueue}`, () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start<W>(opts.type, { taskQueue, workflowId: uniqueName(opts.workflowId), args: opts.args } as unknown as WorkflowStartOptions<W>);
    try {
      await body(handle);
      if (opts.recordAs && process.env.RECORD_HISTORIES === '1') {
        const file = fileURLToPath(new URL(`../../../test/histories/${opts.recordAs}.json`, import.meta.url));
        writeFileSync(file, historyToJSON(await handle.fetchHistory()));
      }
    } finally {
      // A workflow left running with work queued for this (stopping) worker would stall time skipping for the next test.
      await handle.terminate('test over').catch(() => {});
    }
  }).finally(stopWorker);
}
