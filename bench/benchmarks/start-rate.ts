import { approveMany, cpuBreakdown, describeCpu, interference, n, say, startStack, summarize, waitForOpen, waitForStarts } from '../harness.js';
import type { Benchmark } from '../report.js';

/**
 * How fast approvals start ticket workflows through the API. Each POST commits the request and its instance
 * to PostgreSQL and answers; the API starts the workflow right after. Workflows started per second counts from
 * the first approval until the last of their workflows was started in Temporal, not the answers.
 */
export const startRate: Benchmark = {
  name: 'start-rate',
  measures: 'privacy-request approvals through the API at concurrency 50: workflows started per second, POST latency',
  goal: '≥ 100 workflows/s, p99 < 250 ms',
  async run(opts) {
    const requests = opts.get('requests', 2000);
    const concurrency = opts.get('concurrency', 50);
    const warmup = opts.get('warmup', 200);
    // A long interval keeps polls out of the picture; ticket creation still runs, as it would in production.
    const stack = await startStack({ label: 'start-rate', pollIntervalMinutes: 60 });
    try {
      // At the measured concurrency, so that the first measured requests do not open the sockets and pool connections.
      say(`warm-up: ${warmup} approvals at concurrency ${concurrency} (not counted)`);
      await approveMany(stack, { count: warmup, concurrency, prefix: 'warm', quiet: true });
      const cpuOf = cpuBreakdown(stack);
      say(`measuring: ${n(requests)} approvals at concurrency ${concurrency}`);
      const t0 = performance.now();
      const run = await approveMany(stack, { count: requests, concurrency, prefix: 'rate' });
      const answered = performance.now();
      const allStarted = await waitForStarts(stack, 'rate-');
      const startedSeconds = (allStarted - t0) / 1000;
      const cpu = cpuOf();
      const lat = summarize(run.latenciesMs);
      const { rows } = await stack.db.query<{ n: string }>("select count(*) as n from jira_ticket_instance where privacy_request_id like 'rate-%'");
      const instances = Number(rows[0]!.n);
      say(`${n(run.ok)} approved in ${n(run.seconds, 1)} s, their workflows all started after ${n(startedSeconds, 1)} s; now waiting for their tickets (reported, not judged)`);
      const opened = await waitForOpen(stack, warmup + requests, { timeoutMs: 15 * 60_000 });
      return {
        figures: [
          { key: 'startedPerSecond', label: 'workflows started per second (first approval → last start)', value: run.ok / startedSeconds, unit: '/s', digits: 1, goal: '≥ 100/s', pass: run.ok / startedSeconds >= 100 && run.failed === 0 },
          { key: 'approvedPerSecond', label: 'approvals answered per second', value: run.perSecond, unit: '/s', digits: 1 },
          { key: 'startLagSeconds', label: 'last workflow started, after the last answer', value: (allStarted - answered) / 1000, unit: 's', digits: 1 },
          { key: 'p50Ms', label: 'POST latency p50', value: lat.p50, unit: 'ms', digits: 1 },
          { key: 'p90Ms', label: 'POST latency p90', value: lat.p90, unit: 'ms', digits: 1 },
          { key: 'p99Ms', label: 'POST latency p99', value: lat.p99, unit: 'ms', digits: 1, goal: '< 250 ms', pass: lat.p99 < 250 },
          { key: 'maxMs', label: 'POST latency max', value: lat.max, unit: 'ms', digits: 1 },
          { key: 'requests', label: 'approvals (201)', value: run.ok },
          { key: 'failed', label: 'approvals failed', value: run.failed },
          { key: 'seconds', label: 'measured phase', value: run.seconds, unit: 's', digits: 1 },
          { key: 'apiCpuPercent', label: 'API process CPU (100 = one core)', value: cpu.byPart.API!, unit: '%' },
          { key: 'cpu', label: 'CPU while measuring (% of one core)', value: describeCpu(cpu) },
          { key: 'openSeconds', label: 'all tickets open, after the last approval', value: opened.seconds, unit: 's', digits: 1 },
        ],
        notes: [
          ...interference(cpu, 'measuring'),
          `${warmup} warm-up approvals at concurrency ${concurrency} before the measured ${n(requests)} at concurrency ${concurrency}; a 201 means the request and its instance are committed (${n(instances)} instances in PostgreSQL); the workflows are started by the API right after, and the rate counts until the last was started`,
          'the worker creates tickets in the fake Jira meanwhile, on the same 2 cores, as it would in production',
          `slowest answers (sent at → took, ms): ${run.slowest.slice(0, 10).map((x) => `${n(x.sentAtMs)} → ${n(x.ms)}`).join(', ')}`,
          ...(run.failed ? [`failures: ${JSON.stringify(run.failures)}`] : []),
        ],
        missing: [],
        data: { cpu, latency: lat, failures: run.failures, concurrency, requests, warmup, opened, startedSeconds },
      };
    } finally {
      await stack.stop();
    }
  },
};
