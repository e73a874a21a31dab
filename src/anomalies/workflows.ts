import { allHandlersFinished, condition, continueAsNew, patched, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { AnomalyActivities } from './activities.js';
import { anomalyStatusChangedSignal, commentAddedSignal, linkStateQuery, refreshLinkUpdate, unlinkSignal, type AnomalyLinkInput, type AnomalyLinkState, type AnomalyTicketCreateInput, type TicketView } from './messages.js';
import { refreshSignal, ticketChangedSignal, type TicketChange } from '../tracker/news.js';
import { JiraStatusCategory, JiraTicketKey } from '../platform/temporal/search-attributes.js';
import { isNewer, sameTicket } from '../tracker/news.js';
import { untilNextPoll } from '../tracker/schedule.js';
import { dbWrites, historyIsLong, jiraRetry, onEachChange, shortActivities, TRACKER_OWNS_POLLING } from '../platform/temporal/workflow-support.js';
import { notifyUpstream } from '../callbacks/notify.js';

const { createAnomalyTicket } = proxyActivities<AnomalyActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { ...jiraRetry, maximumInterval: '1 minute', maximumAttempts: 3 },
  summary: 'Create the Jira ticket for the anomaly (or find the one an earlier attempt created)',
});
const { deliverComments } = proxyActivities<AnomalyActivities>({
  startToCloseTimeout: '2 minutes',
  retry: jiraRetry,
  summary: 'Deliver queued comments to the ticket, in order, exactly once',
});
const { pollLinkedTicket } = shortActivities<AnomalyActivities>({
  startToCloseTimeout: '2 minutes',
  retry: jiraRetry,
  summary: 'Read the ticket status, resolution and assignee from Jira',
});
const { reopenTicket } = proxyActivities<AnomalyActivities>({
  startToCloseTimeout: '2 minutes',
  retry: jiraRetry,
  summary: 'Reopen the ticket: the anomaly is active again',
});
const { recordLinkState, markUnlinked } = shortActivities<AnomalyActivities>(dbWrites('Record the link state in PostgreSQL'));

/** Creates the ticket for one "create ticket" request of an anomaly; retried requests join the same run. */
export async function anomalyTicketCreate(input: AnomalyTicketCreateInput): Promise<TicketView> {
  return createAnomalyTicket(input);
}

/**
 * One anomaly ↔ ticket link, for as long as it lasts: comments go to the ticket in order and exactly once,
 * the ticket's status, resolution and assignee come back, a done ticket is reported upstream, and a done
 * ticket is reopened when its anomaly recurs (where the connection opts in). Between events it holds no
 * timer: the connection's tracker and Jira's webhooks tell it when the ticket changed.
 */
export async function anomalyTicketLink(input: AnomalyLinkInput): Promise<{ state: 'unlinked' }> {
  const link = { linkId: input.linkId, connectionKey: input.connectionKey, ticketKey: input.ticketKey };
  const s: AnomalyLinkState = input.state ?? {
    state: 'active',
    status: null,
    statusCategory: null,
    resolution: null,
    assignee: null,
    doneNotified: false,
    lastError: null,
    seq: 0,
  };
  // A new link delivers and reads at once; a run that continues another starts from the state it was given
  // (links from before the tracker read again, as they did).
  const fresh = !input.state || !patched(TRACKER_OWNS_POLLING);
  let wake = fresh;
  /** read Jira at the next turn (a refresh, a reopen we made, or the first turn) */
  let readWanted = fresh;
  let reopenWanted = false;
  let unlinkRequested = false;
  // Set by handlers: typed apart from its initial value, which TypeScript would otherwise narrow it to.
  let pushed = null as TicketChange | null;
  let webhooks = false;
  let refreshAsked = 0;
  let refreshServed = 0;
  setHandler(ticketChangedSignal, (change) => {
    if (sameTicket(change.ticketKey, input.ticketKey) && isNewer(change, s.updated)) pushed = change;
  });
  setHandler(commentAddedSignal, () => void (wake = true));
  setHandler(refreshSignal, () => void (wake = readWanted = true));
  setHandler(
    refreshLinkUpdate,
    async () => {
      const turn = ++refreshAsked;
      wake = readWanted = true;
      await condition(() => refreshServed >= turn);
      return s;
    },
    {
      validator: () => {
        if (s.state === 'unlinked' || unlinkRequested) throw new Error(`the link to ${input.ticketKey} is ${s.state === 'unlinked' ? 'unlinked' : 'being unlinked'}`);
      },
    },
  );
  setHandler(anomalyStatusChangedSignal, ({ status }) => {
    wake = true;
    if (status.toLowerCase() === 'active') reopenWanted = true;
  });
  setHandler(unlinkSignal, () => void (unlinkRequested = true));
  setHandler(linkStateQuery, () => s);

  let ticketRef: { id: string | null; url: string | null } = { id: null, url: null };
  const record = onEachChange(s, input.state ? JSON.stringify({ ...s, seq: 0 }) : '', async () => {
    upsertSearchAttributes([
      { key: JiraTicketKey, value: input.ticketKey },
      { key: JiraStatusCategory, value: s.statusCategory ?? null },
    ]);
    setCurrentDetails(
      s.state === 'unlinked'
        ? `unlinked from anomaly ${input.anomalyId}`
        : `tracking ${input.ticketKey} (${s.status ?? 'status unknown'}${s.assignee ? `, assigned to ${s.assignee}` : ''}) for anomaly ${input.anomalyId}`,
    );
    const parked = (await recordLinkState({ linkId: input.linkId, state: s, ticketId: ticketRef.id, ticketUrl: ticketRef.url }))?.parked;
    if (parked && sameTicket(parked.ticketKey, input.ticketKey) && isNewer(parked, s.updated)) pushed = parked;
  });

  /** Continues as new with the state, once every Update has been answered. */
  async function carryOn(): Promise<never> {
    await condition(allHandlersFinished);
    return continueAsNew<typeof anomalyTicketLink>({ ...input, state: s });
  }

  for (;;) {
    if (unlinkRequested) {
      await markUnlinked({ ...link, anomalyId: input.anomalyId });
      await deliverComments(link);
      s.state = 'unlinked';
      await record();
      refreshServed = refreshAsked;
      await condition(allHandlersFinished);
      return { state: 'unlinked' };
    }
    wake = false;
    await deliverComments(link);
    let pendingComments = false;
    if (pushed) {
      const { status, statusCategory, resolution = s.resolution, assignee = s.assignee, updated = s.updated } = pushed;
      Object.assign(s, { status: statusCategory === 'deleted' ? null : status, statusCategory, resolution, assignee, updated });
      pushed = null;
      // Comments alone say nothing new about the ticket; links from before the tracker read at every wake-up.
    } else if (readWanted || s.statusCategory === null || !patched(TRACKER_OWNS_POLLING)) {
      readWanted = false;
      const seen = await pollLinkedTicket(link);
      ticketRef = { id: seen.ticketId, url: seen.ticketUrl };
      pendingComments = seen.pendingComments;
      webhooks = seen.webhooks ?? false;
      Object.assign(s, { status: seen.status, statusCategory: seen.statusCategory, resolution: seen.resolution, assignee: seen.assignee });
      if (seen.updated !== undefined) s.updated = seen.updated;
    }
    s.lastError = s.statusCategory === 'deleted' ? `ticket ${input.ticketKey} no longer exists in Jira` : null;
    if (reopenWanted) {
      reopenWanted = false;
      if (s.statusCategory === 'done') {
        const { reopened } = await reopenTicket({ ...link, anomalyId: input.anomalyId });
        if (reopened) wake = readWanted = true; // read the new status and deliver the reopen comment now
      }
    }
    if (s.statusCategory !== 'done') s.doneNotified = false;
    await record();
    if (!readWanted) refreshServed = refreshAsked;
    if (s.statusCategory === 'done' && !s.doneNotified) {
      s.doneNotified = true;
      await notifyUpstream({
        event: 'anomaly_ticket.done',
        anomalyId: input.anomalyId,
        linkId: input.linkId,
        connectionKey: input.connectionKey,
        ticketKey: input.ticketKey,
        status: s.status,
        resolution: s.resolution,
      });
      await record();
    }
    if (!wake && !pendingComments) {
      const woken = () => wake || unlinkRequested || !!pushed;
      if (patched(TRACKER_OWNS_POLLING)) {
        if (historyIsLong(input.historyLimit) && !woken() && !readWanted && !reopenWanted) await carryOn();
        // A refresh that met a webhook's news in the same turn still reads Jira.
        await condition(() => woken() || readWanted);
      } else {
        const interval = webhooks ? (input.webhookPollIntervalMinutes ?? input.pollIntervalMinutes) : input.pollIntervalMinutes;
        await condition(woken, untilNextPoll(interval ?? 10, input.connectionKey), { summary: `Next Jira poll of ${input.ticketKey}` });
      }
    }
    if (historyIsLong(input.historyLimit) && !unlinkRequested && !wake && !readWanted && !reopenWanted && !pushed) await carryOn();
  }
}
