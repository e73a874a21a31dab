import { startStack } from '../harness/stack.js';
import { n } from '../harness/output.js';
import type { Benchmark } from '../harness/report.js';
import { measureTrackerCycles } from './tracker-cycles.js';

/** What a tracker cycle costs Jira at 1,000 tickets with some changed, beside the Fides-style cycle over the same tickets. */
export const pollCost: Benchmark = {
  name: 'poll-cost',
  measures: "the tracker's Jira calls and points per cycle at 1,000 tracked tickets (50 changed a cycle), beside the Fides-style baseline's",
  goal: 'no more calls or points than the Fides-style baseline',
  async run(opts) {
    const tickets = opts.get('tickets', 1000);
    const changed = opts.get('changed', 50);
    const cycles = opts.get('cycles', 3);
    const limit = opts.get('limit', 10);
    const stack = await startStack({ label: 'poll-cost', env: { JIRA_RATE_LIMIT_PER_SECOND: String(limit) } });
    try {
      const run = await measureTrackerCycles(stack, { tickets, changed, cycles, perSecond: limit, prefix: 'pc' });
      const calls = run.cycles.reduce((a, c) => a + c.calls, 0) / run.cycles.length;
      const points = run.cycles.reduce((a, c) => a + c.points, 0) / run.cycles.length;
      return {
        figures: [
          { key: 'callsPerCycle', label: 'tracker: calls per cycle (mean)', value: calls, digits: 1, goal: `≤ ${n(run.baseline.calls)} (baseline)`, pass: calls <= run.baseline.calls },
          { key: 'pointsPerCycle', label: 'tracker: points per cycle (mean)', value: points, digits: 1, goal: `≤ ${n(run.baseline.points)} (baseline)`, pass: points <= run.baseline.points },
          { key: 'callsPerTicket', label: 'tracker: calls per tracked ticket per cycle', value: calls / tickets, digits: 4 },
          { key: 'pointsPerTicket', label: 'tracker: points per tracked ticket per cycle', value: points / tickets, digits: 4 },
          { key: 'quietCalls', label: 'tracker, nothing changed: calls', value: run.quiet.calls },
          { key: 'quietPoints', label: 'tracker, nothing changed: points', value: run.quiet.points },
          { key: 'baselineCalls', label: 'Fides-style: calls per cycle', value: run.baseline.calls },
          { key: 'baselinePoints', label: 'Fides-style: points per cycle', value: run.baseline.points },
          { key: 'baselineCallsPerTicket', label: 'Fides-style: calls per ticket per cycle', value: run.baseline.calls / tickets, digits: 4 },
          { key: 'byEndpoint', label: 'tracker calls by endpoint (all cycles)', value: JSON.stringify(run.cycles.reduce<Record<string, number>>((a, c) => { for (const [k, v] of Object.entries(c.byEndpoint)) a[k] = (a[k] ?? 0) + v; return a; }, {})) },
        ],
        notes: [...run.notes, `per cycle (changed, calls, points): ${run.cycles.map((c) => `${c.tracker.changed}, ${c.calls}, ${c.points}`).join('; ')}`],
        missing: [],
        data: { cycles: run.cycles.map(({ cpu, ...c }) => c), quiet: run.quiet, baseline: run.baseline, tickets, changed },
      };
    } finally {
      await stack.stop();
    }
  },
};
