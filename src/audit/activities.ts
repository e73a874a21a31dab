import { Context } from '@temporalio/activity';
import type { Orm } from '../platform/db/orm.js';
import { AuditLog, targetsOfWorkflowId } from './log.js';
import type { ConsoleAction } from './messages.js';

/** The audit log's activities: console actions as workflows see them, and the purge that retention runs. */
export function createAuditActivities(deps: { orm: Orm }) {
  const audit = new AuditLog(deps.orm);
  return {
    /** A signal or Update an operator sent (see console-interceptor.ts); the workflow and its ids come from the activity's context. */
    async recordConsoleAction(action: ConsoleAction): Promise<void> {
      const { workflowExecution, workflowType } = Context.current().info;
      const workflowId = workflowExecution?.workflowId ?? 'unknown';
      await audit.record({
        actor: 'temporal_console',
        route: `${action.kind} ${action.name}`,
        targets: targetsOfWorkflowId(workflowId),
        temporal: `${action.kind} ${action.name} to ${workflowType}${action.outcome ? ` (${action.outcome})` : ''}`,
      });
    },

    async purgeAuditLog({ retentionDays }: { retentionDays: number }): Promise<{ deleted: number }> {
      return { deleted: await audit.purge(retentionDays) };
    },
  };
}

export type AuditActivities = ReturnType<typeof createAuditActivities>;
