import { describeCpu, interference, monitorProcess, cpuBreakdown, memAvailableMb, rssMbOf } from '../harness/proc-metrics.js';
import { every, n } from '../harness/output.js';
import { seedTrackedTickets } from '../harness/seed.js';
import { startStack } from '../harness/stack.js';
import type { Benchmark } from '../harness/report.js';
import { sampleAtRest } from './at-rest.js';

/**
 * 100,000 open ticket workflows on one worker between events (a one-off: about 10 GB for the dev server).
 * Seeded in bulk (100,000 creations through Jira would take hours); where the machine cannot hold them, it stops
 * while memory is still available and measures the largest number it opened.
 */
export const open100k: Benchmark = {
  name: 'open-100k',
  oneOff: true,
  measures: '100,000 open ticket workflows on one worker between events: worker RSS and CPU at rest, Temporal dev server memory, time to open',
  goal: 'worker RSS < 1.5 GB, worker CPU at rest < 2 %',
  async run(opts) {
    const tickets = opts.get('tickets', 100_000);
    const sampleSeconds = opts.get('sample-seconds', 60);
    const reserveMb = opts.get('reserve-mb', 3000);
    const stopAfterMinutes = opts.get('stop-after-minutes', 0);
    const stack = await startStack({ label: 'open-100k' });
    try {
      const setupMon = monitorProcess(stack.worker.pid);
      const temporalMon = monitorProcess(stack.temporalPid!, 5000);
      const setupCpuOf = cpuBreakdown(stack.cpuParts());
      const memAtStart = memAvailableMb();
      const stopMem = every(60_000, () => `memory: Temporal ${n(rssMbOf(stack.temporalPid))} MB, machine available ${n(memAvailableMb())} MB`);
      const seeded = await seedTrackedTickets(stack, { count: tickets, prefix: 'o100k', concurrency: 32, stopBelowMemMb: reserveMb, stopAfterMinutes, stallMinutes: 10 }).finally(stopMem);
      setupMon.stop();
      temporalMon.stop();
      const setup = setupMon.stats();
      const setupCpu = setupCpuOf();
      const open = seeded.tickets.length;
      const rest = await sampleAtRest(stack, sampleSeconds, open);
      return {
        figures: [
          { key: 'openTickets', label: 'ticket workflows open', value: open, goal: `${n(tickets)}`, pass: open === tickets },
          { key: 'workerRssMaxMb', label: 'worker RSS at rest (max of samples)', value: rest.worker.rssMaxMb, unit: 'MB', goal: '< 1,536 MB', pass: rest.worker.rssMaxMb < 1536 },
          { key: 'workerCpuAvgPercent', label: 'worker CPU at rest (avg, 100 = one core)', value: rest.worker.cpuAvgPercent, unit: '%', digits: 2, goal: '< 2 %', pass: rest.worker.cpuAvgPercent < 2 },
          { key: 'workerRssLastMb', label: 'worker RSS at rest (last sample)', value: rest.worker.rssLastMb, unit: 'MB' },
          { key: 'workerRssPeakSetupMb', label: 'worker RSS peak while opening', value: setup.rssMaxMb, unit: 'MB' },
          { key: 'temporalRssMb', label: 'Temporal dev server RSS at rest', value: rest.temporalRssMb, unit: 'MB' },
          { key: 'temporalRssPeakMb', label: 'Temporal dev server RSS peak while opening', value: temporalMon.stats().rssMaxMb, unit: 'MB' },
          { key: 'temporalMbPer1000', label: 'Temporal dev server RSS per 1,000 workflows', value: (rest.temporalRssMb / open) * 1000, unit: 'MB', digits: 1 },
          { key: 'openSeconds', label: 'time to open (seed → all at rest)', value: seeded.seconds.total, unit: 's', digits: 0 },
          { key: 'startsPerSecond', label: 'workflow starts per second', value: seeded.startsPerSecond, unit: '/s', digits: 1 },
          { key: 'openPerSecond', label: 'workflows at rest per second (rows written → all at rest)', value: seeded.openPerSecond, unit: '/s', digits: 1 },
          { key: 'apiRssMb', label: 'API RSS (end)', value: rest.apiRssMb, unit: 'MB' },
          { key: 'postgresRssMb', label: 'PostgreSQL postmaster RSS (end)', value: rest.postgresRssMb, unit: 'MB' },
          { key: 'fakeJiraRssMb', label: 'fake Jira RSS (end)', value: rest.fakeJiraRssMb, unit: 'MB' },
          { key: 'memAvailableMb', label: 'machine memory available (start → end)', value: `${n(memAtStart)} → ${n(memAvailableMb())} MB` },
          { key: 'setupCpu', label: 'CPU while opening (% of one core)', value: describeCpu(setupCpu) },
          { key: 'idleCpu', label: 'CPU at rest (% of one core)', value: describeCpu(rest.cpu) },
        ],
        notes: [
          ...interference(setupCpu, 'opening the workflows'),
          ...interference(rest.cpu, 'sampling at rest'),
          ...(seeded.stoppedAt ? [`stopped at ${n(seeded.stoppedAt.open)} workflows: ${seeded.stoppedAt.reason}; the figures are for that many`] : []),
          `seeding steps (s): issues ${n(seeded.seconds.issues, 1)}, read back ${n(seeded.seconds.readBack, 1)}, rows ${n(seeded.seconds.rows, 1)}, starts ${n(seeded.seconds.starts)}, last at rest ${n(seeded.seconds.recorded)} after the last start`,
          'the Temporal dev server keeps everything in memory (SQLite in memory), as in the other benchmarks',
          `worker RSS every 10 s at rest: ${rest.workerRssSeriesMb.map((x) => n(x)).join(', ')} MB`,
        ],
        missing: [],
        data: { rest: { ...rest, cpu: rest.cpu.byPart }, setup, setupCpu: setupCpu.byPart, seeded: { ...seeded, tickets: undefined }, temporalSeriesMb: temporalMon.samples.map((s) => Math.round(s.rssMb)) },
      };
    } finally {
      await stack.stop();
    }
  },
};
