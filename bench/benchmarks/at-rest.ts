import { every, n, say, sleep } from '../harness/output.js';
import { cpuBreakdown, monitorProcess, rssMbOf, type CpuBreakdown, type MonitorStats } from '../harness/proc-metrics.js';
import type { Stack } from '../harness/stack.js';

/** What open-10k and open-100k share: the stack sampled while every ticket workflow waits for news. */

export interface AtRest {
  worker: MonitorStats;
  /** the worker's RSS every 10 s (whether it was still falling when the window closed) */
  workerRssSeriesMb: number[];
  cpu: CpuBreakdown;
  apiRssMb: number;
  temporalRssMb: number;
  postgresRssMb: number;
  fakeJiraRssMb: number;
}

export async function sampleAtRest(stack: Stack, seconds: number, workflows: number): Promise<AtRest> {
  say(`sampling the worker's RSS and CPU for ${seconds} s while ${n(workflows)} workflows wait for news`);
  const mon = monitorProcess(stack.worker.pid);
  const cpuOf = cpuBreakdown(stack.cpuParts());
  const t0 = Date.now();
  const stopProgress = every(10_000, () => {
    const s = mon.samples.at(-1);
    return s && `sampling: ${Math.round((Date.now() - t0) / 1000)} of ${seconds} s, worker RSS ${n(s.rssMb)} MB, CPU ${n(s.cpuPercent, 1)}%`;
  });
  await sleep(seconds * 1000);
  stopProgress();
  mon.stop();
  const cpu = cpuOf();
  stack.assertAlive();
  return {
    worker: mon.stats(),
    workerRssSeriesMb: mon.samples.filter((_, i) => i % 10 === 0).map((x) => Math.round(x.rssMb)),
    cpu,
    apiRssMb: rssMbOf(stack.apiProcess.pid),
    temporalRssMb: rssMbOf(stack.temporalPid),
    postgresRssMb: rssMbOf(stack.cpuParts().PostgreSQL),
    fakeJiraRssMb: rssMbOf(stack.fakePid),
  };
}
