import { readFileSync } from 'node:fs';
import { openLoop, runPool, summarize, type LatencySummary } from '../harness/load.js';
import { every, n, say, sleep } from '../harness/output.js';
import { cpuBreakdown, cpuSecondsIn, describeCpu, interference, type CpuBreakdown } from '../harness/proc-metrics.js';
import { formatProfile, monotonicUs, profileDir, profilesIn, summarizeProfile, type ProfileSummary, type ProfileWindow } from '../harness/profile.js';
import { approvalTally, approveMany, waitForOpen, waitForStarts, type ApprovalRun } from '../harness/seed.js';
import { startStack, type Stack } from '../harness/stack.js';
import type { Benchmark, Figure } from '../harness/report.js';

interface PhaseRun {
  label: string;
  run: ApprovalRun;
  latency: LatencySummary;
  /** the API's own handling time (its access log), from the request's arrival to its answer */
  serverMs: LatencySummary;
  /** started / (last start − first approval sent) */
  startedPerSecond: number;
  /** starts per second in the middle of the phase (its first and last tenth left out): what the start path sustains */
  steadyStartedPerSecond: number;
  /** approval committed → its workflow started (PostgreSQL's clock) */
  startLag: LatencySummary;
  lastStartAfterLastAnswerSeconds: number;
  cpu: CpuBreakdown;
  /** CPU milliseconds per approval, by process */
  cpuMsPerApproval: Record<string, number>;
  /** PostgreSQL transactions (each autocommitted statement is one) per approval, all processes, while the phase ran */
  pgTransactionsPerApproval: number;
  openSeconds: number;
  window: ProfileWindow;
}

/**
 * How fast approvals start ticket workflows through the API, while the worker creates their tickets: approvals
 * offered at 100/s (an open loop, as independent upstream systems send them), then a closed loop of 50 clients.
 * A 201 means the request and its instance are committed; the API starts the workflow right after (start queue).
 * `--profile` runs the API under `node --cpu-prof` and reads the profile of each measured phase.
 */
export const startRate: Benchmark = {
  name: 'start-rate',
  measures: 'approvals through the API offered at 100/s (open loop), then at concurrency 50 (closed loop): workflows started/s, answer latency, CPU per approval',
  goal: '≥ 100 started/s and answer p99 < 250 ms (open loop at 100/s)',
  async run(opts) {
    const requests = opts.get('requests', 2000);
    const rate = opts.get('rate', 100);
    const concurrency = opts.get('concurrency', 50);
    const warmup = opts.get('warmup', 200);
    const profile = opts.flag('profile') ? profileDir('start-rate') : undefined;
    const stack = await startStack({ label: 'start-rate', apiNodeArgs: profile?.nodeArgs });
    let phases: PhaseRun[] = [];
    try {
      // At the measured concurrency, so that the first measured requests do not open the sockets and pool connections.
      say(`warm-up: ${warmup} approvals at concurrency ${concurrency} (not counted)`);
      await approveMany(stack, { count: warmup, concurrency, prefix: 'warm', quiet: true });
      await waitForOpen(stack, warmup, { timeoutMs: 10 * 60_000 });
      phases = [
        await phase(stack, `open loop at ${rate}/s`, 'open', requests, (tally) => openLoop(requests, rate, (i, at) => tally.send(i, { from: at })).then(() => undefined)),
        await phase(stack, `closed loop, concurrency ${concurrency}`, 'closed', requests, (tally) => runPool(requests, concurrency, (i) => tally.send(i))),
      ];
    } finally {
      await stack.stop();
    }
    const [open, closed] = phases as [PhaseRun, PhaseRun];
    const profiles: ProfileSummary[] = profile ? phases.map((p) => summarizeProfile(profilesIn(profile.dir).at(-1)!, { windows: [p.window], top: 25 })) : [];
    for (const [i, s] of profiles.entries()) for (const line of formatProfile(s, { perUnit: { count: phases[i]!.run.ok, unit: 'approval' } })) say(`[${phases[i]!.label}] ${line}`);
    const figures: Figure[] = [
      { key: 'openStartedPerSecond', label: `open loop ${rate}/s: workflows started/s (steady middle of the phase)`, value: open.steadyStartedPerSecond, unit: '/s', digits: 1, goal: `≥ ${rate}/s`, pass: open.steadyStartedPerSecond >= rate && open.run.failed === 0 },
      { key: 'openStartedPerSecondOverall', label: 'open loop: started / (first sent → last started)', value: open.startedPerSecond, unit: '/s', digits: 1 },
      { key: 'openP50Ms', label: 'open loop: answer p50', value: open.latency.p50, unit: 'ms', digits: 1 },
      { key: 'openP99Ms', label: 'open loop: answer p99', value: open.latency.p99, unit: 'ms', digits: 1, goal: '< 250 ms', pass: open.latency.p99 < 250 },
      { key: 'openMaxMs', label: 'open loop: answer max', value: open.latency.max, unit: 'ms', digits: 1 },
      { key: 'openServerP50Ms', label: "open loop: the API's own time p50 (access log)", value: open.serverMs.p50, unit: 'ms', digits: 1 },
      { key: 'openServerP99Ms', label: "open loop: the API's own time p99", value: open.serverMs.p99, unit: 'ms', digits: 1 },
      { key: 'openStartLagP99Ms', label: 'open loop: committed → workflow started p99', value: open.startLag.p99, unit: 'ms', digits: 0 },
      { key: 'openApiCpuMs', label: 'open loop: API CPU per approval', value: open.cpuMsPerApproval.API!, unit: 'ms', digits: 2 },
      { key: 'openTemporalCpuMs', label: 'open loop: Temporal CPU per approval', value: open.cpuMsPerApproval.Temporal!, unit: 'ms', digits: 2 },
      { key: 'openPgCpuMs', label: 'open loop: PostgreSQL CPU per approval', value: open.cpuMsPerApproval.PostgreSQL!, unit: 'ms', digits: 2 },
      { key: 'openWorkerCpuMs', label: 'open loop: worker CPU per approval (creating its ticket)', value: open.cpuMsPerApproval.worker!, unit: 'ms', digits: 2 },
      { key: 'openPgTransactions', label: 'open loop: PostgreSQL transactions per approval (all processes)', value: open.pgTransactionsPerApproval, digits: 1 },
      { key: 'openOpenSeconds', label: 'open loop: all tickets open, after the first approval', value: open.openSeconds, unit: 's', digits: 1 },
      { key: 'openCpu', label: 'open loop: CPU (% of one core)', value: describeCpu(open.cpu) },
      { key: 'closedStartedPerSecond', label: `closed loop c=${concurrency}: workflows started/s (first sent → last started)`, value: closed.startedPerSecond, unit: '/s', digits: 1 },
      { key: 'closedAnsweredPerSecond', label: 'closed loop: answers/s', value: closed.run.perSecond, unit: '/s', digits: 1 },
      { key: 'closedP50Ms', label: 'closed loop: answer p50', value: closed.latency.p50, unit: 'ms', digits: 1 },
      { key: 'closedP99Ms', label: 'closed loop: answer p99', value: closed.latency.p99, unit: 'ms', digits: 1 },
      { key: 'closedServerP50Ms', label: "closed loop: the API's own time p50", value: closed.serverMs.p50, unit: 'ms', digits: 1 },
      { key: 'closedApiCpuMs', label: 'closed loop: API CPU per approval', value: closed.cpuMsPerApproval.API!, unit: 'ms', digits: 2 },
      { key: 'closedTemporalCpuMs', label: 'closed loop: Temporal CPU per approval', value: closed.cpuMsPerApproval.Temporal!, unit: 'ms', digits: 2 },
      { key: 'closedPgCpuMs', label: 'closed loop: PostgreSQL CPU per approval', value: closed.cpuMsPerApproval.PostgreSQL!, unit: 'ms', digits: 2 },
      { key: 'closedCpu', label: 'closed loop: CPU (% of one core)', value: describeCpu(closed.cpu) },
    ];
    return {
      figures,
      notes: [
        ...phases.flatMap((p) => interference(p.cpu, `measuring the ${p.label}`)),
        ...(profile ? [`UNDER THE PROFILER (node --cpu-prof on the API): figures are a little lower than without; profile in ${profile.dir}`] : []),
        `${warmup} warm-up approvals at concurrency ${concurrency} first; each phase ${n(requests)} new approvals, then its tickets are all open before the next phase`,
        'the worker creates each ticket in the fake Jira meanwhile (3 Jira calls: label search, create, read), on the same 2 cores, as in production',
        ...phases.map((p) => `${p.label}: ${p.run.ok} answered 201, ${p.run.failed} failed; last workflow started ${n(p.lastStartAfterLastAnswerSeconds, 2)} s after the last answer; committed → started p50 ${n(p.startLag.p50)} ms, p99 ${n(p.startLag.p99)} ms; slowest answers (sent at → took, ms): ${p.run.slowest.slice(0, 6).map((x) => `${n(x.sentAtMs)} → ${n(x.ms)}`).join(', ')}${p.run.failed ? `; failures ${JSON.stringify(p.run.failures)}` : ''}`),
        ...profiles.map((s, i) => `profile of the ${phases[i]!.label}, CPU by package (node's own work charged to its caller): ${s.byPart.slice(0, 12).map((l) => `${l.name} ${l.pct.toFixed(0)} %`).join(', ')}`),
      ],
      missing: [],
      data: { phases: phases.map((p) => ({ ...p, run: { ...p.run, latenciesMs: undefined }, cpu: p.cpu.byPart })), profiles, requests, rate, concurrency, warmup },
    };
  },
};

async function phase(stack: Stack, label: string, prefix: string, requests: number, load: (tally: ReturnType<typeof approvalTally>) => Promise<void>): Promise<PhaseRun> {
  say(`${label}: ${n(requests)} approvals`);
  const tally = approvalTally(stack, prefix);
  const xactsBefore = await transactions(stack);
  const cpuOf = cpuBreakdown(stack.cpuParts());
  const fromUs = monotonicUs();
  const t0 = performance.now();
  const stopProgress = every(2000, () => {
    stack.assertAlive();
    return `${label}: answered ${n(tally.done)} of ${n(requests)} (${n(tally.done / ((performance.now() - t0) / 1000))}/s)${tally.failed ? `, ${n(tally.failed)} failed` : ''}`;
  });
  await load(tally).finally(stopProgress);
  const answered = performance.now();
  const allStarted = await waitForStarts(stack, `${prefix}-`);
  const cpu = cpuOf();
  const toUs = monotonicUs();
  const run = tally.result();
  const xacts = (await transactions(stack)) - xactsBefore;
  const { rows } = await stack.db.query<{ lag_ms: number; started_s: number; created_s: number }>(
    `select extract(epoch from (workflow_started_at - created_at)) * 1000 as lag_ms, extract(epoch from workflow_started_at) as started_s, extract(epoch from created_at) as created_s
     from jira_ticket_instance where privacy_request_id like $1`,
    [`${prefix}-%`],
  );
  const starts = rows.map((r) => Number(r.started_s)).sort((a, b) => a - b);
  const first = Math.min(...rows.map((r) => Number(r.created_s)));
  const span = starts.at(-1)! - first;
  const steadyFrom = first + span * 0.1;
  const steadyTo = first + span * 0.9;
  const steady = starts.filter((s) => s >= steadyFrom && s < steadyTo).length / (steadyTo - steadyFrom);
  // Every instance so far (warm-up and earlier phases included) ends up open.
  const total = Object.values(await stack.countByState()).reduce((a, b) => a + b, 0);
  const opened = await waitForOpen(stack, total, { timeoutMs: 15 * 60_000, since: t0 });
  const perApproval = (part: string) => (cpuSecondsIn(cpu, part) * 1000) / run.ok;
  const result: PhaseRun = {
    label,
    run,
    latency: summarize(run.latenciesMs),
    serverMs: summarize(serverTimes(stack, `${prefix}-`)),
    startedPerSecond: run.ok / ((allStarted - t0) / 1000),
    steadyStartedPerSecond: steady,
    startLag: summarize(rows.map((r) => Number(r.lag_ms))),
    lastStartAfterLastAnswerSeconds: (allStarted - answered) / 1000,
    cpu,
    pgTransactionsPerApproval: xacts / run.ok,
    cpuMsPerApproval: { API: perApproval('API'), Temporal: perApproval('Temporal'), PostgreSQL: perApproval('PostgreSQL'), worker: perApproval('worker'), 'bench client': perApproval('bench client') },
    openSeconds: opened.seconds,
    window: { fromUs, toUs },
  };
  say(`${label}: answers p50 ${n(result.latency.p50)} ms, p99 ${n(result.latency.p99)} ms; started ${n(result.startedPerSecond, 1)}/s overall, ${n(steady, 1)}/s steady; API ${n(result.cpuMsPerApproval.API!, 2)} ms CPU per approval`);
  return result;
}

/** Transactions PostgreSQL has counted in the stack's database (its statistics lag by up to a second: read after a pause). */
async function transactions(stack: Stack): Promise<number> {
  await sleep(1200);
  const { rows } = await stack.db.query<{ n: string }>('select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()');
  return Number(rows[0]!.n);
}

/** The API's own time for the phase's approvals, from its access log (one JSON line per request, named by request id). */
function serverTimes(stack: Stack, prefix: string): number[] {
  const out: number[] = [];
  for (const line of readFileSync(stack.apiProcess.logFile, 'utf8').split('\n')) {
    if (!line.includes('"msg":"http"') || !line.includes(`"requestId":"${prefix}`)) continue;
    try {
      const entry = JSON.parse(line) as { method?: string; ms?: number };
      if (entry.method === 'POST' && typeof entry.ms === 'number') out.push(entry.ms);
    } catch {
      // a line cut short by a stop
    }
  }
  return out;
}
