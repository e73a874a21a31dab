import { FidesStyleBaseline } from '../harness/baseline.js';
import { countCalls, type FakeStats } from '../harness/fake-jira.js';
import { n, say, sleep } from '../harness/output.js';
import { cpuBreakdown, cpuSecondsIn, interference, type CpuBreakdown } from '../harness/proc-metrics.js';
import { monotonicUs, type ProfileWindow } from '../harness/profile.js';
import { seedTrackedTickets, type SeedRun } from '../harness/seed.js';
import type { Stack } from '../harness/stack.js';
import { runCycle, waitForTracker } from '../harness/tracker.js';

/**
 * What poll-10k and poll-cost share: tickets tracked by the connection's tracker, changes made in the fake Jira
 * between cycles, each cycle run with `syncNow` and measured (duration, Jira's calls and points, the worker's
 * CPU), and the Fides-style baseline's cycle over the same tickets against the same fake.
 */

/**
 * How far the fake's clock moves on before each measured cycle: the default interval. Cycles run back to back
 * ask for 6 or 7 minutes back (a minute or two since the last + the 5-minute overlap), so the previous cycle's
 * changes are then out of the window.
 */
const CLOCK_STEP_MINUTES = 10;

export interface CycleMeasure {
  /** issues changed in the fake before the cycle */
  touched: number;
  /** from syncNow until the tracker recorded the cycle */
  recordedSeconds: number;
  /** from syncNow until every changed ticket's workflow had recorded its new state */
  allRecordedSeconds: number;
  /** as Jira (the fake) counted them */
  calls: number;
  points: number;
  maxPerSecond: number;
  rejected429: number;
  byEndpoint: Record<string, number>;
  /** as the tracker reported them */
  tracker: { tracked: number; changed: number; signalled: number; calls: number; points: number };
  workerCpuSeconds: number;
  cpu: CpuBreakdown;
  /** from syncNow until all recorded, by the monotonic clock (for a profile of the worker) */
  window: ProfileWindow;
}

export interface TrackerCyclesRun {
  seed: SeedRun;
  /** a cycle with nothing changed */
  quiet: CycleMeasure;
  cycles: CycleMeasure[];
  baseline: { calls: number; points: number; seconds: number; statusesRead: number; maxPerSecond: number; rejected429: number };
  notes: string[];
}

/**
 * Tickets seeded a day in the past, so that only changes made afterwards are in a delta read. Before each cycle
 * the fake's clock moves on 10 minutes (CLOCK_STEP_MINUTES): without that, each search window would also hold
 * the previous cycles' changes, which at the product's 10-minute interval only the overlap's last 5 minutes do.
 */
export async function measureTrackerCycles(stack: Stack, o: { tickets: number; changed: number; cycles: number; perSecond: number; prefix: string }): Promise<TrackerCyclesRun> {
  const notes: string[] = [];
  await waitForTracker(stack);
  const seed = await seedTrackedTickets(stack, { count: o.tickets, prefix: o.prefix, ageMinutes: 24 * 60 });
  await stack.fake.setRateLimit(o.perSecond);

  const measure = async (label: string, touched: string[]): Promise<CycleMeasure> => {
    await stack.fake.resetStats();
    const workerPart = stack.worker.role;
    const cpuOf = cpuBreakdown(stack.cpuParts());
    const fromUs = monotonicUs();
    const run = await runCycle(stack);
    const recordedSeconds = (performance.now() - run.sentAt) / 1000;
    // The changed tickets' workflows record their new state after the tracker told them (In Progress).
    let pending = touched.length;
    while (pending > 0) {
      stack.assertAlive();
      const { rows } = await stack.db.query<{ n: string }>("select count(*) as n from jira_ticket_instance where ticket_key = any($1) and status <> 'In Progress'", [touched]);
      pending = Number(rows[0]!.n);
      if (pending === 0) break;
      if (performance.now() - run.sentAt > 10 * 60_000) throw new Error(`${pending} of ${touched.length} changed tickets still not recorded 10 minutes after syncNow; see the worker's log in ${stack.logDir}`);
      await sleep(20);
    }
    const allRecordedSeconds = (performance.now() - run.sentAt) / 1000;
    const window = { fromUs, toUs: monotonicUs() };
    const cpu = cpuOf();
    const stats: FakeStats = await stack.fake.stats();
    const last = run.state.last!;
    notes.push(...interference(cpu, `measuring ${label}`));
    return {
      touched: touched.length,
      recordedSeconds,
      allRecordedSeconds,
      calls: stats.total,
      points: stats.points,
      maxPerSecond: stats.maxPerSecond,
      rejected429: stats.rejected429,
      byEndpoint: stats.byEndpoint,
      tracker: { tracked: last.tracked, changed: last.changed, signalled: last.signalled, calls: last.calls, points: last.points },
      workerCpuSeconds: cpuSecondsIn(cpu, workerPart),
      cpu,
      window,
    };
  };
  const describe = (c: CycleMeasure) =>
    `${n(c.tracker.tracked)} tracked, ${n(c.tracker.changed)} changed, ${n(c.tracker.signalled)} told; cycle recorded after ${n(c.recordedSeconds, 2)} s, all changes recorded after ${n(c.allRecordedSeconds, 2)} s; ${n(c.calls)} calls, ${n(c.points)} points, max ${c.maxPerSecond}/s, ${c.rejected429} × 429; worker ${n(c.workerCpuSeconds, 2)} CPU-s`;

  say('a cycle with nothing changed since the tickets were opened');
  const quiet = await measure('the quiet cycle', []);
  say(`quiet cycle: ${describe(quiet)}`);

  const cycles: CycleMeasure[] = [];
  const untouched = seed.tickets.map((t) => t.key);
  for (let c = 1; c <= o.cycles; c++) {
    await stack.fake.clock({ advanceMs: CLOCK_STEP_MINUTES * 60_000 });
    // Distinct tickets each cycle, spread over the whole set.
    const touched: string[] = [];
    for (let i = 0; i < o.changed && untouched.length; i++) touched.push(untouched.splice(Math.floor(Math.random() * untouched.length), 1)[0]!);
    await stack.fake.touch(touched, { status: 'In Progress', webhook: false });
    say(`cycle ${c} of ${o.cycles}: ${n(touched.length)} tickets moved to In Progress in the fake Jira; syncNow`);
    const m = await measure(`cycle ${c}`, touched);
    say(`cycle ${c}: ${describe(m)}`);
    cycles.push(m);
  }
  await stack.fake.clock({ offsetMs: 0 });

  say(`the Fides-style baseline: one cycle of bulk fetches (100 a call) over the ${n(seed.tickets.length)} open tickets, at ${o.perSecond} calls/s`);
  const baseline = new FidesStyleBaseline(stack.fake, stack.databaseUrl, o.perSecond);
  try {
    const { result, stats } = await countCalls(stack.fake, () => baseline.cycle(new Map([[stack.connectionKey, seed.tickets.map((t) => t.key)]])));
    say(`baseline cycle: ${n(stats.total)} calls, ${n(stats.points)} points in ${n(result.seconds, 1)} s, max ${stats.maxPerSecond}/s`);
    return {
      seed,
      quiet,
      cycles,
      baseline: { calls: stats.total, points: stats.points, seconds: result.seconds, statusesRead: result.statusesRead, maxPerSecond: stats.maxPerSecond, rejected429: stats.rejected429 },
      notes: [
        ...notes,
        `${n(seed.tickets.length)} tickets seeded in bulk (issues a day old on the fake's clock, read-model rows, workflows started with their state): open and at rest after ${n(seed.seconds.total, 1)} s (${n(seed.startsPerSecond)} workflow starts/s)`,
        `each measured cycle: ${n(o.changed)} distinct tickets moved To Do → In Progress in the fake (no webhook), then syncNow; the fake's clock moved ${CLOCK_STEP_MINUTES} min on before each, so that a window (minutes since the last cycle + the 5-minute overlap) holds that cycle's changes only`,
        `the fake enforced ${o.perSecond} calls/s itself (429 beyond it); the product's budget JIRA_RATE_LIMIT_PER_SECOND=${o.perSecond}`,
      ],
    };
  } finally {
    await baseline.close();
  }
}
