import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { n, say, sleep } from './output.js';

/**
 * What the stack's processes cost, read from /proc: RSS (VmRSS) and CPU (utime + stime, with reaped children),
 * per process and for the whole machine, so that "other processes" (another engineer's test run, a build) show.
 */

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

export interface ProcessSample {
  at: number;
  rssMb: number;
  /** share of one core since the previous sample (200 = both cores of a 2-core machine) */
  cpuPercent: number;
}

function readCpuTicks(pid: number): number {
  // comm (field 2) may contain spaces and parentheses: the fields we want follow the last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the full line)
}

function readRssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export function rssMbOf(pid: number | undefined): number {
  try {
    return pid ? readRssMb(pid) : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds a process has used so far (its own, not its children's). */
export function cpuSecondsOf(pid: number): number {
  return readCpuTicks(pid) / CLK_TCK;
}

/** The machine's available memory (MemAvailable), in MB: what may still be given to a growing process. */
export function memAvailableMb(): number {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** RSS and CPU% of a process from /proc; each sample's CPU% covers the time since the previous one. */
export function sampleProcess(pid: number) {
  let lastTicks = readCpuTicks(pid);
  let lastAt = performance.now();
  return {
    sample(): ProcessSample {
      const ticks = readCpuTicks(pid);
      const at = performance.now();
      const cpuPercent = ((ticks - lastTicks) / CLK_TCK / ((at - lastAt) / 1000)) * 100;
      lastTicks = ticks;
      lastAt = at;
      return { at, rssMb: readRssMb(pid), cpuPercent };
    },
  };
}

export interface MonitorStats {
  samples: number;
  rssMaxMb: number;
  rssAvgMb: number;
  rssLastMb: number;
  cpuAvgPercent: number;
  cpuMaxPercent: number;
}

/** Samples a process every `ms` in the background; stats() covers the samples taken so far. */
export function monitorProcess(pid: number, ms = 1000) {
  const sampler = sampleProcess(pid);
  const samples: ProcessSample[] = [];
  const t = setInterval(() => {
    try {
      samples.push(sampler.sample());
    } catch {
      // the process is gone; the caller notices through its own checks
    }
  }, ms);
  return {
    samples,
    stop: () => clearInterval(t),
    stats(): MonitorStats {
      const rss = samples.map((s) => s.rssMb);
      const cpu = samples.map((s) => s.cpuPercent);
      return {
        samples: samples.length,
        rssMaxMb: Math.max(...rss),
        rssAvgMb: rss.reduce((a, b) => a + b, 0) / (rss.length || 1),
        rssLastMb: rss.at(-1) ?? NaN,
        cpuAvgPercent: cpu.reduce((a, b) => a + b, 0) / (cpu.length || 1),
        cpuMaxPercent: Math.max(...cpu),
      };
    },
  };
}

interface ProcEntry {
  ppid: number;
  comm: string;
  /** own CPU plus that of its reaped children, in clock ticks */
  ticks: number;
  /** own CPU only: a parent that reaps a long-lived child would otherwise look busy at that moment */
  ownTicks: number;
}

function readProcTable(): Map<number, ProcEntry> {
  const table = new Map<number, ProcEntry>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), {
        ppid: Number(f[1]),
        comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
        ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
        ownTicks: Number(f[11]) + Number(f[12]),
      });
    } catch {
      // exited while we looked
    }
  }
  return table;
}

/** A process and its descendants. */
function treeOf(table: Map<number, ProcEntry>, root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, e] of table) children.set(e.ppid, [...(children.get(e.ppid) ?? []), pid]);
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    if (!table.has(pid)) continue;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

const treeTicks = (table: Map<number, ProcEntry>, root: number) => treeOf(table, root).reduce((a, pid) => a + table.get(pid)!.ticks, 0);

/** The full command line of a process, shortened, to name what else ran. */
function commandOf(pid: number, comm: string): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return (cmd || comm).slice(0, 100);
  } catch {
    return comm;
  }
}

function systemBusyTicks(): number {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = v.map(Number);
  return user + nice + system + irq + softirq + steal;
}

export interface CpuBreakdown {
  /** % of one core, per part */
  byPart: Record<string, number>;
  machine: number;
  /** what ran outside the parts: on a shared machine it explains a lot */
  other: number;
  /** the busiest processes outside the parts (those still running at the end), % of one core */
  otherTop: Array<{ pid: number; command: string; percent: number }>;
  seconds: number;
}

/**
 * CPU of each part (a process with its descendants, e.g. PostgreSQL with its backends) and of the whole machine
 * over a phase, in % of one core. This process itself counts alone (its children are parts of their own).
 * Call the result at the end of the phase.
 */
export function cpuBreakdown(parts: Record<string, number | undefined>): () => CpuBreakdown {
  const take = () => {
    const table = readProcTable();
    const { user, system } = process.cpuUsage();
    const own = ((user + system) / 1e6) * CLK_TCK;
    return {
      at: performance.now(),
      system: systemBusyTicks(),
      table,
      parts: Object.fromEntries(Object.entries(parts).map(([name, pid]) => [name, pid === process.pid ? own : pid ? treeTicks(table, pid) : 0])),
    };
  };
  const start = take();
  return () => {
    const end = take();
    const seconds = (end.at - start.at) / 1000;
    const pct = (ticks: number) => (ticks / CLK_TCK / seconds) * 100;
    // A part killed during the phase reads 0 at its end: its CPU until then is lost (it shows as "other").
    const byPart = Object.fromEntries(Object.keys(parts).map((k) => [k, pct(Math.max(0, end.parts[k]! - start.parts[k]!))]));
    const machine = pct(end.system - start.system);
    const ours = Object.values(byPart).reduce((a, b) => a + b, 0);
    const mine = new Set([process.pid, ...Object.values(parts).flatMap((pid) => (pid && pid !== process.pid ? treeOf(end.table, pid) : []))]);
    const otherTop = [...end.table]
      .filter(([pid]) => !mine.has(pid))
      .map(([pid, e]) => ({ pid, comm: e.comm, ticks: e.ownTicks - (start.table.get(pid)?.ownTicks ?? 0) }))
      .filter((x) => x.ticks > 0)
      .sort((a, b) => b.ticks - a.ticks)
      .slice(0, 3)
      .map((x) => ({ pid: x.pid, command: commandOf(x.pid, x.comm), percent: pct(x.ticks) }));
    return { byPart, machine, other: Math.max(0, machine - ours), otherTop, seconds };
  };
}

/** CPU-seconds a part used over the phase. */
export const cpuSecondsIn = (c: CpuBreakdown, part: string) => ((c.byPart[part] ?? 0) / 100) * c.seconds;

export function describeCpu(c: CpuBreakdown): string {
  return [...Object.entries(c.byPart), ['other processes', c.other] as const].map(([k, v]) => `${k} ${n(v)}`).join(', ') + ` (machine ${n(c.machine)} of ${cpus().length * 100})`;
}

/** Share of one core that other processes may use while a figure is measured before it counts as disturbed. */
export const DISTURBED_PERCENT = 25;

/** A warning for the notes when something outside the stack took a real share of the CPU while measuring. */
export function interference(c: CpuBreakdown, phase: string): string[] {
  if (c.other <= DISTURBED_PERCENT) return [];
  const who = c.otherTop.length ? ` (busiest: ${c.otherTop.map((p) => `${p.command} [${p.pid}] ${n(p.percent)}%`).join('; ')})` : ' (none of them still running at the end)';
  return [`DISTURBED: other processes used ${n(c.other)}% of one core while ${phase}${who}; throughput, latency and CPU figures understate the product (run again on a quiet machine)`];
}

/**
 * Waits (up to `maxMinutes`, with progress) until the machine is nearly idle before a benchmark starts its
 * stack: on 2 cores, another test run or build halves every figure. Returns the busy share last seen.
 */
export async function waitForQuietMachine(maxMinutes: number, maxBusyPercent = 40): Promise<{ busyPercent: number; waitedSeconds: number }> {
  const t0 = Date.now();
  for (;;) {
    const before = systemBusyTicks();
    await sleep(5000);
    const busyPercent = ((systemBusyTicks() - before) / CLK_TCK / 5) * 100;
    const waitedSeconds = (Date.now() - t0) / 1000;
    if (busyPercent <= maxBusyPercent) return { busyPercent, waitedSeconds };
    if (waitedSeconds >= maxMinutes * 60) {
      say(`the machine is still busy (${n(busyPercent)}% of one core used by other processes); measuring anyway, the figures will be lower than the product can do`);
      return { busyPercent, waitedSeconds };
    }
    say(`waiting for a quiet machine: other processes use ${n(busyPercent)}% of one core (of ${cpus().length * 100}); ${n(waitedSeconds)} of ${maxMinutes * 60} s (--quiet-wait-minutes=0 skips)`);
  }
}

/** Direct children of this process with a given command name (the Temporal dev server is started by the SDK). */
export function childPidsNamed(comm: string): number[] {
  const pids: number[] = [];
  for (const [pid, e] of readProcTable()) if (e.ppid === process.pid && e.comm === comm) pids.push(pid);
  return pids;
}
