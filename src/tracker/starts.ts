import type { Client } from '@temporalio/client';
import type { Orm } from '../platform/db/orm.js';
import { Connection } from '../platform/db/entities.js';
import { JiraConnection } from '../platform/temporal/search-attributes.js';
import { signalIfRunning } from '../platform/temporal/signals.js';
import { log } from '../platform/log.js';
import { stopTrackerSignal, trackerWorkflowId, type TrackerInput } from './messages.js';
import type { jiraTracker } from './workflow.js';

export interface TrackerSettings {
  taskQueue: string;
  intervalMinutes: number;
  webhookIntervalMinutes: number;
  overlapMinutes: number;
  reconcileIntervalMinutes: number;
}

/**
 * Starts and stops the trackers: one per enabled Jira connection. Starting is idempotent (a running tracker is
 * kept), so every API process may do it; a periodic pass makes up for a start that failed while Temporal was
 * unreachable, and for connections written to the database directly.
 */
export class ConnectionTrackers {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly orm: Orm,
    private readonly temporal: Client,
    private readonly settings: TrackerSettings,
  ) {}

  async ensure(connectionKey: string): Promise<void> {
    const { taskQueue, ...cadence } = this.settings;
    const input: TrackerInput = { connectionKey, ...cadence };
    await this.temporal.workflow.start<typeof jiraTracker>('jiraTracker', {
      workflowId: trackerWorkflowId(connectionKey),
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [{ key: JiraConnection, value: connectionKey }],
      staticSummary: `Tracks the Jira tickets of connection ${connectionKey}: what changed every ${cadence.intervalMinutes} min, deletions every ${cadence.reconcileIntervalMinutes} min`,
    });
  }

  async stop(connectionKey: string, reason: string): Promise<void> {
    await signalIfRunning(this.temporal, trackerWorkflowId(connectionKey), stopTrackerSignal, { reason });
  }

  /** Every enabled Jira connection has its tracker running. */
  async ensureAll(): Promise<number> {
    const enabled = await this.orm.em.fork().find(Connection, { connectionType: 'jira_ticket', disabled: false });
    for (const c of enabled) await this.ensure(c.key);
    return enabled.length;
  }

  /** Applies a connection's new state: enabled ones track, disabled ones stop. Failures are left to the next pass. */
  async follow(connectionKey: string, disabled: boolean): Promise<void> {
    await (disabled ? this.stop(connectionKey, `connection ${connectionKey} was disabled`) : this.ensure(connectionKey)).catch((err: Error) =>
      log.warn('could not start or stop a connection tracker now; the next pass tries again', { connection: connectionKey, error: err.message }),
    );
  }

  start(everyMs = 10 * 60_000): this {
    const pass = () => void this.ensureAll().catch((err: Error) => log.warn('could not start the connection trackers; trying again later', { error: err.message }));
    pass();
    this.timer = setInterval(pass, everyMs);
    this.timer.unref();
    return this;
  }

  stopPasses(): void {
    clearInterval(this.timer);
  }
}
