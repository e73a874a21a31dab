import { WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, isGrpcDeadlineError, type Client } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';

/** The workflow refused the Update: its validator (or handler) said why, in words for the caller. */
export class UpdateRefused extends Error {
  override name = 'UpdateRefused';
}

/** There is no running workflow to ask: it has finished, or has not been started yet. */
export class WorkflowNotRunning extends Error {
  override name = 'WorkflowNotRunning';
}

/**
 * Sends an Update and waits for its answer, at most `waitMs`. Undefined when the answer takes longer: the
 * Update is accepted and goes on in the workflow (a slow Jira, say), and the caller can say so.
 */
export async function ask<Ret, Args extends unknown[]>(client: Client, workflowId: string, def: UpdateDefinition<Ret, Args>, args: Args, waitMs = 10_000): Promise<Ret | undefined> {
  try {
    const handle = client.workflow.getHandle(workflowId);
    return await client.withDeadline(Date.now() + waitMs, () => handle.executeUpdate<Ret, []>(def.name, { args } as never));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new WorkflowNotRunning(err.message);
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause instanceof ApplicationFailure ? err.cause.message : err.message;
      throw new UpdateRefused(cause);
    }
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err)) return undefined;
    throw err;
  }
}
