import type { JiraClient } from '../jira/client.js';

/** Jira's cost of what a cycle did: calls, and points (1 per call plus 1 per issue object returned). */
export class Tally {
  calls = 0;
  points = 0;
  readonly count = (issuesReturned: number) => {
    this.calls += 1;
    this.points += 1 + issuesReturned;
  };
}

/** A lost wake-up is only sent again once it is clearly lost, not while its workflow is taking it in. */
export const HEAL_AFTER_SECONDS = 30;

/**
 * Work a feature has its connection's tracker do every cycle, beside reading what changed: sending again a
 * wake-up its workflows should have had, or checking for duplicate tickets. Given the cycle's Jira client and
 * its tally (calls and points).
 */
export interface TrackerChore {
  name: string;
  run(cycle: { connectionKey: string; client: JiraClient; tally: Tally; doneStatusIds?: string[] | null }): Promise<{ healed?: number; duplicatesClosed?: number }>;
}
