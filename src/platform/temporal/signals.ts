import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';

/**
 * Signals a workflow if it is running. False when it has finished (or never started): there is nobody left
 * to tell, which for news about a ticket is not an error. Every other failure propagates.
 */
export async function signalIfRunning<A extends unknown[]>(client: Client, workflowId: string, def: SignalDefinition<A>, ...args: A): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).signal(def, ...args);
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
