import { condition, continueAsNew, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { AnomalyActivities } from '../activities/anomalies.js';
import {
  anomalyStatusChangedSignal,
  commentAddedSignal,
  linkStateQuery,
  refreshSignal,
  ticketChangedSignal,
  unlinkSignal,
  type AnomalyLinkInput,
  type AnomalyLinkState,
  type AnomalyTicketCreateInput,
  type TicketChange,
  type TicketView,
} from './messages.js';
import { JiraStatusCategory, JiraTicketKey } from './search-attributes.js';
import { isNewer, untilNextPoll } from './polling.js';
import { dbWrites, historyIsLong, jiraRetry, notifyUpstream, shortActivities } from './shared.js';


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
 * ticket is reopened when its anomaly recurs (where the connection opts in).
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
  let wake = true; // deliver and poll at once on start
  let reopenWanted = false;
  let unlinkRequested = false;
  let pushed: TicketChange | null = null;
  let webhooks = false;
  setHandler(ticketChangedSignal, (change) => {
    if (change.ticketKey.toUpperCase() === input.ticketKey.toUpperCase() && isNewer(change, s.updated)) pushed = change;
  });
  setHandler(commentAddedSignal, () => void (wake = true));
  setHandler(refreshSignal, () => void (wake = true));
  setHandler(anomalyStatusChangedSignal, ({ status }) => {
    wake = true;
    if (status.toLowerCase() === 'active') reopenWanted = true;
  });
  setHandler(unlinkSignal, () => void (unlinkRequested = true));
  setHandler(linkStateQuery, () => s);

  let recorded = input.state ? JSON.stringify({ ...s, seq: 0 }) : '';
  let ticketRef: { id: string | null; url: string | null } = { id: null, url: null };
  async function record(): Promise<void> {
    const snapshot = JSON.stringify({ ...s, seq: 0 });
    if (snapshot === recorded) return;
    recorded = snapshot;
    s.seq += 1;
    upsertSearchAttributes([
      { key: JiraTicketKey, value: input.ticketKey },
      { key: JiraStatusCategory, value: s.statusCategory ?? null },
    ]);
    setCurrentDetails(
      s.state === 'unlinked'
        ? `unlinked from anomaly ${input.anomalyId}`
        : `tracking ${input.ticketKey} (${s.status ?? 'status unknown'}${s.assignee ? `, assigned to ${s.assignee}` : ''}) for anomaly ${input.anomalyId}`,
    );
    await recordLinkState({ linkId: input.linkId, state: s, ticketId: ticketRef.id, ticketUrl: ticketRef.url });
  }

  for (;;) {
    if (unlinkRequested) {
      await markUnlinked({ ...link, anomalyId: input.anomalyId });
      await deliverComments(link);
      s.state = 'unlinked';
      await record();
      return { state: 'unlinked' };
    }
    wake = false;
    await deliverComments(link);
    let pendingComments = false;
    if (pushed) {
      const { status, statusCategory, resolution = s.resolution, assignee = s.assignee, updated = s.updated } = pushed;
      Object.assign(s, { status: statusCategory === 'deleted' ? null : status, statusCategory, resolution, assignee, updated });
      pushed = null;
    } else {
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
        if (reopened) wake = true; // read the new status and deliver the reopen comment now
      }
    }
    if (s.statusCategory !== 'done') s.doneNotified = false;
    await record();
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
      const interval = webhooks ? (input.webhookPollIntervalMinutes ?? input.pollIntervalMinutes) : input.pollIntervalMinutes;
      await condition(() => wake || unlinkRequested || !!pushed, untilNextPoll(interval, input.connectionKey), {
        summary: `Next Jira poll of ${input.ticketKey}`,
      });
    }
    if (historyIsLong(input.historyLimit) && !unlinkRequested && !wake && !reopenWanted && !pushed) {
      await continueAsNew<typeof anomalyTicketLink>({ ...input, state: s });
    }
  }
}
