import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Orm } from '../platform/db/orm.js';
import { workflowIdFor, type PrivacyRequestTicketInput } from './messages.js';
import { JiraConnection, PrivacyRequestId, TaskState } from '../platform/temporal/search-attributes.js';
import type { privacyRequestTicket } from './workflow.js';
import { log } from '../platform/log.js';

/** What the API's privacy-request service and its start queue need to know of the deployment. */
export interface ServiceSettings {
  taskQueue: string;
  createMaxAttempts: number;
}

interface PendingStart {
  instance_id: string;
  privacy_request_id: string;
  connection_key: string;
  request_type: string;
  start_attempts: number;
}

export interface StartOptions {
  /** instances claimed per transaction */
  batch?: number;
  /** passes running at once, each on its own batch: a slow start does not hold up the next batch */
  lanes?: number;
  /** how often failed or left-over starts are looked for */
  sweepMs?: number;
  /** a start that takes longer counts as failed (and is tried again) */
  startTimeoutMs?: number;
}

/**
 * Starts the ticket workflows of committed approvals (jira_ticket_instance.start_pending), so that an
 * approval answers once PostgreSQL has it, whatever Temporal's load or health. Each approval kicks a pass;
 * a sweep retries failed starts (with backoff) and picks up what a stopped process left. Rows are claimed
 * with FOR UPDATE SKIP LOCKED: API processes share the work, and a cancel waits for a start in flight.
 */
export class TicketWorkflowStarts {
  private readonly lanes = new Set<Promise<void>>();
  private again = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private readonly opts: Required<StartOptions>;

  constructor(
    private readonly orm: Orm,
    private readonly temporal: Client,
    private readonly settings: ServiceSettings,
    opts: StartOptions = {},
  ) {
    this.opts = { batch: opts.batch ?? 25, lanes: opts.lanes ?? 3, sweepMs: opts.sweepMs ?? 5000, startTimeoutMs: opts.startTimeoutMs ?? 10_000 };
  }

  /** Begins the sweep (and a first pass, for what was pending before this process started). */
  start(): this {
    this.timer = setInterval(() => void this.kick(), this.opts.sweepMs);
    this.timer.unref();
    void this.kick();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.idle();
  }

  /**
   * Starts everything pending now; resolves when that has been tried. A kick while a lane runs asks it for
   * one more pass; a lane that finds a full batch opens another, up to `lanes`, for a backlog.
   */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.again = true;
    if (this.lanes.size === 0) this.openLane();
    return this.idle();
  }

  private async idle(): Promise<void> {
    while (this.lanes.size) await Promise.all(this.lanes);
  }

  private openLane(): void {
    const lane = this.lane().finally(() => this.lanes.delete(lane));
    this.lanes.add(lane);
  }

  private async lane(): Promise<void> {
    try {
      while (!this.stopped) {
        this.again = false;
        const claimed = await this.pass();
        if (claimed === this.opts.batch && this.lanes.size < this.opts.lanes) this.openLane();
        else if (claimed < this.opts.batch && !this.again) return;
      }
    } catch (err) {
      log.warn('could not start pending ticket workflows; the next sweep tries again', { error: (err as Error).message });
    }
  }

  /** One batch in one transaction; returns how many instances it claimed. */
  private pass(): Promise<number> {
    return this.orm.em.fork().transactional(async (em) => {
      // SQL: `for update … skip locked` lets several API processes share the queue without claiming a start twice
      const rows = await em.execute<PendingStart[]>(
        `select i.instance_id, i.privacy_request_id, i.connection_key, i.start_attempts, r.request_type
         from jira_ticket_instance i join privacy_request r on r.id = i.privacy_request_id
         where i.start_pending and (i.start_after is null or i.start_after <= now())
         order by i.created_at limit ? for update of i skip locked`,
        [this.opts.batch],
      );
      await Promise.all(
        rows.map(async (row) => {
          try {
            await this.startOne(row);
            await em.execute(
              `update jira_ticket_instance set start_pending = false, start_attempts = 0, start_after = null, workflow_started_at = coalesce(workflow_started_at, now())
               where instance_id = ?`,
              [row.instance_id],
            );
          } catch (err) {
            const delaySeconds = Math.min(60, 2 ** row.start_attempts);
            const message = `its workflow could not be started yet (${(err as Error).message}); trying again in ${delaySeconds} s`;
            log.warn('ticket workflow not started', { instanceId: row.instance_id, attempts: row.start_attempts + 1, error: (err as Error).message });
            await em.execute(
              `update jira_ticket_instance set start_attempts = start_attempts + 1, start_after = now() + make_interval(secs => ?), last_error = ?, updated_at = now()
               where instance_id = ?`,
              [delaySeconds, message, row.instance_id],
            );
          }
        }),
      );
      return rows.length;
    });
  }

  private async startOne(row: PendingStart): Promise<void> {
    const { taskQueue, createMaxAttempts } = this.settings;
    const input: PrivacyRequestTicketInput = { privacyRequestId: row.privacy_request_id, connectionKey: row.connection_key, instanceId: row.instance_id, createMaxAttempts };
    try {
      await this.temporal.withDeadline(Date.now() + this.opts.startTimeoutMs, () =>
        this.temporal.workflow.start<typeof privacyRequestTicket>('privacyRequestTicket', {
          workflowId: workflowIdFor(row.privacy_request_id, row.connection_key),
          taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: [
            { key: PrivacyRequestId, value: row.privacy_request_id },
            { key: JiraConnection, value: row.connection_key },
            { key: TaskState, value: 'creating' },
          ],
          staticSummary: `Jira ticket for ${row.request_type} request ${row.privacy_request_id} via ${row.connection_key}`,
        }),
      );
    } catch (err) {
      // Already ran to its end: the ticket's life is over and must not start again.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
}
