import { runPool } from '../harness/load.js';
import { every, n, say, sleep } from '../harness/output.js';
import { cpuBreakdown, describeCpu, interference } from '../harness/proc-metrics.js';
import { approvalTally } from '../harness/seed.js';
import { startStack } from '../harness/stack.js';
import type { Benchmark } from '../harness/report.js';

/**
 * Two API processes and two workers on one Temporal and one PostgreSQL: approvals spread over both APIs while
 * the workers create the tickets under one shared Jira budget, and one worker killed with SIGKILL halfway. Every
 * approval must end with exactly one ticket, and Jira must never see more calls in a second than the budget.
 */
export const replicas: Benchmark = {
  name: 'replicas',
  measures: '2 APIs and 2 workers on one Temporal and PostgreSQL: 2,000 approvals over both APIs, one worker killed (kill -9) mid-run',
  goal: '0 duplicate tickets, 0 lost, all finish; max Jira calls in a sliding second ≤ budget',
  async run(opts) {
    const requests = opts.get('requests', 2000);
    const concurrency = opts.get('concurrency', 32);
    const budget = opts.get('limit', 40);
    const killAt = opts.get('kill-at-open', Math.round(requests / 2));
    const stack = await startStack({ label: 'replicas', apis: 2, workers: 2, env: { JIRA_RATE_LIMIT_PER_SECOND: String(budget) } });
    try {
      await stack.fake.setRateLimit(budget);
      await stack.fake.resetStats();
      const cpuOf = cpuBreakdown(stack.cpuParts());
      const tally = approvalTally(stack, 'rep');
      const t0 = performance.now();
      let killedAt: number | undefined;
      const openCount = async () => Number((await stack.db.query<{ n: string }>("select count(*) as n from jira_ticket_instance where task_state = 'open'")).rows[0]!.n);
      // The kill comes from the progress check: once half the tickets are open, worker 1 dies without warning.
      const victim = stack.workers[0]!;
      const stopProgress = every(3000, async () => {
        const open = await openCount();
        if (killedAt === undefined && open >= killAt) {
          killedAt = (performance.now() - t0) / 1000;
          say(`${n(open)} open: kill -9 of ${victim.role} (pid ${victim.pid})`);
          await victim.kill();
        }
        for (const p of stack.apis) p.process.assertAlive();
        stack.workers[1]!.assertAlive();
        const s = await stack.fake.stats();
        return `approved ${n(tally.ok)} of ${n(requests)}, open ${n(open)}; Jira max ${s.maxPerSecond}/s, ${s.rejected429} × 429${killedAt !== undefined ? `; ${victim.role} killed at ${n(killedAt)} s` : ''}`;
      });
      let open = 0;
      let run;
      try {
        await runPool(requests, concurrency, (i) => tally.send(i, { apiIndex: i % 2 }));
        run = tally.result();
        const deadline = performance.now() + 20 * 60_000;
        while ((open = await openCount()) < tally.ok) {
          if (performance.now() > deadline) break;
          await sleep(1000);
        }
      } finally {
        stopProgress();
      }
      const finishedSeconds = (performance.now() - t0) / 1000;
      const cpu = cpuOf();
      const stats = await stack.fake.stats();

      // One ticket per instance: the fake's issues by their idempotency label.
      const issues = await stack.fake.issues();
      const byLabel = new Map<string, number>();
      for (const i of issues) for (const l of i.fields.labels ?? []) if (l.startsWith('ticketflow-')) byLabel.set(l, (byLabel.get(l) ?? 0) + 1);
      const { rows } = await stack.db.query<{ instance_id: string; task_state: string; ticket_key: string | null }>("select instance_id, task_state, ticket_key from jira_ticket_instance where privacy_request_id like 'rep-%'");
      const duplicates = rows.filter((r) => (byLabel.get(`ticketflow-${r.instance_id}`) ?? 0) > 1).length;
      const withoutTicket = rows.filter((r) => (byLabel.get(`ticketflow-${r.instance_id}`) ?? 0) === 0).length;
      const notOpen = rows.filter((r) => r.task_state !== 'open');
      const lost = run.ok - rows.length + withoutTicket;
      const states: Record<string, number> = {};
      for (const r of notOpen) states[r.task_state] = (states[r.task_state] ?? 0) + 1;
      return {
        figures: [
          { key: 'duplicates', label: 'instances with more than one ticket', value: duplicates, goal: '0', pass: duplicates === 0 },
          { key: 'lost', label: 'approvals (201) without an instance or ticket', value: lost, goal: '0', pass: lost === 0 },
          { key: 'notFinished', label: 'instances not open at the end', value: notOpen.length, goal: '0', pass: notOpen.length === 0 },
          { key: 'maxPerSecond', label: 'max Jira calls in a sliding second (the fake)', value: stats.maxPerSecond, goal: `≤ ${budget}`, pass: stats.maxPerSecond <= budget },
          { key: 'rejected429', label: '429 answers from the fake', value: stats.rejected429 },
          { key: 'calls', label: 'Jira calls', value: stats.total },
          { key: 'approved', label: 'approvals answered 201', value: run.ok },
          { key: 'failed', label: 'approvals failed (no 201)', value: run.failed, goal: '0', pass: run.failed === 0 },
          { key: 'approvedPerSecond', label: 'approvals per second (both APIs)', value: run.perSecond, unit: '/s', digits: 1 },
          { key: 'killedAtSeconds', label: `${victim.role} killed at`, value: killedAt ?? null, unit: 's', digits: 0 },
          { key: 'finishedSeconds', label: 'all open after (from the first approval)', value: finishedSeconds, unit: 's', digits: 0 },
          { key: 'issues', label: 'issues in the fake', value: issues.length },
          { key: 'cpu', label: 'CPU over the run (% of one core)', value: describeCpu(cpu) },
        ],
        notes: [
          ...interference(cpu, 'running the approvals'),
          `${n(requests)} approvals at concurrency ${concurrency}, alternating between the two APIs; each API's start queue claims instances with FOR UPDATE SKIP LOCKED; budget JIRA_RATE_LIMIT_PER_SECOND=${budget} in every process (one budget in PostgreSQL), the fake enforcing ${budget}/s as well`,
          `${victim.role} killed with SIGKILL once ${n(killAt)} tickets were open, and not restarted: the other finishes the work (activities it held are retried after their heartbeat timeout, 1 minute)`,
          ...(notOpen.length ? [`not open: ${JSON.stringify(states)}`] : []),
          ...(run.failed ? [`approval failures: ${JSON.stringify(run.failures)}`] : []),
          `Jira calls by endpoint: ${JSON.stringify(stats.byEndpoint)}`,
        ],
        missing: [],
        data: { stats, states, duplicates, lost, budget, requests, cpu: cpu.byPart, open },
      };
    } finally {
      await stack.stop();
    }
  },
};
