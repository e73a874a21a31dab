import { randomBytes } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { setLogLevel } from '../../src/platform/log.js';
import { connectionKit } from '../../src/connections/kit.js';
import { openDatabase } from '../../src/platform/db/orm.js';
import { timeSkippingExecutable } from '../../tools/temporal/servers.js';
import { createTrackerActivities } from '../../src/tracker/activities.js';
import { privacyRequestChores } from '../../src/privacy-requests/tracker-chores.js';
import { anomalyChores } from '../../src/anomalies/tracker-chores.js';
import { trackerWorkflowId, type CycleReport, type TrackerInput } from '../../src/tracker/messages.js';
import type { jiraTracker } from '../../src/tracker/workflow.js';
import { workflowsPath } from '../../src/main/workflow-bundle.js';
import { FidesStyleBaseline } from '../harness/baseline.js';
import { countCalls } from '../harness/fake-jira.js';
import { summarize } from '../harness/load.js';
import { every, n, say, sleep } from '../harness/output.js';
import { childPidsNamed, cpuBreakdown, describeCpu, interference } from '../harness/proc-metrics.js';
import { seedTrackedTickets } from '../harness/seed.js';
import { startStack, type Stack } from '../harness/stack.js';
import { waitForTracker } from '../harness/tracker.js';
import type { Benchmark } from '../harness/report.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Jira's points per hour of tracking 10,000 open tickets with 100 changes an hour, averaged over a simulated
 * day with its reconciles. The real tracker workflow runs on Temporal's time-skipping test server with its real
 * activities (createTrackerActivities, against the stack's PostgreSQL and the fake Jira, signalling the ticket
 * workflows on the stack's dev server); around each of its cycles the benchmark makes that period's changes in
 * the fake at their simulated times and sets the fake's clock to the cycle's time (the workflow's `now`).
 * Then, in real time, how long a deletion takes to show with Jira's webhooks in place.
 */
export const pointsHour: Benchmark = {
  name: 'points-hour',
  measures: 'Jira points per hour over a simulated day (10-minute cycles, reconciles every 6 h) tracking 10,000 tickets with 100 changes an hour; deletion seen with and without webhooks',
  goal: '≤ 1,000 points an hour (Fides-style ≈ 60,600)',
  async run(opts) {
    const tickets = opts.get('tickets', 10_000);
    const changesPerHour = opts.get('changes-per-hour', 100);
    const hours = opts.get('hours', 24);
    const interval = opts.get('interval-minutes', 10);
    const reconcileMinutes = opts.get('reconcile-minutes', 360);
    const deletions = opts.get('deletions', 12);
    const webhookDeletions = opts.get('webhook-deletions', 20);
    const limit = opts.get('limit', 10);
    const baselineCycles = opts.get('baseline-cycles', Math.round(60 / interval));
    const stack = await startStack({ label: 'points-hour', env: { JIRA_RATE_LIMIT_PER_SECOND: String(limit) } });
    try {
      await waitForTracker(stack);
      const seed = await seedTrackedTickets(stack, { count: tickets, prefix: 'ph', ageMinutes: 24 * 60 });
      await stack.fake.setRateLimit(limit);
      const day = await simulateDay(stack, { keys: seed.tickets.map((t) => t.key), changesPerHour, hours, interval, reconcileMinutes, deletions, limit });

      say(`the Fides-style baseline over one simulated hour: ${baselineCycles} cycles of bulk fetches over the ${n(day.openAfter.length)} open tickets`);
      const baseline = new FidesStyleBaseline(stack.fake, stack.databaseUrl, limit);
      const fides = await countCalls(stack.fake, async () => {
        for (let c = 0; c < baselineCycles; c++) {
          const r = await baseline.cycle(new Map([[stack.connectionKey, day.openAfter]]));
          say(`baseline cycle ${c + 1} of ${baselineCycles}: ${n(r.calls)} calls in ${n(r.seconds, 1)} s`);
        }
      }).finally(() => baseline.close());
      const fidesPerHour = (fides.stats.points * (60 / interval)) / baselineCycles;

      const hooked = await deletionsByWebhook(stack, day.openAfter.slice(0, webhookDeletions));
      const pointsPerHour = day.points / day.simulatedHours;
      const recon = summarize(day.deletionLatencyMinutes);
      const hook = summarize(hooked.latenciesMs);
      return {
        figures: [
          { key: 'pointsPerHour', label: 'Jira points per hour (simulated day, reconciles included)', value: pointsPerHour, digits: 0, goal: '≤ 1,000', pass: pointsPerHour <= 1000 },
          { key: 'callsPerHour', label: 'Jira calls per hour', value: day.calls / day.simulatedHours, digits: 1 },
          { key: 'fidesPointsPerHour', label: 'Fides-style baseline: points per hour', value: fidesPerHour, digits: 0 },
          { key: 'fidesCallsPerHour', label: 'Fides-style baseline: calls per hour', value: (fides.stats.total * (60 / interval)) / baselineCycles, digits: 0 },
          { key: 'shareOfBaseline', label: 'points, % of the Fides-style baseline', value: (pointsPerHour / fidesPerHour) * 100, unit: '%', digits: 2 },
          { key: 'syncPointsPerHour', label: 'of which delta reads', value: day.syncPoints / day.simulatedHours, digits: 1 },
          { key: 'reconcilePointsPerHour', label: 'of which reconciles', value: day.reconcilePoints / day.simulatedHours, digits: 1 },
          { key: 'cycles', label: 'cycles simulated', value: day.cycles },
          { key: 'reconciles', label: 'reconciles', value: day.reconciles },
          { key: 'simulatedHours', label: 'simulated hours', value: day.simulatedHours, digits: 2 },
          { key: 'changesMade', label: 'changes made in the fake', value: day.changesMade },
          { key: 'changesSeen', label: 'changes the tracker found', value: day.changesSeen },
          { key: 'deletionByReconcileMeanMin', label: 'deletion seen without webhooks (reconcile): mean', value: recon.mean, unit: 'min', digits: 0 },
          { key: 'deletionByReconcileMaxMin', label: 'deletion seen without webhooks (reconcile): max', value: recon.max, unit: 'min', digits: 0 },
          { key: 'deletionsFound', label: `deletions found by reconciles (of ${day.deletionsMade})`, value: day.deletionsFound, goal: `${day.deletionsMade}`, pass: day.deletionsFound === day.deletionsMade },
          { key: 'deletionByWebhookP50Ms', label: 'deletion seen with webhooks: p50', value: hook.p50, unit: 'ms', digits: 0 },
          { key: 'deletionByWebhookMaxMs', label: 'deletion seen with webhooks: max', value: hook.max, unit: 'ms', digits: 0 },
          { key: 'realSeconds', label: 'real time the simulated day took', value: day.realSeconds, unit: 's', digits: 0 },
          { key: 'cpu', label: 'CPU during the simulated day (% of one core)', value: describeCpu(day.cpu) },
        ],
        notes: [
          ...interference(day.cpu, 'simulating the day'),
          `the tracker workflow on Temporal's time-skipping test server with its real activities (createTrackerActivities) in the benchmark's process, on the stack's PostgreSQL and fake Jira, signalling the ${n(tickets)} ticket workflows on the stack's dev server; ${interval}-minute cycles, reconcile every ${reconcileMinutes} min, overlap 5 min, budget ${limit}/s`,
          `${n(changesPerHour)} changes an hour (To Do ⇄ In Progress, one every ${n(3600 / changesPerHour)} s of simulated time, jittered within it, on random tickets); before each cycle the benchmark made that period's changes at their own simulated times and set the fake's clock to the cycle's`,
          `${day.deletionsMade} issues deleted at random simulated times before the day's last reconcile (no webhooks): each found by the next reconcile (expected mean ${reconcileMinutes / 2} min, max ${reconcileMinutes} min)`,
          `points by simulated hour: ${day.pointsByHour.map((p) => n(p)).join(', ')}`,
          `Fides-style baseline measured over ${baselineCycles} cycles (one simulated hour: its cost does not depend on time) against the same fake at the same budget: ${n(fides.stats.total)} calls, ${n(fides.stats.points)} points, ${n(fides.seconds)} s`,
          `with webhooks: an admin webhook in the fake (signed, jira:issue_deleted) to POST /webhooks/jira/${stack.connectionKey}; ${hooked.latenciesMs.length} deletions one at a time, DELETE in the fake → instance failed in the read model`,
          `${n(seed.tickets.length)} tickets seeded in bulk, open after ${n(seed.seconds.total, 1)} s`,
        ],
        missing: [],
        data: { ...day, cpu: day.cpu.byPart, openAfter: undefined, fides: { calls: fides.stats.total, points: fides.stats.points, cycles: baselineCycles }, hooked },
      };
    } finally {
      await stack.stop();
    }
  },
};

interface DayRun {
  points: number;
  calls: number;
  syncPoints: number;
  reconcilePoints: number;
  cycles: number;
  reconciles: number;
  simulatedHours: number;
  changesMade: number;
  changesSeen: number;
  deletionsMade: number;
  deletionsFound: number;
  deletionLatencyMinutes: number[];
  pointsByHour: number[];
  realSeconds: number;
  cpu: ReturnType<ReturnType<typeof cpuBreakdown>>;
  /** the tickets still open after the day */
  openAfter: string[];
}

async function simulateDay(stack: Stack, o: { keys: string[]; changesPerHour: number; hours: number; interval: number; reconcileMinutes: number; deletions: number; limit: number }): Promise<DayRun> {
  say("starting Temporal's time-skipping test server and a tracker worker in this process");
  // The product's activities log each cycle; here they would drown the progress lines.
  setLogLevel('error');
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed already by an earlier benchmark of this run
  }
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: await timeSkippingExecutable() } });
  const orm = await openDatabase(stack.databaseUrl, { poolMax: 4 });
  const kit = connectionKit(orm, { secretKeys: stack.keys.secretKeys, jiraTimeoutMs: 30_000, allowHttpHosts: [], gatewayUrl: 'https://api.atlassian.com', rateLimitPerSecond: o.limit });
  try {
    const real = createTrackerActivities({ orm, kit, temporal: stack.temporal, chores: [...privacyRequestChores({ orm, temporal: stack.temporal }), ...anomalyChores({ orm, temporal: stack.temporal })] });
    const t0 = await env.currentTimeMs();
    const end = t0 + o.hours * HOUR;
    // The day's events, in simulated time: changes evenly spread with jitter, deletions at random.
    const alive = [...o.keys];
    const status = new Map<string, string>();
    const slot = HOUR / o.changesPerHour;
    const changes = Array.from({ length: Math.floor((o.hours * HOUR) / slot) }, (_, k) => t0 + (k + Math.random()) * slot);
    // Before the day's last reconcile, so that each is found within the day.
    const deletionsAt = Array.from({ length: o.deletions }, () => t0 + Math.random() * (end - t0 - o.reconcileMinutes * MINUTE)).sort((a, b) => a - b);
    const deleted: Array<{ key: string; at: number; foundAt?: number }> = [];
    let nextChange = 0;
    let nextDeletion = 0;
    let lastNow = t0;
    const run = { cycles: 0, reconciles: 0, syncPoints: 0, reconcilePoints: 0, changesSeen: 0, changesMade: 0, pointsByHour: [] as number[] };
    const charge = (at: number, points: number) => {
      const h = Math.floor((at - t0) / HOUR);
      run.pointsByHour[h] = (run.pointsByHour[h] ?? 0) + points;
    };

    /** Makes every change and deletion due before `now`, each at its own simulated time. */
    const happenUntil = async (now: number) => {
      for (;;) {
        const c = changes[nextChange];
        const d = deletionsAt[nextDeletion];
        if ((c === undefined || c > now) && (d === undefined || d > now)) return;
        if (d !== undefined && (c === undefined || d <= c)) {
          nextDeletion++;
          const key = alive.splice(Math.floor(Math.random() * alive.length), 1)[0]!;
          await stack.fake.setClock(d);
          // Through the admin API without a webhook registered: as if nobody had set webhooks up.
          await stack.fake.remove(key);
          deleted.push({ key, at: d });
        } else {
          nextChange++;
          const key = alive[Math.floor(Math.random() * alive.length)]!;
          const to = status.get(key) === 'In Progress' ? 'To Do' : 'In Progress';
          await stack.fake.setClock(c!);
          await stack.fake.touch([key], { status: to, webhook: false });
          status.set(key, to);
          run.changesMade++;
        }
      }
    };

    const dayCycles = Math.round((o.hours * 60) / o.interval);
    const activities = {
      ...real,
      async syncChanges(args: Parameters<typeof real.syncChanges>[0]): Promise<CycleReport> {
        const now = Date.parse(args.now!);
        if (run.cycles >= dayCycles) return { tracked: 0, changed: 0, signalled: 0, calls: 0, points: 0, healed: 0, duplicatesClosed: 0, cursor: args.cursor ?? args.now!, webhooks: false, stop: 'the simulated day is over' };
        await happenUntil(now);
        await stack.fake.setClock(now);
        const report = await real.syncChanges(args);
        lastNow = now;
        run.cycles++;
        run.syncPoints += report.points;
        run.changesSeen += report.changed;
        charge(now, report.points);
        return report;
      },
      async reconcileTickets(args: Parameters<typeof real.reconcileTickets>[0]) {
        await stack.fake.setClock(lastNow);
        const report = await real.reconcileTickets(args);
        run.reconciles++;
        run.reconcilePoints += report.points;
        charge(lastNow, report.points);
        for (const d of deleted) if (d.foundAt === undefined && d.at <= lastNow) d.foundAt = lastNow;
        if (report.deleted !== deleted.filter((d) => d.foundAt === lastNow).length) say(`the reconcile at +${n((lastNow - t0) / MINUTE)} min found ${report.deleted} deleted tickets; ${deleted.filter((d) => d.foundAt === lastNow).length} were deleted since the last`);
        return report;
      },
    };
    const taskQueue = `points-hour-${randomBytes(3).toString('hex')}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities });
    const input: TrackerInput = {
      connectionKey: stack.connectionKey,
      intervalMinutes: o.interval,
      webhookIntervalMinutes: 60,
      overlapMinutes: 5,
      reconcileIntervalMinutes: o.reconcileMinutes,
      // A tracker that has been running (a new one would read every ticket once): its last cycle at the day's
      // start, its last reconcile an interval before, so that the day's first cycle reconciles and the day holds
      // its whole share of reconciles (at +0, +6, +12 and +18 h of a 24-hour day).
      state: {
        cycle: 1,
        cursor: new Date(t0).toISOString(),
        lastReconcileAt: new Date(t0 - o.reconcileMinutes * MINUTE).toISOString(),
        lastError: null,
        last: null,
        lastReconcile: null,
        totals: { calls: 0, points: 0, changed: 0 },
      },
    };
    await stack.fake.resetStats();
    const cpuOf = cpuBreakdown({ ...stack.cpuParts(), 'time-skipping server': childPidsNamed('java')[0] });
    const started = performance.now();
    const stopProgress = every(5000, () => `simulated +${n((lastNow - t0) / HOUR, 1)} h of ${o.hours}: ${run.cycles} cycles, ${run.reconciles} reconciles, ${n(run.syncPoints + run.reconcilePoints)} points, ${run.changesMade} changes made, ${run.changesSeen} found`);
    try {
      await worker.runUntil(async () => {
        const handle = await env.client.workflow.start<typeof jiraTracker>('jiraTracker', { workflowId: trackerWorkflowId(stack.connectionKey), taskQueue, args: [input] });
        await handle.result();
      });
    } finally {
      stopProgress();
    }
    const cpu = cpuOf();
    const realSeconds = (performance.now() - started) / 1000;
    const stats = await stack.fake.stats();
    await stack.fake.clock({ offsetMs: 0 });
    const simulatedHours = (lastNow - t0) / HOUR;
    say(`simulated ${n(simulatedHours, 1)} h in ${n(realSeconds)} s: ${n(stats.total)} calls, ${n(stats.points)} points (${n(stats.points / simulatedHours)} an hour)`);
    // The deleted tickets' workflows have recorded it (they run in real time on the dev server).
    const failed = await waitForFailed(stack, deleted.map((d) => d.key), 60_000);
    if (failed < deleted.length) say(`only ${failed} of ${deleted.length} deleted tickets show as failed in the read model`);
    return {
      points: stats.points,
      calls: stats.total,
      ...run,
      simulatedHours,
      deletionsMade: deleted.length,
      deletionsFound: deleted.filter((d) => d.foundAt !== undefined).length,
      deletionLatencyMinutes: deleted.filter((d) => d.foundAt !== undefined).map((d) => (d.foundAt! - d.at) / MINUTE),
      pointsByHour: Array.from({ length: Math.ceil(simulatedHours) }, (_, h) => run.pointsByHour[h] ?? 0),
      realSeconds,
      cpu,
      openAfter: alive,
    };
  } finally {
    await kit.close();
    await orm.close();
    await env.teardown();
  }
}

/** How many of the tickets' instances are failed (their ticket deleted), waiting up to `timeoutMs` for all. */
async function waitForFailed(stack: Stack, keys: string[], timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { rows } = await stack.db.query<{ n: string }>("select count(*) as n from jira_ticket_instance where ticket_key = any($1) and task_state = 'failed'", [keys]);
    const failed = Number(rows[0]!.n);
    if (failed >= keys.length || performance.now() > deadline) return failed;
    await sleep(20);
  }
}

/** With an admin webhook (signed) from the fake to the API: each deletion, from the DELETE until the instance is failed. */
async function deletionsByWebhook(stack: Stack, keys: string[]): Promise<{ latenciesMs: number[]; notSeen: number }> {
  const secret = `bench-webhook-${randomBytes(12).toString('hex')}`;
  await stack.api.ok('PUT', `/api/v1/connection/${stack.connectionKey}/secret`, { webhook_secret: secret });
  await stack.fake.addWebhook({ url: `${stack.apiUrl}/webhooks/jira/${stack.connectionKey}`, secret, events: ['jira:issue_deleted'] });
  say(`deleting ${keys.length} tickets one at a time with the fake's webhook to the API in place`);
  const latenciesMs: number[] = [];
  let notSeen = 0;
  for (const key of keys) {
    const t0 = performance.now();
    await stack.fake.remove(key);
    if ((await waitForFailed(stack, [key], 10_000)) === 1) latenciesMs.push(performance.now() - t0);
    else notSeen++;
  }
  const s = summarize(latenciesMs);
  say(`deletions seen through webhooks: p50 ${n(s.p50)} ms, max ${n(s.max)} ms${notSeen ? `; ${notSeen} not within 10 s` : ''}`);
  return { latenciesMs, notSeen };
}
