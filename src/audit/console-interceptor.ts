import { patched, proxyLocalActivities, type WorkflowInboundCallsInterceptor, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import type { AuditActivities } from './activities.js';
import { AUDIT_CONSOLE_ACTIONS } from './messages.js';
import { CALLER_HEADER } from '../platform/temporal/caller.js';
import { dbRetry } from '../platform/temporal/workflow-support.js';

const { recordConsoleAction } = proxyLocalActivities<AuditActivities>({ startToCloseTimeout: '30 seconds', retry: dbRetry, summary: 'Record the operator action in the audit log' });

/**
 * Console actions in the audit log, for every workflow: a signal or Update that did not come from
 * ticketflow's own clients (they mark theirs, see caller.ts) was sent by an operator from the Temporal UI or
 * CLI. The handler runs first, exactly as before; then the workflow records the message's name (never its
 * arguments) with a local activity. The workflow waits for handlers before it ends, so none is lost.
 */
class ConsoleActions implements WorkflowInboundCallsInterceptor {
  async handleSignal(input: Parameters<NonNullable<WorkflowInboundCallsInterceptor['handleSignal']>>[0], next: Parameters<NonNullable<WorkflowInboundCallsInterceptor['handleSignal']>>[1]): Promise<void> {
    await next(input);
    if (!(CALLER_HEADER in input.headers) && patched(AUDIT_CONSOLE_ACTIONS)) await recordConsoleAction({ kind: 'signal', name: input.signalName });
  }

  async handleUpdate(input: Parameters<NonNullable<WorkflowInboundCallsInterceptor['handleUpdate']>>[0], next: Parameters<NonNullable<WorkflowInboundCallsInterceptor['handleUpdate']>>[1]): Promise<unknown> {
    if (CALLER_HEADER in input.headers) return next(input);
    let outcome: 'completed' | 'failed' = 'failed';
    try {
      const result = await next(input);
      outcome = 'completed';
      return result;
    } finally {
      if (patched(AUDIT_CONSOLE_ACTIONS)) await recordConsoleAction({ kind: 'update', name: input.name, outcome });
    }
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new ConsoleActions()] });
