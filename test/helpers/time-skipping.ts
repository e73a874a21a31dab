import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle, WorkflowStartOptions } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { timeSkippingExecutable } from '../../src/devtools/temporal-tools.js';
import { registerSearchAttributes } from '../../src/temporal/search-attributes.js';
import { uniqueName, workflowBundle } from './infra.js';

/** Temporal's time-skipping test server for one test file: month-long waits take no real time. */
export function useTimeSkipping(): { readonly env: TestWorkflowEnvironment } {
  let env: TestWorkflowEnvironment | undefined;
  before(async () => {
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: await timeSkippingExecutable() } });
    await registerSearchAttributes(env.connection, 'default');
  });
  after(async () => {
    await env?.teardown();
  });
  return {
    get env() {
      if (!env) throw new Error('the time-skipping server is not up yet');
      return env;
    },
  };
}

/**
 * Runs one workflow with the given (mocked) activities on its own task queue. With RECORD_HISTORIES=1
 * (`npm run record-histories`) the history of a run given `recordAs` is saved under test/histories.
 */
export async function runWorkflow<W extends Workflow>(
  env: TestWorkflowEnvironment,
  opts: { type: string; workflowId: string; args: Parameters<W>; activities: object; recordAs?: string },
  body: (h: WorkflowHandle<W>) => Promise<void>,
): Promise<void> {
  const taskQueue = uniqueName('wf');
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: workflowBundle(), activities: opts.activities });
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
  });
}
