import { endpointOf, every, keysRead, n, openTickets, productReadsEnv, say, sleep, startStack } from '../harness.js';
import type { Benchmark, Figure } from '../report.js';

interface Variant {
  name: 'coalesced' | 'per-ticket';
  workerEnv: Record<string, string>;
}

interface Counted {
  tickets: number;
  calls: number;
  perTicketPerCycle: number;
  byEndpoint: Record<string, number>;
  /** distinct tickets read in the window */
  keysRead: number;
  /** reads of some ticket in the window (a bulk fetch of 100 is 100): the polls that actually happened */
  ticketReads: number;
  /** calls / ticketReads: the cost of one ticket's poll, whatever the window's edges cut off */
  perTicketRead: number;
  source: 'GET /_fake/stats' | 'request log';
}

/**
 * What steady-state tracking costs in Jira calls. Over a window of exactly k poll intervals every tracked
 * ticket is due k times, wherever its own timer sits, so calls / (tickets × k) is the cost of one cycle.
 */
export const pollCost: Benchmark = {
  name: 'poll-cost',
  measures: 'Jira calls per tracked ticket per poll cycle with 1,000 open tickets and 1-minute polls, coalesced (default) vs one call per ticket (JIRA_COALESCE_READS=false)',
  goal: '≤ 0.011 calls per ticket per cycle coalesced (vs 1.0)',
  async run(opts) {
    const tickets = opts.get('tickets', 1000);
    const cycles = opts.get('cycles', 2);
    const intervalMinutes = opts.get('interval-minutes', 1);
    const missing: string[] = [];
    const notes: string[] = [];
    const coalescing = productReadsEnv('JIRA_COALESCE_READS');
    const variants: Variant[] = coalescing
      ? [{ name: 'coalesced', workerEnv: {} }, { name: 'per-ticket', workerEnv: { JIRA_COALESCE_READS: 'false' } }]
      : [{ name: 'per-ticket', workerEnv: {} }];
    if (!coalescing) {
      missing.push('JIRA_COALESCE_READS in the product configuration (src/config/index.ts): the worker reads every ticket with its own call, so only the one-call-per-ticket figure was measured (the default run)');
    }

    const measured: Partial<Record<Variant['name'], Counted>> = {};
    for (const v of variants) {
      say(`--- ${v.name} reads${Object.keys(v.workerEnv).length ? ` (${Object.entries(v.workerEnv).map(([k, x]) => `${k}=${x}`).join(' ')})` : ' (default configuration)'} ---`);
      measured[v.name] = await countOneVariant(v, { tickets, cycles, intervalMinutes, concurrency: opts.get('concurrency', 50) });
      if (measured[v.name]!.source === 'request log') {
        notes.push(`${v.name}: the fake Jira has no GET /_fake/stats yet; calls counted from its request log (GET /_fake/requests) instead, which sees the same requests`);
      }
    }

    const c = measured.coalesced;
    const p = measured['per-ticket'];
    const figures: Figure[] = [
      {
        key: 'coalescedPerTicketPerCycle',
        label: 'calls per ticket per cycle, coalesced',
        value: c ? c.perTicketPerCycle : null,
        digits: 4,
        goal: '≤ 0.011',
        pass: c ? c.perTicketPerCycle <= 0.011 : false,
      },
      { key: 'perTicketPerTicketPerCycle', label: 'calls per ticket per cycle, one call per ticket', value: p ? p.perTicketPerCycle : null, digits: 4 },
      { key: 'coalescedPerTicketRead', label: 'calls per ticket read (request log), coalesced', value: c ? c.perTicketRead : null, digits: 4 },
      { key: 'perTicketPerTicketRead', label: 'calls per ticket read (request log), one call per ticket', value: p ? p.perTicketRead : null, digits: 4 },
      { key: 'readsPerTicket', label: `ticket reads per ticket in the window (${cycles} expected)`, value: (c ?? p) ? (c ?? p)!.ticketReads / (c ?? p)!.tickets : null, digits: 2 },
      { key: 'coalescedCalls', label: `calls in ${cycles} cycles, coalesced`, value: c?.calls ?? null },
      { key: 'perTicketCalls', label: `calls in ${cycles} cycles, one call per ticket`, value: p?.calls ?? null },
      { key: 'coalescedByEndpoint', label: 'by endpoint, coalesced', value: c ? breakdown(c.byEndpoint) : null },
      { key: 'perTicketByEndpoint', label: 'by endpoint, one call per ticket', value: p ? breakdown(p.byEndpoint) : null },
      { key: 'tickets', label: 'tickets tracked', value: (c ?? p)?.tickets ?? null },
    ];
    notes.push(`window: exactly ${cycles} × ${intervalMinutes} min after every ticket was open, counters reset first so ticket creation is not counted`);
    notes.push('each timer restarts after its poll is recorded, so a ticket\'s period is a little over the interval and a window of k intervals can miss a poll at its edge; "calls per ticket read" divides by the polls that did happen');
    return { figures, notes, missing, data: { measured, cycles, intervalMinutes } };
  },
};

const breakdown = (byEndpoint: Record<string, number>) =>
  Object.entries(byEndpoint)
    .sort((a, b) => b[1] - a[1])
    .map(([e, c]) => `${e}: ${n(c)}`)
    .join(', ') || 'none';

async function countOneVariant(v: Variant, o: { tickets: number; cycles: number; intervalMinutes: number; concurrency: number }): Promise<Counted> {
  const stack = await startStack({ label: `poll-cost-${v.name}`, pollIntervalMinutes: o.intervalMinutes, workerEnv: v.workerEnv });
  try {
    const hasStats = (await stack.fake.stats()) !== null;
    const { opened } = await openTickets(stack, { count: o.tickets, concurrency: o.concurrency, prefix: `cost-${v.name}` });

    // Everything before this point (creation, first polls) is excluded: reset the counters, drain the log.
    if (hasStats) await stack.fake.resetStats();
    await stack.fake.newRequests();
    const windowMs = o.cycles * o.intervalMinutes * 60_000;
    const t0 = Date.now();
    say(`counting Jira calls for exactly ${o.cycles} poll cycles (${n(windowMs / 1000)} s)`);
    const entries: Awaited<ReturnType<typeof stack.fake.newRequests>> = [];
    const stopProgress = every(10_000, async () => {
      stack.assertAlive();
      entries.push(...(await stack.fake.newRequests()));
      return `counting: ${Math.round((Date.now() - t0) / 1000)} of ${windowMs / 1000} s, ${n(entries.length)} Jira calls so far`;
    });
    await sleep(windowMs - (Date.now() - t0));
    const stats = hasStats ? await stack.fake.stats() : null;
    stopProgress();
    entries.push(...(await stack.fake.newRequests()));
    const inWindow = entries.filter((e) => Date.parse(e.at) < t0 + windowMs);

    const byEndpoint: Record<string, number> = {};
    const keys = new Set<string>();
    let ticketReads = 0;
    for (const e of inWindow) {
      byEndpoint[endpointOf(e)] = (byEndpoint[endpointOf(e)] ?? 0) + 1;
      const read = keysRead(e);
      ticketReads += read.length;
      for (const k of read) keys.add(k);
    }
    const calls = stats ? stats.total : inWindow.length;
    const result: Counted = {
      tickets: opened.open,
      calls,
      perTicketPerCycle: calls / (opened.open * o.cycles),
      byEndpoint: stats ? stats.byEndpoint : byEndpoint,
      keysRead: keys.size,
      ticketReads,
      perTicketRead: inWindow.length / (ticketReads || NaN),
      source: stats ? 'GET /_fake/stats' : 'request log',
    };
    say(`${v.name}: ${n(calls)} calls for ${n(opened.open)} tickets over ${o.cycles} cycles = ${n(result.perTicketPerCycle, 4)} per ticket per cycle; ${n(ticketReads)} ticket reads (${n(ticketReads / opened.open, 2)} per ticket), ${n(result.perTicketRead, 4)} calls per ticket read`);
    return result;
  } finally {
    await stack.stop();
  }
}
