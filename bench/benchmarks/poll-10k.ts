import type { LoggedRequest } from '../../tools/fake-jira/server.js';
import { endpointOf, every, keysRead, maxInWindow, n, openTickets, probeFakeJira, productReadsEnv, say, sleep, startStack, type FakeStats } from '../harness.js';
import type { Benchmark, Figure } from '../report.js';

interface Read {
  at: number;
  keys: string[];
}

/**
 * One full poll cycle over 10,000 tickets under a Jira budget of 10 requests/s: does the worker stay inside
 * the budget, and does it use it (a cycle of C calls should take about C / 10 s, not much more)?
 */
export const poll10k: Benchmark = {
  name: 'poll-10k',
  measures: 'one poll cycle over 10,000 open tickets with JIRA_RATE_LIMIT_PER_SECOND=10: duration vs calls/10, max req/s, 429s, every ticket read',
  goal: 'never over 10 req/s, no 429, cycle ≤ 1.2 × calls/10 s, all 10,000 read',
  async run(opts) {
    const tickets = opts.get('tickets', 10_000);
    const limit = opts.get('limit', 10);
    const intervalMinutes = opts.get('interval-minutes', 2);
    const quietMs = opts.get('quiet-ms', 3000);
    const maxMinutes = opts.get('max-minutes', Math.max(3 * intervalMinutes, 25));
    const force = opts.flag('force');
    const limitFromStart = opts.flag('limit-from-start');
    const missing: string[] = [];
    const notes: string[] = [];

    // Checked before the 10,000-ticket set-up: without these the figures would not mean what they say.
    const fakeHas = await probeFakeJira();
    if (!productReadsEnv('JIRA_RATE_LIMIT_PER_SECOND')) missing.push('JIRA_RATE_LIMIT_PER_SECOND in the product configuration (src/config/index.ts): the worker has no Jira rate limit');
    if (!fakeHas.rateLimit) missing.push('POST /_fake/rate-limit in the fake Jira (server-side budget check, 429 beyond it)');
    if (!fakeHas.stats) missing.push('GET /_fake/stats and POST /_fake/stats/reset in the fake Jira (maxPerSecond, rejected429)');
    if (!productReadsEnv('JIRA_COALESCE_READS')) {
      const longer = tickets / limit > intervalMinutes * 60 ? `, longer than the ${intervalMinutes}-minute interval` : '';
      notes.push(`the product does not coalesce reads: a cycle is one call per ticket, ${n(tickets)} calls, ${n(tickets / limit)} s at ${limit}/s${longer}`);
    }
    if (missing.length && !force) {
      notes.push('nothing was set up; `npm run bench -- poll-10k --force` measures anyway with what exists (request log instead of counters, no server-side budget)');
      return { figures: [], notes, missing };
    }
    if (missing.length) notes.push('--force: measured although interfaces are missing; the budget figures come from the request log only');

    const stack = await startStack({
      label: 'poll-10k',
      pollIntervalMinutes: intervalMinutes,
      workerEnv: limitFromStart ? { JIRA_RATE_LIMIT_PER_SECOND: String(limit) } : {},
    });
    try {
      await openTickets(stack, { count: tickets, concurrency: opts.get('concurrency', 64), prefix: 'p10k' });
      if (!limitFromStart) {
        // Creating 10,000 tickets under 10 req/s would take most of an hour; the budget matters for the polls.
        notes.push(`tickets opened by an unthrottled worker, then the worker was restarted with JIRA_RATE_LIMIT_PER_SECOND=${limit} (--limit-from-start keeps the limit throughout)`);
        await stack.restartWorker({ JIRA_RATE_LIMIT_PER_SECOND: String(limit) });
      }
      const budgetOn = fakeHas.rateLimit && (await stack.fake.setRateLimit(limit));
      const { rows } = await stack.db.query<{ ticket_key: string; ticket_id: string | null }>("select ticket_key, ticket_id from jira_ticket_instance where task_state = 'open'");
      const wanted = new Set(rows.map((r) => r.ticket_key));
      const keyOf = new Map(rows.flatMap((r) => (r.ticket_id ? [[r.ticket_id, r.ticket_key] as const] : [])));

      if (fakeHas.stats) await stack.fake.resetStats();
      const before = await stack.fake.newRequests();
      const observeStart = Date.now();
      // The read just before observing counts too: a cycle starts after a quiet gap, not merely after we looked.
      const lastReadBefore = before.filter((e) => keysRead(e).length).map((e) => Date.parse(e.at)).at(-1) ?? observeStart - quietMs;
      const entries: LoggedRequest[] = [];
      const reads: Read[] = [];
      let stats: FakeStats | null = null;
      let maxPerSecondSeen = 0;
      let cycleStart: number | undefined; // index into reads
      let cycleEnd: number | undefined;
      let noGap = false;
      const covered = new Set<string>();

      say(`observing Jira traffic until one full cycle has read all ${n(wanted.size)} tickets (at most ${maxMinutes} min)`);
      const statsTimer = fakeHas.stats
        ? setInterval(() => {
            void stack.fake.stats().then((s) => {
              if (!s) return;
              stats = s;
              maxPerSecondSeen = Math.max(maxPerSecondSeen, s.maxPerSecond);
            }, () => {});
          }, 250)
        : undefined;
      const stopProgress = every(5000, () => {
        stack.assertAlive();
        const recent = entries.filter((e) => Date.parse(e.at) > Date.now() - 5000).length / 5;
        const phase = cycleStart === undefined ? 'waiting for a cycle to start' : `cycle: ${n(covered.size)} of ${n(wanted.size)} tickets read`;
        return `${phase}; ${n(entries.length)} calls observed, ${n(recent, 1)} req/s now${stats ? `, max ${(stats as FakeStats).maxPerSecond}/s, ${(stats as FakeStats).rejected429} × 429` : ''}`;
      });
      try {
        let gapScanned = 0; // reads examined for a quiet gap before them
        let scanned = 0; // reads examined for coverage
        while (cycleEnd === undefined && Date.now() - observeStart <= maxMinutes * 60_000) {
          await sleep(1000);
          const fresh = await stack.fake.newRequests();
          entries.push(...fresh);
          for (const e of fresh) {
            const keys = keysRead(e).map((k) => keyOf.get(k) ?? k);
            if (keys.length) reads.push({ at: Date.parse(e.at), keys });
          }
          if (cycleStart === undefined) {
            for (; gapScanned < reads.length; gapScanned++) {
              const prev = gapScanned === 0 ? lastReadBefore : reads[gapScanned - 1]!.at;
              if (reads[gapScanned]!.at - prev >= quietMs) {
                cycleStart = gapScanned;
                break;
              }
            }
            // Timers spread over the interval never leave a gap: then the cycle is the first full coverage.
            if (cycleStart === undefined && reads.length && Date.now() - observeStart > intervalMinutes * 60_000 + 30_000) {
              cycleStart = 0;
              noGap = true;
            }
            if (cycleStart === undefined) continue;
            scanned = cycleStart;
          }
          for (; scanned < reads.length && cycleEnd === undefined; scanned++) {
            for (const k of reads[scanned]!.keys) if (wanted.has(k)) covered.add(k);
            if (covered.size === wanted.size) cycleEnd = scanned;
          }
        }
      } finally {
        stopProgress();
        if (statsTimer) clearInterval(statsTimer);
      }
      if (fakeHas.stats) {
        const s = await stack.fake.stats();
        if (s) {
          stats = s;
          maxPerSecondSeen = Math.max(maxPerSecondSeen, s.maxPerSecond);
        }
      }

      const first = cycleStart !== undefined ? reads[cycleStart] : undefined;
      const last = cycleEnd !== undefined ? reads[cycleEnd] : reads.at(-1);
      const from = first?.at ?? observeStart;
      const to = last?.at ?? Date.now();
      const inCycle = entries.filter((e) => {
        const at = Date.parse(e.at);
        return at >= from && at <= to;
      });
      const calls = inCycle.length;
      const durationS = (to - from) / 1000;
      const idealS = calls / limit;
      const stamps = inCycle.map((e) => Date.parse(e.at));
      const perCalendarSecond = new Map<number, number>();
      for (const t of stamps) perCalendarSecond.set(Math.floor(t / 1000), (perCalendarSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
      const maxCalendar = Math.max(0, ...perCalendarSecond.values());
      const maxSliding = maxInWindow(stamps);
      const rejected429 = stats ? (stats as FakeStats).rejected429 : entries.filter((e) => e.status === 429).length;
      const maxPerSecond = fakeHas.stats ? maxPerSecondSeen : maxCalendar;
      const byEndpoint: Record<string, number> = {};
      for (const e of inCycle) byEndpoint[endpointOf(e)] = (byEndpoint[endpointOf(e)] ?? 0) + 1;
      if (noGap) notes.push(`no quiet gap of ${quietMs} ms within the first interval: polls are spread over time rather than run as a cycle; the cycle measured is the first complete coverage of all tickets`);
      if (cycleEnd === undefined) notes.push(`no complete cycle within ${maxMinutes} min: ${n(covered.size)} of ${n(wanted.size)} tickets read`);
      notes.push(budgetOn ? `the fake Jira enforced ${limit} req/s itself (429 beyond it)` : 'no server-side budget in the fake Jira: max req/s from the request log timestamps (calendar seconds)');

      const figures: Figure[] = [
        { key: 'maxPerSecond', label: 'max Jira requests in one second', value: maxPerSecond, goal: `≤ ${limit}`, pass: maxPerSecond <= limit },
        { key: 'rejected429', label: '429 answers', value: rejected429, goal: '0', pass: rejected429 === 0 },
        { key: 'cycleSeconds', label: 'cycle duration (first → last read)', value: durationS, unit: 's', digits: 1 },
        { key: 'idealSeconds', label: `ideal (calls / ${limit} req/s)`, value: idealS, unit: 's', digits: 1 },
        { key: 'ratioToIdeal', label: 'duration / ideal', value: durationS / idealS, digits: 2, goal: '≤ 1.2', pass: durationS / idealS <= 1.2 },
        { key: 'perTicketIdealSeconds', label: `ideal one call per ticket (${n(wanted.size)} / ${limit} req/s)`, value: wanted.size / limit, unit: 's', digits: 1 },
        { key: 'ratioToPerTicketIdeal', label: 'duration / ideal one call per ticket', value: durationS / (wanted.size / limit), digits: 2 },
        { key: 'ticketsRead', label: 'tickets read in the cycle', value: covered.size, goal: `all ${n(wanted.size)}`, pass: covered.size === wanted.size },
        { key: 'calls', label: 'Jira calls in the cycle', value: calls },
        { key: 'maxSlidingSecond', label: 'max requests in any 1,000 ms window (log)', value: maxSliding },
        { key: 'byEndpoint', label: 'by endpoint', value: Object.entries(byEndpoint).map(([e, c]) => `${e}: ${n(c)}`).join(', ') || 'none' },
      ];
      return { figures, notes, missing, data: { limit, intervalMinutes, budgetOn, stats, wanted: wanted.size, covered: covered.size, noGap } };
    } finally {
      await stack.stop();
    }
  },
};
