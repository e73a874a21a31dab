import { median } from '../harness/load.js';
import { describeCpu } from '../harness/proc-metrics.js';
import { n, say } from '../harness/output.js';
import { formatProfile, profileDir, profilesIn, summarizeProfile } from '../harness/profile.js';
import { startStack } from '../harness/stack.js';
import type { Benchmark, Figure } from '../harness/report.js';
import { measureTrackerCycles } from './tracker-cycles.js';

/**
 * One tracker cycle over 10,000 tracked tickets of which 1 % changed, under a Jira budget of 10 calls/s: how long
 * from syncNow until the cycle is recorded, and until every changed ticket's workflow has its new state; what it
 * cost Jira (calls, points) against the Fides-style baseline's cycle over the same tickets.
 */
export const poll10k: Benchmark = {
  name: 'poll-10k',
  measures: 'a tracker cycle over 10,000 tracked tickets, 100 changed, 10 calls/s budget: duration, calls, points, worker CPU; the Fides-style cycle beside it',
  goal: 'duration ≤ 1.2 × calls/budget + 5 s; points ≤ 2 % of the Fides-style baseline',
  async run(opts) {
    const tickets = opts.get('tickets', 10_000);
    const changed = opts.get('changed', Math.round(tickets / 100));
    const cycles = opts.get('cycles', 3);
    const limit = opts.get('limit', 10);
    const profile = opts.flag('profile') ? profileDir('poll-10k') : undefined;
    const stack = await startStack({ label: 'poll-10k', env: { JIRA_RATE_LIMIT_PER_SECOND: String(limit) }, workerNodeArgs: profile?.nodeArgs });
    // The stack stops before the figures: a worker's profile is written when it exits.
    const run = await measureTrackerCycles(stack, { tickets, changed, cycles, perSecond: limit, prefix: 'p10k' }).finally(() => stack.stop());
    const allowed = (calls: number) => 1.2 * (calls / limit) + 5;
    const worst = run.cycles.reduce((a, b) => (b.allRecordedSeconds - allowed(b.calls) > a.allRecordedSeconds - allowed(a.calls) ? b : a));
    const pointsShare = (Math.max(...run.cycles.map((c) => c.points)) / run.baseline.points) * 100;
    const figures: Figure[] = [
      { key: 'recordedSeconds', label: 'syncNow → cycle recorded (worst cycle)', value: Math.max(...run.cycles.map((c) => c.recordedSeconds)), unit: 's', digits: 2, goal: `≤ ${n(allowed(worst.calls), 2)} s`, pass: run.cycles.every((c) => c.recordedSeconds <= allowed(c.calls)) },
      { key: 'allRecordedSeconds', label: `syncNow → all ${changed} workflows recorded (worst)`, value: worst.allRecordedSeconds, unit: 's', digits: 2, goal: `≤ ${n(allowed(worst.calls), 2)} s`, pass: run.cycles.every((c) => c.allRecordedSeconds <= allowed(c.calls)) },
      { key: 'allRecordedMedianSeconds', label: 'syncNow → all recorded (median of cycles)', value: median(run.cycles.map((c) => c.allRecordedSeconds)), unit: 's', digits: 2 },
      { key: 'calls', label: 'Jira calls per cycle (max)', value: Math.max(...run.cycles.map((c) => c.calls)) },
      { key: 'points', label: 'Jira points per cycle (max)', value: Math.max(...run.cycles.map((c) => c.points)) },
      { key: 'pointsShareOfBaseline', label: 'points, % of the Fides-style cycle', value: pointsShare, unit: '%', digits: 2, goal: '≤ 2 %', pass: pointsShare <= 2 },
      { key: 'workerCpuSeconds', label: 'worker CPU-seconds per cycle (median)', value: median(run.cycles.map((c) => c.workerCpuSeconds)), unit: 's', digits: 2 },
      { key: 'maxPerSecond', label: 'max Jira calls in a sliding second', value: Math.max(...run.cycles.map((c) => c.maxPerSecond)), goal: `≤ ${limit}`, pass: run.cycles.every((c) => c.maxPerSecond <= limit) },
      { key: 'rejected429', label: '429 answers', value: run.cycles.reduce((a, c) => a + c.rejected429, 0) },
      { key: 'quietCalls', label: 'quiet cycle (nothing changed): calls', value: run.quiet.calls },
      { key: 'quietPoints', label: 'quiet cycle: points', value: run.quiet.points },
      { key: 'quietSeconds', label: 'quiet cycle: syncNow → recorded', value: run.quiet.recordedSeconds, unit: 's', digits: 2 },
      { key: 'baselineCalls', label: 'Fides-style cycle: calls', value: run.baseline.calls },
      { key: 'baselinePoints', label: 'Fides-style cycle: points', value: run.baseline.points },
      { key: 'baselineSeconds', label: 'Fides-style cycle: duration', value: run.baseline.seconds, unit: 's', digits: 1 },
      { key: 'openSeconds', label: `time to open ${n(run.seed.tickets.length)} (bulk seeding)`, value: run.seed.seconds.total, unit: 's', digits: 1 },
      { key: 'cpu', label: 'CPU during the worst cycle (% of one core)', value: describeCpu(worst.cpu) },
    ];
    // Over the measured cycles only.
    const workerProfile = profile ? summarizeProfile(profilesIn(profile.dir).at(-1)!, { windows: run.cycles.map((c) => c.window), top: 25 }) : undefined;
    if (workerProfile) for (const line of formatProfile(workerProfile, { perUnit: { count: run.cycles.length, unit: 'cycle' } })) say(`[worker, measured cycles] ${line}`);
    return {
      figures,
      notes: [
        ...(workerProfile ? [`UNDER THE PROFILER (node --cpu-prof on the worker); the worker's CPU over the measured cycles by package (node's own work charged to its caller): ${workerProfile.byPart.slice(0, 12).map((l) => `${l.name} ${l.pct.toFixed(0)} %`).join(', ')}`] : []),
        ...run.notes,
        `per cycle (recorded / all recorded s, calls, points, worker CPU-s): ${run.cycles.map((c) => `${n(c.recordedSeconds, 2)}/${n(c.allRecordedSeconds, 2)}, ${c.calls}, ${c.points}, ${n(c.workerCpuSeconds, 2)}`).join('; ')}`,
        `the tracker's own count of its calls and points matched the fake's: ${run.cycles.every((c) => c.tracker.calls === c.calls && c.tracker.points === c.points) ? 'yes' : `no (${run.cycles.map((c) => `${c.tracker.calls}/${c.tracker.points}`).join(', ')})`}`,
      ],
      missing: [],
      data: { cycles: run.cycles.map(({ cpu, ...c }) => ({ ...c, cpu: cpu.byPart })), quiet: run.quiet, baseline: run.baseline, seed: run.seed.seconds, tickets, changed, limit, workerProfile },
    };
  },
};
