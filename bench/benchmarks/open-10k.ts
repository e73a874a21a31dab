import { describeCpu, interference, monitorProcess, cpuBreakdown } from '../harness/proc-metrics.js';
import { n } from '../harness/output.js';
import { openTickets, seedTrackedTickets } from '../harness/seed.js';
import { startStack } from '../harness/stack.js';
import type { Benchmark } from '../harness/report.js';
import { sampleAtRest } from './at-rest.js';

/**
 * The worker's footprint with many long-lived ticket workflows between events: no timer, no task, waiting for
 * news from the tracker or a webhook, which is the normal state of a ticket. Opened through the API (each
 * approval creates its issue in the fake Jira), as in the earlier sessions, unless --bulk.
 */
export const open10k: Benchmark = {
  name: 'open-10k',
  measures: '10,000 open ticket workflows between events: worker RSS and CPU, and the time to open them',
  goal: 'worker RSS < 1.5 GB',
  async run(opts) {
    const tickets = opts.get('tickets', 10_000);
    const concurrency = opts.get('concurrency', 64);
    const sampleSeconds = opts.get('sample-seconds', 60);
    const bulk = opts.flag('bulk');
    const stack = await startStack({ label: 'open-10k' });
    try {
      // Sampled throughout, so the peak of the set-up is known as well as the resting figure.
      const setupMon = monitorProcess(stack.worker.pid);
      const setupCpuOf = cpuBreakdown(stack.cpuParts());
      let open: number;
      let openSeconds: number;
      const setupFigures = [];
      if (bulk) {
        const seeded = await seedTrackedTickets(stack, { count: tickets, prefix: 'open' });
        open = seeded.tickets.length;
        openSeconds = seeded.seconds.total;
      } else {
        const { approvals, opened } = await openTickets(stack, { count: tickets, concurrency, prefix: 'open' });
        open = opened.open;
        openSeconds = opened.seconds;
        setupFigures.push(
          { key: 'creationFailed', label: 'creations failed', value: opened.failed },
          { key: 'approvalSeconds', label: 'approvals took', value: approvals.seconds, unit: 's', digits: 1 },
          { key: 'approvalsPerSecond', label: 'approvals per second', value: approvals.perSecond, unit: '/s', digits: 1 },
        );
      }
      setupMon.stop();
      const setup = setupMon.stats();
      const setupCpu = setupCpuOf();
      const rest = await sampleAtRest(stack, sampleSeconds, open);
      return {
        figures: [
          { key: 'workerRssMaxMb', label: 'worker RSS at rest (max of samples)', value: rest.worker.rssMaxMb, unit: 'MB', goal: '< 1,536 MB', pass: rest.worker.rssMaxMb < 1536 },
          { key: 'workerRssAvgMb', label: 'worker RSS at rest (avg)', value: rest.worker.rssAvgMb, unit: 'MB' },
          { key: 'workerRssLastMb', label: 'worker RSS at rest (last sample)', value: rest.worker.rssLastMb, unit: 'MB' },
          { key: 'workerCpuAvgPercent', label: 'worker CPU at rest (avg, 100 = one core)', value: rest.worker.cpuAvgPercent, unit: '%', digits: 1 },
          { key: 'workerRssPeakSetupMb', label: 'worker RSS peak while opening', value: setup.rssMaxMb, unit: 'MB' },
          { key: 'openTickets', label: 'tickets open', value: open },
          ...setupFigures,
          { key: 'openSeconds', label: `all open after (${bulk ? 'bulk seeding' : 'from the first approval'})`, value: openSeconds, unit: 's', digits: 1 },
          { key: 'openPerSecond', label: 'tickets opened per second', value: open / openSeconds, unit: '/s', digits: 1 },
          { key: 'apiRssMb', label: 'API RSS (end)', value: rest.apiRssMb, unit: 'MB' },
          { key: 'temporalRssMb', label: 'Temporal dev server RSS (end)', value: rest.temporalRssMb, unit: 'MB' },
          { key: 'postgresRssMb', label: 'PostgreSQL postmaster RSS (end)', value: rest.postgresRssMb, unit: 'MB' },
          { key: 'fakeJiraRssMb', label: 'fake Jira RSS (end)', value: rest.fakeJiraRssMb, unit: 'MB' },
          { key: 'setupCpu', label: 'CPU while opening (% of one core)', value: describeCpu(setupCpu) },
          { key: 'idleCpu', label: 'CPU at rest (% of one core)', value: describeCpu(rest.cpu) },
        ],
        notes: [
          ...interference(setupCpu, 'opening the tickets'),
          ...interference(rest.cpu, 'sampling at rest'),
          bulk
            ? 'opened by bulk seeding (issues seeded in the fake, read-model rows written, workflows started with their state)'
            : `opened through the API at concurrency ${concurrency}: each approval commits its instance, the API starts its workflow, the worker creates the issue in the fake Jira (unthrottled: JIRA_RATE_LIMIT_PER_SECOND=1000)`,
          `ticket workflows hold no timer: during the ${sampleSeconds} s sample nothing happens to them; the tracker's interval is a day here, so no cycle falls into it (a quiet cycle costs one search)`,
          `RSS from /proc/<pid>/status (VmRSS), CPU from /proc/<pid>/stat, 1 s samples; worker RSS every 10 s at rest: ${rest.workerRssSeriesMb.map((x) => n(x)).join(', ')} MB`,
        ],
        missing: [],
        data: { rest: { ...rest, cpu: rest.cpu.byPart }, setup, setupCpu: setupCpu.byPart, tickets, concurrency, bulk },
      };
    } finally {
      await stack.stop();
    }
  },
};
