import { JiraBudget } from '../../src/jira/budget.js';
import type { FakeJiraAdmin } from './fake-jira.js';

/**
 * The Fides-style baseline, as the reference product documents its polling: every cycle it fetches the status
 * of every open ticket in bulk (`POST /rest/api/3/issue/bulkfetch`, 100 per call), grouped by connection. The
 * benchmark drives it itself against the same fake Jira, through the product's own budget (JiraBudget, the
 * same per-second rule), so that its calls and points come from the same counters as the tracker's.
 */

const BULK = 100;

export interface BaselineCycle {
  calls: number;
  statusesRead: number;
  seconds: number;
}

export class FidesStyleBaseline {
  private readonly budget: JiraBudget;

  /** `perSecond`: the budget each connection gets, as the tracker's connection has. */
  constructor(
    private readonly fake: FakeJiraAdmin,
    databaseUrl: string,
    private readonly perSecond: number,
  ) {
    this.budget = JiraBudget.open(databaseUrl, { defaultPerSecond: perSecond, appPointsPerHour: 65_000 });
  }

  /** One cycle over the open tickets, by connection. */
  async cycle(keysByConnection: Map<string, string[]>): Promise<BaselineCycle> {
    const t0 = performance.now();
    let calls = 0;
    let statusesRead = 0;
    for (const [connection, keys] of keysByConnection) {
      // A lane of its own: the baseline never waits on (or takes from) the product's budget.
      const lane = this.budget.connection({ connection: `fides-baseline/${connection}`, perSecond: this.perSecond });
      const call = { endpoint: 'POST /rest/api/3/issue/bulkfetch' };
      for (let i = 0; i < keys.length; i += BULK) {
        await lane.take(call);
        const r = await this.fake.api.ok('POST', '/rest/api/3/issue/bulkfetch', { issueIdsOrKeys: keys.slice(i, i + BULK), fields: ['status'] });
        calls += 1;
        statusesRead += r.json<{ issues: unknown[] }>().issues.length;
      }
    }
    return { calls, statusesRead, seconds: (performance.now() - t0) / 1000 };
  }

  close(): Promise<void> {
    return this.budget.close();
  }
}
