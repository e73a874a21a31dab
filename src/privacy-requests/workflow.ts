import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, PollResult } from './activities.js';
import { closeSignal, linkSignal, linkTicketUpdate, refreshNowUpdate, retryCreationUpdate, retrySignal, stateQuery, submitDataSignal, type InstanceState, type LinkSignal, type PrivacyRequestTicketInput, type PrivacyRequestTicketResult } from './messages.js';
import { refreshSignal, ticketChangedSignal, type TicketChange } from '../tracker/news.js';
import { JiraStatusCategory, JiraTicketKey, TaskState } from '../platform/temporal/search-attributes.js';
import { isNewer, sameTicket } from '../tracker/news.js';
import { untilNextPoll } from '../tracker/schedule.js';
import { CLOSE_THE_LOOP, dbWrites, failureMessage, historyIsLong, jiraRetry, onEachChange, shortActivities, TRACKER_OWNS_POLLING } from '../platform/temporal/workflow-support.js';
import { notifyUpstream } from '../callbacks/notify.js';

const { pollTicket } = shortActivities<Activities>({ startToCloseTimeout: '2 minutes', retry: jiraRetry, summary: 'Read the ticket status from Jira' });
const { recordInstanceState, completeManualTask } = shortActivities<Activities>(dbWrites('Record the ticket state in PostgreSQL'));
const { closeTicketLoop } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: jiraRetry,
  summary: 'Close the loop in Jira: say on the ticket how the work ended (where the connection opts in)',
});

const FINISHED = new Set(['completed', 'canceled']);

/**
 * One Jira ticket for one privacy request on one connection, from creation until the manual task is done:
 * the ticket has reached a terminal state (done or deleted) and the task's data has been submitted. Between
 * events it holds no timer: the connection's tracker (and Jira's webhooks) tell it when its ticket changed.
 */
export async function privacyRequestTicket(input: PrivacyRequestTicketInput): Promise<PrivacyRequestTicketResult> {
  const { instanceId } = input;
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
  // Set by handlers: typed apart from their initial value, which TypeScript would otherwise narrow them to.
  let linkRequested = null as LinkSignal | null;
  let closeReason: string | null = null;
  let pushed = null as TicketChange | null;
  let webhooks = false;
  /** what ticket creation saw, standing in for the first read */
  let firstLook: PollResult | null = null;
  /** Updates wait until the loop has served what they asked for; numbered so a later ask waits for a later turn. */
  const asked = { refresh: 0, retry: 0, link: 0 };
  const served = { refresh: 0, retry: 0, link: 0 };

  setHandler(ticketChangedSignal, (change) => {
    // News that arrives while the ticket is being created is kept, and applied once creation names the ticket.
    if ((!s.ticket || sameTicket(change.ticketKey, s.ticket.key)) && isNewer(change, s.updated)) pushed = change;
  });
  setHandler(submitDataSignal, () => void (s.dataSubmitted = true));
  setHandler(refreshSignal, () => void (refreshRequested = true));
  setHandler(retrySignal, () => void (retryRequested = true));
  setHandler(linkSignal, (link) => void (linkRequested = { ...link, ticketKey: link.ticketKey.trim().toUpperCase() }));
  setHandler(closeSignal, ({ reason }) => void (closeReason = reason));
  setHandler(stateQuery, () => s);

  setHandler(
    refreshNowUpdate,
    async () => {
      const turn = ++asked.refresh;
      refreshRequested = true;
      await condition(() => served.refresh >= turn);
      return s;
    },
    {
      validator: () => {
        if (!s.ticket || FINISHED.has(s.taskState)) throw new Error(`nothing to refresh: the instance is ${s.taskState}${s.ticket ? '' : ' and has no ticket yet'}`);
      },
    },
  );
  setHandler(
    retryCreationUpdate,
    async () => {
      const turn = ++asked.retry;
      retryRequested = true;
      await condition(() => served.retry >= turn);
      return s;
    },
    {
      validator: () => {
        if (s.taskState !== 'creation_failed') throw new Error(`only a failed ticket creation can be retried; this instance is ${s.taskState}`);
      },
    },
  );
  setHandler(
    linkTicketUpdate,
    async (link) => {
      const turn = ++asked.link;
      linkRequested = { ...link, ticketKey: link.ticketKey.trim().toUpperCase() };
      await condition(() => served.link >= turn);
      return s;
    },
    {
      validator: (link) => {
        if (FINISHED.has(s.taskState)) throw new Error(`the instance is ${s.taskState}; nothing more can happen to it`);
        if (!/^[A-Za-z][A-Za-z0-9_]*-\d+$/.test(link.ticketKey.trim())) throw new Error(`${link.ticketKey} is not a Jira issue key`);
      },
    },
  );

  // A continued run counts nothing as recorded (its seq is part of the string, so it never matches): it records
  // its state once at its first turn. Running workflows replay that, so it stays.
  /** Writes the state to the read model and the search attributes, once per change. */
  const record = onEachChange(s, input.state ? JSON.stringify(s) : '', async () => {
    upsertSearchAttributes([
      { key: TaskState, value: s.taskState },
      { key: JiraTicketKey, value: s.ticket?.key ?? null },
      { key: JiraStatusCategory, value: s.statusCategory ?? null },
    ]);
    setCurrentDetails(describe(s));
    // A webhook about the ticket that came before the read model knew its key was parked; it comes back here.
    const parked = (await recordInstanceState({ instanceId, state: s }))?.parked;
    if (parked && s.ticket && sameTicket(parked.ticketKey, s.ticket.key) && isNewer(parked, s.updated)) pushed = parked;
  });

  async function createTicket(): Promise<void> {
    try {
      const { seen, ...ticket } = await proxyActivities<Activities>({
        // Two Jira calls of at most JIRA_REQUEST_TIMEOUT_SECONDS (30) each, and after a lost reply a wait for
        // Jira's search to catch up; an attempt lost with its worker is retried after this.
        startToCloseTimeout: '2 minutes',
        heartbeatTimeout: '1 minute',
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
  async function read(): Promise<void> {
    if (!s.ticket) return;
    refreshRequested = false;
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
      if (seen.resolution !== undefined) s.resolution = seen.resolution;
      s.done = seen.done;
    } else {
      s.status = null;
      s.statusCategory = 'deleted';
    }
  }

  /** What a webhook, the tracker or the API told us replaces a read. */
  function apply(change: TicketChange): void {
    s.status = change.statusCategory === 'deleted' ? null : change.status;
    s.statusCategory = change.statusCategory;
    if (change.updated) s.updated = change.updated;
    if (change.resolution !== undefined) s.resolution = change.resolution;
    s.done = change.done;
  }

  /**
   * The completion table of the manual-task product, applied to the latest news. "Done" is the connection's
   * status mapping where the news carried its verdict (`done`), else the `done` category. The verdict is worked
   * out by the activities and receivers that read Jira, so this code only reads a field that older histories
   * never carry: they replay as before, and no patch is needed.
   */
  function evaluate(): void {
    const done = s.statusCategory !== 'deleted' && s.statusCategory !== null && (s.done ?? s.statusCategory === 'done');
    const terminal = done || s.statusCategory === 'deleted';
    if (terminal && s.dataSubmitted) s.taskState = 'completed';
    else if (done) s.taskState = 'waiting_for_data';
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

  /**
   * Tells the ticket how the work ended, where the connection opts in (the activity checks). A refusal of
   * Jira's (the ticket deleted, no permission) is logged and the run ends anyway: the work itself is over.
   */
  async function closeTheLoop(outcome: 'completed' | 'canceled' | 'denied'): Promise<void> {
    if (!s.ticket || s.statusCategory === 'deleted' || !patched(CLOSE_THE_LOOP)) return;
    try {
      await closeTicketLoop({ instanceId, ticketKey: s.ticket.key, outcome });
    } catch (err) {
      log.warn('could not close the loop in Jira', { ticketKey: s.ticket.key, error: failureMessage(err) });
    }
  }

  /** Returns once every Update has been answered, so none is left without a reply when the run ends. */
  async function finish(result: PrivacyRequestTicketResult): Promise<PrivacyRequestTicketResult> {
    Object.assign(served, asked);
    await condition(allHandlersFinished);
    return result;
  }

  /** Continues as new with the state, once every Update has been answered. */
  async function carryOn(): Promise<never> {
    await condition(allHandlersFinished);
    log.info('continuing as new', { historyLength: workflowInfo().historyLength });
    return continueAsNew<typeof privacyRequestTicket>({ ...input, state: s });
  }

  /** whether data was submitted as of the last evaluation: a change wakes the loop */
  let dataSeen = s.dataSubmitted;
  for (;;) {
    if (closeReason) {
      s.taskState = 'canceled';
      s.lastError = null;
      await record();
      await closeTheLoop(closeReason === 'denied' ? 'denied' : 'canceled');
      return finish({ taskState: 'canceled', ticketKey: s.ticket?.key ?? null });
    }
    let linked: LinkSignal | null = null;
    if (linkRequested) {
      linked = linkRequested;
      const seen = linked.seen;
      s.ticket = { id: seen?.id ?? '', key: linked.ticketKey, url: seen?.url ?? '' };
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
        served.retry = asked.retry;
      }
      continue;
    }

    if (s.ticket) {
      const before = s.taskState;
      if (pushed && sameTicket(pushed.ticketKey, s.ticket.key)) {
        if (firstLook) observe(firstLook);
        if (isNewer(pushed, s.updated)) apply(pushed);
      } else if (firstLook) observe(firstLook);
      else if (linked?.seen) apply(linked.seen);
      // Data, a link or news already carry what the completion table needs: Jira is read only when asked to,
      // or when the status is unknown. Workflows from before the tracker read at every wake-up.
      else if (linked || refreshRequested || s.statusCategory === null || !patched(TRACKER_OWNS_POLLING)) await read();
      pushed = null;
      firstLook = null;
      evaluate();
      await record();
      // A refresh that met other news in the same turn is answered after its own read, at the next turn.
      if (!refreshRequested) served.refresh = asked.refresh;
      served.link = asked.link;
      if (s.taskState === 'completed') {
        await notify('ticket.completed');
        const { requestCompleted } = await completeManualTask({ instanceId });
        if (requestCompleted) await notify('privacy_request.manual_tasks_completed');
        await closeTheLoop('completed');
        return finish({ taskState: 'completed', ticketKey: s.ticket.key });
      }
      if (s.taskState === 'failed' && before !== 'failed') await notify('ticket.failed');
      dataSeen = s.dataSubmitted;
      const woken = () => refreshRequested || !!linkRequested || !!closeReason || s.dataSubmitted !== dataSeen || !!pushed;
      if (patched(TRACKER_OWNS_POLLING)) {
        if (historyIsLong(input.historyLimit) && !woken()) await carryOn();
        await condition(woken);
      } else {
        const interval = webhooks ? (input.webhookPollIntervalMinutes ?? input.pollIntervalMinutes) : input.pollIntervalMinutes;
        await condition(woken, untilNextPoll(interval ?? 10, input.connectionKey), { summary: `Next Jira poll of ${s.ticket.key}` });
      }
    }

    // Never with news still to apply: no timer would bring it back in the next run.
    if (historyIsLong(input.historyLimit) && !linkRequested && !closeReason && !pushed && !refreshRequested && !retryRequested && s.dataSubmitted === dataSeen) await carryOn();
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
      return `waiting for the ticket to be done (the connection's tracker and webhooks report changes); ${ticket}; data ${s.dataSubmitted ? 'submitted' : 'not submitted yet'}`;
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
