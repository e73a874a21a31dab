import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { PrivacyRequestId } from '../platform/temporal/search-attributes.js';
import { log } from '../platform/log.js';
import { RETENTION_SCHEDULE_ID, RETENTION_WORKFLOW_ID, redactionWorkflowId, type RetentionInput } from './messages.js';

/** How long personal data and audit entries are kept, and how often retention runs (PERSONAL_DATA_RETENTION_DAYS, AUDIT_LOG_RETENTION_DAYS, RETENTION_SWEEP_MINUTES). */
export interface PrivacySettings {
  personalDataRetentionDays: number;
  auditLogRetentionDays: number;
  sweepMinutes: number;
}

export const DEFAULT_PRIVACY_SETTINGS: PrivacySettings = { personalDataRetentionDays: 30, auditLogRetentionDays: 365, sweepMinutes: 60 };

/** Starts the redaction of a request's tickets in Jira, unless it runs already (it then finds the new pending tickets itself). */
export async function startJiraRedaction(temporal: Client, taskQueue: string, privacyRequestId: string): Promise<void> {
  // By name: the workflow's activities start it, so its type here would make an import cycle.
  await temporal.workflow.start('jiraRedaction', {
    workflowId: redactionWorkflowId(privacyRequestId),
    taskQueue,
    args: [{ privacyRequestId }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [{ key: PrivacyRequestId, value: privacyRequestId }],
    staticSummary: `Redacts the personal data of privacy request ${privacyRequestId} from the Jira tickets ticketflow rendered it into`,
  });
}

/**
 * The retention schedule: a Temporal Schedule (`ticketflow-retention`, under Schedules in the UI) that runs
 * `retentionSweep` every RETENTION_SWEEP_MINUTES. Every API process ensures it at start, idempotently: created
 * when missing, otherwise brought to the configured periods (kept paused if an operator paused it). A pass
 * every 10 minutes makes up for a start while Temporal was unreachable.
 */
export class RetentionSchedule {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly temporal: Client,
    private readonly taskQueue: string,
    private readonly settings: PrivacySettings,
  ) {}

  private options(): ScheduleOptions {
    const { personalDataRetentionDays: days, auditLogRetentionDays: auditDays, sweepMinutes } = this.settings;
    const input: RetentionInput = { personalDataRetentionDays: days, auditLogRetentionDays: auditDays };
    const what = `Erases the personal data of privacy requests ${days === 0 ? 'as soon as' : `${days} days after`} their manual tasks complete or they are canceled or denied; deletes audit entries older than ${auditDays} days`;
    return {
      scheduleId: RETENTION_SCHEDULE_ID,
      spec: { intervals: [{ every: `${sweepMinutes} minutes` }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'retentionSweep',
        workflowId: RETENTION_WORKFLOW_ID,
        taskQueue: this.taskQueue,
        args: [input],
        staticSummary: what,
      },
      // A run that takes longer than the interval is not doubled; one missed while Temporal was away is made up within the hour.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      state: { note: `${what}; every ${sweepMinutes} min (ticketflow keeps this schedule as configured; pause it here to stop erasures)` },
    };
  }

  async ensure(): Promise<'created' | 'updated'> {
    const opts = this.options();
    try {
      await this.temporal.schedule.create(opts);
      return 'created';
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    }
    await this.temporal.schedule.getHandle(RETENTION_SCHEDULE_ID).update((prev) => ({
      ...prev,
      spec: opts.spec,
      action: opts.action,
      policies: { ...prev.policies, ...opts.policies },
      state: { ...prev.state, note: prev.state.paused ? prev.state.note : opts.state!.note },
    }));
    return 'updated';
  }

  start(everyMs = 10 * 60_000): this {
    let ensured = false;
    const pass = () => {
      if (ensured) return;
      void this.ensure().then(
        () => void (ensured = true),
        (err: Error) => log.warn('could not ensure the retention schedule; trying again later', { error: err.message }),
      );
    };
    pass();
    this.timer = setInterval(pass, everyMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
