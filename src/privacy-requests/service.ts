import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { Orm } from '../platform/db/orm.js';
import { Connection, JiraTicketInstance, PrivacyRequest, SubmittedData } from '../platform/db/entities.js';
import type { Identity } from '../personal-data/sealing.js';
import type { PersonalDataService } from '../personal-data/service.js';
import { log } from '../platform/log.js';
import { closeSignal, linkTicketUpdate, refreshNowUpdate, retryCreationUpdate, submitDataSignal, workflowIdFor } from './messages.js';
import type { ServiceSettings, TicketWorkflowStarts } from './starts.js';

export type { ServiceSettings } from './starts.js';
import { conflict, invalid, notFound } from '../platform/errors.js';
import { connectionClient, viaJira } from '../connections/service.js';
import type { ConnectionKit } from '../connections/kit.js';
import { readSnapshot } from '../jira/snapshot.js';
import { newsOf } from '../tracker/watchers.js';
import { signalIfRunning } from '../platform/temporal/signals.js';
import { ask, UpdateRefused, WorkflowNotRunning } from '../platform/temporal/updates.js';

export const RETRYABLE_REQUEST_STATUSES = ['approved', 'in_processing', 'paused', 'pending_external', 'requires_input'] as const;
export const CLOSING_REQUEST_STATUSES = ['canceled', 'denied'] as const;
const FINISHED_TASK_STATES = new Set(['completed', 'canceled']);
/** SQL: whether a status closes the request, which starts its retention period (closed_at). */
const CLOSING_SQL = `(${CLOSING_REQUEST_STATUSES.map((s) => `'${s}'`).join(', ')})`;

/** A request as the upstream sends it, its identity in the clear (sealed before it is stored). */
export interface RequestUpsert {
  id: string;
  requestType: string;
  status: string;
  submittedAt: Date | null;
  approvedAt: Date | null;
  dueDate: Date | null;
  policyName: string | null;
  requestUrl: string | null;
  identity: Identity;
}

export const instanceIdFor = (requestId: string, connectionKey: string) =>
  `jti_${createHash('sha256').update(`${requestId}\u0000${connectionKey}`).digest('hex').slice(0, 20)}`;

export function instanceJson(i: JiraTicketInstance) {
  return {
    instance_id: i.instanceId,
    connection_key: i.connectionKey,
    workflow_id: i.workflowId,
    ticket_id: i.ticketId,
    ticket_key: i.ticketKey,
    ticket_url: i.ticketUrl,
    status: i.status,
    status_category: i.statusCategory,
    resolution: i.resolution ?? null,
    task_state: i.taskState,
    data_submitted: i.dataSubmitted,
    last_error: i.lastError,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
  };
}

/**
 * The privacy-request side of the product. PostgreSQL is written first and committed, then Temporal is
 * told: a 2xx therefore means the change is durable, and repeating a call after an error is always safe.
 */
export class PrivacyRequestService {
  constructor(
    private readonly orm: Orm,
    private readonly temporal: Client,
    private readonly kit: ConnectionKit,
    private readonly starts: TicketWorkflowStarts,
    private readonly personal: PersonalDataService,
  ) {}

  /**
   * The request and, when approved, its ticket instances are committed in one statement; their workflows are
   * started right after by TicketWorkflowStarts, so the answer waits on PostgreSQL only (xmax = 0: inserted).
   * The identity is sealed before it is written (personal-data/sealing.ts).
   */
  async upsert(data: RequestUpsert) {
    const identity = this.personal.seal.sealIdentity(data.id, data.identity);
    const [row] = await this.withInstances<{ inserted: boolean }>(
      data.id,
      data.status,
      `insert into privacy_request (id, request_type, status, submitted_at, approved_at, due_date, policy_name, identity, request_url, closed_at)
       values (?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, case when ? in ${CLOSING_SQL} then now() end)
       on conflict (id) do update set request_type = excluded.request_type, status = excluded.status, submitted_at = excluded.submitted_at,
         approved_at = excluded.approved_at, due_date = excluded.due_date, policy_name = excluded.policy_name, identity = excluded.identity,
         request_url = excluded.request_url, updated_at = now(),
         closed_at = case when excluded.status in ${CLOSING_SQL} then coalesce(privacy_request.closed_at, now()) end
       returning (xmax = 0) as inserted`,
      [data.id, data.requestType, data.status, data.submittedAt, data.approvedAt, data.dueDate, data.policyName, identity ? JSON.stringify(identity) : null, data.requestUrl, data.status],
    );
    await this.afterStatus(data.id, data.status);
    return { created: row?.inserted === true };
  }

  async setStatus(id: string, status: string) {
    const rows = await this.withInstances(
      id,
      status,
      `update privacy_request set status = ?, updated_at = now(), closed_at = case when ? in ${CLOSING_SQL} then coalesce(closed_at, now()) end where id = ? returning id`,
      [status, status, id],
    );
    if (!rows.length) throw notFound('privacy request', id);
    await this.afterStatus(id, status);
  }

  /**
   * Runs `requestSql` (which writes the request and returns its row) and, if the status is approved, adds in
   * the same statement one instance per enabled Jira connection, marked for its workflow to be started.
   * Idempotent: a repeated approval asks again for a start, which joins the running workflow; an ended one
   * never starts again.
   */
  private async withInstances<R>(requestId: string, status: string, requestSql: string, params: unknown[]): Promise<R[]> {
    const em = this.orm.em.fork();
    const connections = status === 'approved' ? await em.find(Connection, { connectionType: 'jira_ticket', access: 'write', disabled: false }) : [];
    const instances = connections.map((c) => ({ instance_id: instanceIdFor(requestId, c.key), connection_key: c.key, workflow_id: workflowIdFor(requestId, c.key) }));
    return em.execute<R[]>(
      `with request as (${requestSql}),
       instances as (
         insert into jira_ticket_instance (instance_id, privacy_request_id, connection_key, workflow_id, task_state, start_pending)
         select i.instance_id, ?, i.connection_key, i.workflow_id, 'creating', true
         from jsonb_to_recordset(?::jsonb) as i(instance_id text, connection_key text, workflow_id text)
         where exists (select 1 from request)
         on conflict (instance_id) do update set start_pending = true where jira_ticket_instance.task_state not in ('completed', 'canceled'))
       select * from request`,
      [...params, requestId, JSON.stringify(instances)],
    );
  }

  private async afterStatus(id: string, status: string) {
    if (status === 'approved') void this.starts.kick();
    if ((CLOSING_REQUEST_STATUSES as readonly string[]).includes(status)) {
      await this.closeTicketWorkflows(id, status);
      // With no retention, nothing is kept beyond this; the retention schedule erases what this could not.
      await this.personal.eraseIfNotRetained(id).catch((err: Error) => log.warn('could not erase the personal data of a closed request now; the retention schedule will', { privacyRequestId: id, error: err.message }));
    }
  }

  private async closeTicketWorkflows(requestId: string, reason: string) {
    // An instance whose workflow never started is closed here, and its start withdrawn. The update waits for
    // a start in flight (its row is locked); that workflow is then running and gets the signal below.
    await this.orm.em.getConnection().execute(
      `update jira_ticket_instance set start_pending = false, task_state = 'canceled', last_error = null, state_seq = state_seq + 1, updated_at = now()
       where privacy_request_id = ? and start_pending and workflow_started_at is null`,
      [requestId],
    );
    const instances = await this.orm.em.fork().find(JiraTicketInstance, { privacyRequestId: requestId });
    for (const i of instances) {
      if (FINISHED_TASK_STATES.has(i.taskState)) continue;
      await signalIfRunning(this.temporal, i.workflowId, closeSignal, { reason });
    }
  }

  async get(id: string) {
    const request = await this.orm.em.fork().findOne(PrivacyRequest, { id });
    if (!request) throw notFound('privacy request', id);
    return request;
  }

  async instances(requestId: string) {
    await this.get(requestId);
    return this.instancesOf(requestId);
  }

  /** The instances of a request known to exist. */
  instancesOf(requestId: string) {
    return this.orm.em.fork().find(JiraTicketInstance, { privacyRequestId: requestId }, { orderBy: { connectionKey: 'asc' } });
  }

  private async instance(requestId: string, instanceId: string) {
    const request = await this.get(requestId);
    const instance = await this.orm.em.fork().findOne(JiraTicketInstance, { instanceId, privacyRequestId: requestId });
    if (!instance) throw notFound('ticket instance', instanceId);
    return { request, instance };
  }

  private requireUnfinished(instance: JiraTicketInstance) {
    if (FINISHED_TASK_STATES.has(instance.taskState)) {
      throw conflict(`ticket instance ${instance.instanceId} is ${instance.taskState}; nothing more can happen to it`, { state: instance.taskState });
    }
  }

  /** Stores the data durably, then tells the workflow; a lost signal is healed by the workflow's next poll. */
  async submitData(requestId: string, instanceId: string, data: Record<string, unknown>) {
    const { instance } = await this.instance(requestId, instanceId);
    this.requireUnfinished(instance);
    await this.orm.em.fork().transactional(async (em) => {
      await em.upsert(SubmittedData, { instanceId, sealed: this.personal.seal.sealSubmitted(instanceId, data), submittedAt: new Date(), erasedAt: null });
      await em.nativeUpdate(JiraTicketInstance, { instanceId }, { dataSubmitted: true, updatedAt: new Date() });
    });
    // A lost signal is sent again by the connection's tracker (the instance is marked data_submitted, not data_seen).
    const signalled = await signalIfRunning(this.temporal, instance.workflowId, submitDataSignal).catch(() => false);
    return { signalled };
  }

  /** Reads the ticket now (the workflow reads it directly); answers the instance as that read left it. */
  async refresh(requestId: string, instanceId: string) {
    const { instance } = await this.instance(requestId, instanceId);
    this.requireUnfinished(instance);
    return this.ask(instance, refreshNowUpdate, []);
  }

  /**
   * Retries a failed creation. The request's status is the API's to check; the workflow's validator checks
   * that its creation failed. Answers the instance once the workflow is creating again.
   */
  async retry(requestId: string, instanceId: string) {
    const { request, instance } = await this.instance(requestId, instanceId);
    if (!(RETRYABLE_REQUEST_STATUSES as readonly string[]).includes(request.status)) {
      throw conflict(`retry is allowed only while the privacy request is ${RETRYABLE_REQUEST_STATUSES.join(', ')}; it is ${request.status}`, {
        state: request.status,
      });
    }
    return this.ask(instance, retryCreationUpdate, []);
  }

  /** Checks the ticket exists in Jira before the workflow tracks it instead of the current one. */
  async link(requestId: string, ticketKey: string, connectionKey?: string) {
    const instances = await this.instances(requestId);
    const candidates = connectionKey ? instances.filter((i) => i.connectionKey === connectionKey) : instances;
    if (candidates.length === 0) {
      throw conflict(
        connectionKey
          ? `privacy request ${requestId} has no Jira ticket instance for connection ${connectionKey}; approve the request first`
          : `privacy request ${requestId} has no Jira ticket instance; approve the request first`,
        { field: connectionKey ? 'body.connection_key' : undefined },
      );
    }
    if (candidates.length > 1) {
      throw invalid('body.connection_key', 'this request has tickets on several connections; name one in connection_key');
    }
    const instance = candidates[0]!;
    this.requireUnfinished(instance);
    const { client, settings } = await connectionClient(this.orm.em.fork(), this.kit, instance.connectionKey);
    const found = await viaJira(() => readSnapshot(client, ticketKey));
    if (!found) throw invalid('body.ticket_key', `Jira ticket ${ticketKey} does not exist or is not visible to connection ${instance.connectionKey}`);
    // What the check read goes along, so the workflow tracks the ticket without reading it again.
    const seen = { ...newsOf(found, settings.doneStatusIds), ticketKey: found.key, id: found.id, url: client.browseUrl(found.key) };
    return this.ask(instance, linkTicketUpdate, [{ ticketKey: found.key, seen }]);
  }

  /**
   * Asks the instance's workflow (an Update) and answers the instance as the workflow then recorded it;
   * `settled: false` when the workflow takes longer than the API waits (it goes on; the state follows).
   */
  private async ask<Ret, Args extends unknown[]>(instance: JiraTicketInstance, def: UpdateDefinition<Ret, Args>, args: Args): Promise<{ instance: JiraTicketInstance; settled: boolean }> {
    let answer;
    try {
      answer = await ask(this.temporal, instance.workflowId, def, args);
    } catch (err) {
      if (err instanceof UpdateRefused) throw conflict(err.message, { state: instance.taskState });
      if (err instanceof WorkflowNotRunning) {
        if (instance.startPending && !instance.workflowStartedAt) {
          throw conflict('the ticket workflow is about to start; try again in a moment', { state: 'start_pending', retryAfterSeconds: 2 });
        }
        throw conflict('the workflow for this ticket has finished', { state: 'finished' });
      }
      throw err;
    }
    const fresh = await this.orm.em.fork().findOneOrFail(JiraTicketInstance, { instanceId: instance.instanceId });
    return { instance: fresh, settled: answer !== undefined };
  }
}
