import {
  ApplicationFailure,
  ActivityFailure,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, PollResult } from '../activities/index.js';
import {
  closeSignal,
  linkSignal,
  refreshSignal,
  retrySignal,
  stateQuery,
  submitDataSignal,
  ticketChangedSignal,
  type InstanceState,
  type TicketChange,
  type PrivacyRequestTicketInput,
  type PrivacyRequestTicketResult,
} from './messages.js';
import { JiraStatusCategory, JiraTicketKey, TaskState } from './search-attributes.js';
import { isNewer, untilNextPoll } from './polling.js';
import { dbWrites, historyIsLong, jiraRetry, notifyUpstream, shortActivities } from './shared.js';

const { pollTicket } = shortActivities<Activities>({ startToCloseTimeout: '2 minutes', retry: jiraRetry, summary: 'Read the ticket status from Jira' });
const { recordInstanceState, completeManualTask } = shortActivities<Activities>(dbWrites('Record the ticket state in PostgreSQL'));

/**
 * One Jira ticket for one privacy request on one connection, from creation until the manual task is done:
 * the ticket has reached a terminal state (done or deleted) and the task's data has been submitted.
 */
export async function privacyRequestTicket(input: PrivacyRequestTicketInput): Promise<PrivacyRequestTicketResult> {
  const { instanceId, pollIntervalMinutes } = input;
  const s: InstanceState = input.state ?? {
    taskState: 'creating',
    ticket: null,
    status: null,
    statusCategory: null,
    dataSubmitted: false,
    lastError: null,
    seq: 0,
  };
  let refreshRequested = false;
  let retryRequested = false;
  let linkRequested: string | null = null;
  let closeReason: string | null = null;
  let pushed: TicketChange | null = null;
  let webhooks = false;
  /** what ticket creation saw, standing in for the first poll */
  let firstLook: PollResult | null = null;

  setHandler(ticketChangedSignal, (change) => {
    if (s.ticket && change.ticketKey.toUpperCase() === s.ticket.key.toUpperCase() && isNewer(change, s.updated)) pushed = change;
  });
  setHandler(submitDataSignal, () => void (s.dataSubmitted = true));
  setHandler(refreshSignal, () => void (refreshRequested = true));
  setHandler(retrySignal, () => void (retryRequested = true));
  setHandler(linkSignal, ({ ticketKey }) => void (linkRequested = ticketKey.trim().toUpperCase()));
  setHandler(closeSignal, ({ reason }) => void (closeReason = reason));
  setHandler(stateQuery, () => s);

  let recorded = input.state ? JSON.stringify(s) : '';
  /** Writes the state to the read model and the search attributes, once per change. */
  async function record(): Promise<void> {
    const snapshot = JSON.stringify({ ...s, seq: 0 });
    if (snapshot === recorded) return;
    recorded = snapshot;
    s.seq += 1;
    upsertSearchAttributes([
      { key: TaskState, value: s.taskState },
      { key: JiraTicketKey, value: s.ticket?.key ?? null },
      { key: JiraStatusCategory, value: s.statusCategory ?? null },
    ]);
    setCurrentDetails(describe(s));
    await recordInstanceState({ instanceId, state: s });
  }

  async function createTicket(): Promise<void> {
    try {
      const { seen, ...ticket } = await proxyActivities<Activities>({
        // Two Jira calls of at most JIRA_REQUEST_TIMEOUT_SECONDS (30) each; an attempt lost with its worker is retried after this.
        startToCloseTimeout: '1 minute',
        summary: 'Create the Jira ticket (or find the one an earlier attempt created)',
        retry: { ...jiraRetry, maximumInterval: '1 minute', maximumAttempts: input.createMaxAttempts },
      }).createTicket({ instanceId });
      s.ticket = ticket;
      firstLook = seen ?? null;
      s.taskState = 'open';
      s.lastError = null;
    } catch (err) {
      s.taskState = 'creation_failed';
      s.lastError = failureMessage(err);
      await record();
      await notify('ticket.creation_failed');
    }
  }

  /** Reads the ticket's status (and, as a safety net for lost signals, whether data was submitted). */
  async function poll(): Promise<void> {
    if (!s.ticket) return;
    observe(await pollTicket({ instanceId, ticketKey: s.ticket.key }));
  }

  function observe(seen: PollResult): void {
    s.dataSubmitted ||= seen.dataSubmitted;
    webhooks = seen.webhooks ?? false;
    if (seen.ticket) {
      s.ticket = seen.ticket;
      s.status = seen.status;
      s.statusCategory = seen.statusCategory;
      if (seen.updated !== undefined) s.updated = seen.updated;
    } else {
      s.status = null;
      s.statusCategory = 'deleted';
    }
  }

  /** What a webhook told us replaces a poll. */
  function apply(change: TicketChange): void {
    s.status = change.statusCategory === 'deleted' ? null : change.status;
    s.statusCategory = change.statusCategory;
    if (change.updated) s.updated = change.updated;
  }

  /** The completion table of the manual-task product, applied to the latest poll. */
  function evaluate(): void {
    const terminal = s.statusCategory === 'done' || s.statusCategory === 'deleted';
    if (terminal && s.dataSubmitted) s.taskState = 'completed';
    else if (s.statusCategory === 'done') s.taskState = 'waiting_for_data';
    else if (s.statusCategory === 'deleted') s.taskState = 'failed';
    else s.taskState = 'open';
    if (s.taskState === 'failed') s.lastError = `ticket ${s.ticket?.key} no longer exists in Jira`;
    else s.lastError = null;
  }

  async function notify(event: string): Promise<void> {
    await notifyUpstream({
      event,
      privacyRequestId: input.privacyRequestId,
      instanceId,
      connectionKey: input.connectionKey,
      ticketKey: s.ticket?.key ?? null,
      taskState: s.taskState,
    });
  }

  for (;;) {
    if (closeReason) {
      s.taskState = 'canceled';
      s.lastError = null;
      await record();
      return { taskState: 'canceled', ticketKey: s.ticket?.key ?? null };
    }
    if (linkRequested) {
      s.ticket = { id: '', key: linkRequested, url: '' };
      linkRequested = null;
      retryRequested = false;
      s.taskState = 'open';
    }

    if (s.taskState === 'creating') {
      await createTicket();
    } else if (s.taskState === 'creation_failed') {
      await condition(() => retryRequested || !!linkRequested || !!closeReason);
      if (retryRequested && !linkRequested) {
        retryRequested = false;
        s.taskState = 'creating';
        await record();
      }
      continue;
    }

    if (s.ticket) {
      const before = s.taskState;
      if (pushed) apply(pushed);
      else if (firstLook) observe(firstLook);
      else await poll();
      pushed = null;
      firstLook = null;
      evaluate();
      await record();
      if (s.taskState === 'completed') {
        await notify('ticket.completed');
        const { requestCompleted } = await completeManualTask({ instanceId });
        if (requestCompleted) await notify('privacy_request.manual_tasks_completed');
        return { taskState: 'completed', ticketKey: s.ticket.key };
      }
      if (s.taskState === 'failed' && before !== 'failed') await notify('ticket.failed');
      const dataBefore = s.dataSubmitted;
      const interval = webhooks ? (input.webhookPollIntervalMinutes ?? pollIntervalMinutes) : pollIntervalMinutes;
      await condition(
        () => refreshRequested || !!linkRequested || !!closeReason || s.dataSubmitted !== dataBefore || !!pushed,
        untilNextPoll(interval, input.connectionKey),
        { summary: `Next Jira poll of ${s.ticket.key}` },
      );
      refreshRequested = false;
    }

    if (historyIsLong(input.historyLimit) && !linkRequested && !closeReason) {
      await condition(() => true);
      log.info('continuing as new', { historyLength: workflowInfo().historyLength });
      await continueAsNew<typeof privacyRequestTicket>({ ...input, state: s });
    }
  }
}

function describe(s: InstanceState): string {
  const ticket = s.ticket ? `ticket ${s.ticket.key}${s.status ? ` is ${s.status}` : ''}` : 'no ticket yet';
  switch (s.taskState) {
    case 'creating':
      return 'creating the Jira ticket';
    case 'creation_failed':
      return `ticket creation failed (${s.lastError}); waiting for a retry or link signal`;
    case 'open':
      return `waiting for the ticket to be done; ${ticket}; data ${s.dataSubmitted ? 'submitted' : 'not submitted yet'}`;
    case 'waiting_for_data':
      return `waiting for data submission; ${ticket}`;
    case 'failed':
      return `${ticket.replace(' is null', '')} was deleted before data was submitted; waiting for a link signal or data`;
    case 'completed':
      return `completed; ${ticket}`;
    case 'canceled':
      return `canceled; ${ticket}`;
  }
}

function failureMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof ActivityFailure && e.cause) e = e.cause;
  if (e instanceof ApplicationFailure) return e.message;
  return e instanceof Error ? e.message : String(e);
}
