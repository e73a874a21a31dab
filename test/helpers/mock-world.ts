import { ApplicationFailure } from '@temporalio/activity';
import type { Activities, PollResult } from '../../src/privacy-requests/activities.js';
import type { CallbackActivities, UpstreamEvent } from '../../src/callbacks/activities.js';
import type { InstanceState } from '../../src/privacy-requests/messages.js';
import type { TicketChange } from '../../src/tracker/news.js';

type Category = 'new' | 'indeterminate' | 'done' | 'deleted';

/** A scripted Jira + database behind the activity interface, recording what the workflow asked for. */
export class MockWorld {
  tickets = new Map<string, Category>();
  created = 0;
  createFailures = 0;
  dataInDatabase = false;
  polls: string[] = [];
  recorded: InstanceState[] = [];
  events: UpstreamEvent[] = [];
  completions = 0;
  /** how each closing of the loop was asked for (the connection's opt-in is the activity's to check) */
  closings: string[] = [];
  /** createTicket reports the new ticket's status, as the product does; false: the older shape, a ticket only */
  createReportsStatus = true;
  /** news a webhook parked before the read model knew the key, handed back by the next record of the state */
  parked: TicketChange | undefined;

  activities(): Activities & CallbackActivities {
    return {
      createTicket: async () => {
        if (this.createFailures > 0) {
          this.createFailures -= 1;
          throw ApplicationFailure.nonRetryable('Jira POST /rest/api/3/issue answered 400: summary: required', 'JiraRejected');
        }
        this.created += 1;
        const key = `PRIV-${this.created}`;
        this.tickets.set(key, 'new');
        const ticket = { id: String(10_000 + this.created), key, url: `https://jira.test/browse/${key}` };
        return this.createReportsStatus ? { ...ticket, seen: this.look(key) } : ticket;
      },
      pollTicket: async ({ ticketKey }): Promise<PollResult> => {
        this.polls.push(ticketKey);
        return this.look(ticketKey);
      },
      recordInstanceState: async ({ state }) => {
        this.recorded.push(structuredClone(state));
        const parked = state.ticket ? this.parked : undefined;
        if (parked) this.parked = undefined;
        return parked ? { parked } : {};
      },
      completeManualTask: async () => ({ requestCompleted: ++this.completions === 1 }),
      closeTicketLoop: async ({ outcome }) => {
        this.closings.push(outcome);
        return { commented: false, transitioned: false, reason: 'close_loop is off for this connection' };
      },
      notifyUpstream: async (e) => {
        this.events.push(e);
        return { delivered: true };
      },
    };
  }

  private look(ticketKey: string): PollResult {
    const category = this.tickets.get(ticketKey) ?? 'deleted';
    if (category === 'deleted') return { ticket: null, status: null, statusCategory: null, dataSubmitted: this.dataInDatabase };
    const status = { new: 'To Do', indeterminate: 'In Progress', done: 'Done' }[category];
    return { ticket: { id: '1', key: ticketKey, url: `https://jira.test/browse/${ticketKey}` }, status, statusCategory: category, dataSubmitted: this.dataInDatabase };
  }

  get lastState(): InstanceState | undefined {
    return this.recorded.at(-1);
  }
}

