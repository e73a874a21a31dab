import { isInterrupted } from './teardown.js';
import { sleep } from './output.js';

/** Load generation (closed and open loops) and the statistics of what it measured. */

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(values: number[]): LatencySummary {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return { count: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s.at(-1) ?? NaN, mean };
}

export const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);

/** Closed loop: runs task(0..total-1) with at most `concurrency` in flight; each lane takes the next index when it is free. */
export async function runPool(total: number, concurrency: number, task: (i: number, lane: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (l: number) => {
    // After a Ctrl-C the stack is going away: stop issuing requests rather than count a flood of failures.
    while (next < total && !isInterrupted()) await task(next++, l);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, (_, l) => lane(l)));
}

export interface OpenLoopRun {
  /** how late the sends left against their schedule (the client's own lag): p99 and max in ms */
  sendLagP99Ms: number;
  sendLagMaxMs: number;
  /** most requests in flight at once: an open loop whose answers slow down piles them up */
  maxInFlight: number;
  seconds: number;
}

/**
 * Open loop: task i is started at t0 + i / perSecond whatever the answers do, as independent clients would send,
 * so a slow server shows as latency instead of slowing the offered rate. `task` gets its scheduled start (a
 * performance.now() value): latencies measured from it include any lag of the client's own timer.
 */
export async function openLoop(total: number, perSecond: number, task: (i: number, scheduledAt: number) => Promise<void>): Promise<OpenLoopRun> {
  const t0 = performance.now() + 20;
  const lags: number[] = [];
  const running = new Set<Promise<void>>();
  let maxInFlight = 0;
  for (let i = 0; i < total && !isInterrupted(); i++) {
    const at = t0 + (i * 1000) / perSecond;
    const wait = at - performance.now();
    if (wait > 1) await sleep(wait);
    lags.push(Math.max(0, performance.now() - at));
    const p: Promise<void> = task(i, at).finally(() => running.delete(p));
    running.add(p);
    maxInFlight = Math.max(maxInFlight, running.size);
  }
  await Promise.all(running);
  const lag = summarize(lags);
  return { sendLagP99Ms: lag.p99, sendLagMaxMs: lag.max, maxInFlight, seconds: (performance.now() - t0) / 1000 };
}
