import { childPidsNamed, cpuBreakdown, describeCpu, interference, every, monitorProcess, n, openTickets, rssMbOf, say, sleep, startStack } from '../harness.js';
import type { Benchmark } from '../report.js';

/**
 * The worker's footprint with many long-lived ticket workflows: they all sleep on their poll timer, which is
 * the normal state of a ticket, so this is what a busy deployment holds most of the time.
 */
export const open10k: Benchmark = {
  name: 'open-10k',
  measures: '10,000 open ticket workflows sleeping between polls: worker RSS and CPU, and the time to open them',
  goal: 'worker RSS < 1.5 GB',
  async run(opts) {
    const tickets = opts.get('tickets', 10_000);
    const concurrency = opts.get('concurrency', 64);
    const sampleSeconds = opts.get('sample-seconds', 60);
    const stack = await startStack({ label: 'open-10k', pollIntervalMinutes: 60 });
    try {
      // Sampled throughout, so the peak of the set-up is known as well as the resting figure.
      const setupMon = monitorProcess(stack.worker.pid);
      const setupCpuOf = cpuBreakdown(stack);
      const { approvals, opened } = await openTickets(stack, { count: tickets, concurrency, prefix: 'open' });
      setupMon.stop();
      const setup = setupMon.stats();
      const setupCpu = setupCpuOf();

      say(`sampling the worker's RSS and CPU for ${sampleSeconds} s while ${n(opened.open)} workflows sleep`);
      const idleMon = monitorProcess(stack.worker.pid);
      const idleCpuOf = cpuBreakdown(stack);
      const t0 = Date.now();
      const stopProgress = every(10_000, () => {
        const s = idleMon.samples.at(-1);
        return s && `sampling: ${Math.round((Date.now() - t0) / 1000)} of ${sampleSeconds} s, worker RSS ${n(s.rssMb)} MB, CPU ${n(s.cpuPercent)}%`;
      });
      await sleep(sampleSeconds * 1000);
      stopProgress();
      idleMon.stop();
      const idleCpu = idleCpuOf();
      stack.assertAlive();
      const idle = idleMon.stats();
      const temporalRss = rssMbOf(stack.temporalPid ?? childPidsNamed('temporal')[0]);
      return {
        figures: [
          { key: 'workerRssMaxMb', label: 'worker RSS at rest (max of samples)', value: idle.rssMaxMb, unit: 'MB', goal: '< 1,536 MB', pass: idle.rssMaxMb < 1536 },
          { key: 'workerRssAvgMb', label: 'worker RSS at rest (avg)', value: idle.rssAvgMb, unit: 'MB' },
          { key: 'workerRssLastMb', label: 'worker RSS at rest (last sample)', value: idle.rssLastMb, unit: 'MB' },
          { key: 'workerCpuAvgPercent', label: 'worker CPU at rest (avg, 100 = one core)', value: idle.cpuAvgPercent, unit: '%', digits: 1 },
          { key: 'workerRssPeakSetupMb', label: 'worker RSS peak while opening', value: setup.rssMaxMb, unit: 'MB' },
          { key: 'setupCpu', label: 'CPU while opening (% of one core)', value: describeCpu(setupCpu) },
          { key: 'idleCpu', label: 'CPU at rest (% of one core)', value: describeCpu(idleCpu) },
          { key: 'openTickets', label: 'tickets open', value: opened.open },
          { key: 'creationFailed', label: 'creations failed', value: opened.failed },
          { key: 'approvalSeconds', label: 'approvals took', value: approvals.seconds, unit: 's', digits: 1 },
          { key: 'approvalsPerSecond', label: 'approvals per second', value: approvals.perSecond, unit: '/s', digits: 1 },
          { key: 'openSeconds', label: 'all open after (from the first approval)', value: opened.seconds, unit: 's', digits: 1 },
          { key: 'openPerSecond', label: 'tickets opened per second', value: opened.open / opened.seconds, unit: '/s', digits: 1 },
          { key: 'apiRssMb', label: 'API RSS (end)', value: rssMbOf(stack.apiProcess.pid), unit: 'MB' },
          { key: 'temporalRssMb', label: 'Temporal dev server RSS (end)', value: temporalRss, unit: 'MB' },
          { key: 'fakeJiraRssMb', label: 'fake Jira RSS (end)', value: rssMbOf(stack.fakePid), unit: 'MB' },
        ],
        notes: [
          ...interference(setupCpu, 'opening the tickets'),
          ...interference(idleCpu, 'sampling at rest'),
          `poll interval 60 minutes, so every workflow sleeps on its timer during the ${sampleSeconds} s sample`,
          `approvals through the API at concurrency ${concurrency}; RSS from /proc/<pid>/status (VmRSS), CPU from /proc/<pid>/stat, 1 s samples`,
          `worker RSS every 10 s at rest: ${idleMon.samples.filter((_, i) => i % 10 === 0).map((x) => n(x.rssMb)).join(', ')} MB`,
          ...(approvals.failed ? [`${approvals.failed} approvals failed: ${JSON.stringify(approvals.failures)}`] : []),
        ],
        missing: [],
        data: {
          // every 10th sample: whether RSS was still falling when the window closed
          idleRssSeriesMb: idleMon.samples.filter((_, i) => i % 10 === 0).map((x) => Math.round(x.rssMb)),
          setup,
          idle,
          setupCpu,
          idleCpu, tickets, concurrency },
      };
    } finally {
      await stack.stop();
    }
  },
};
