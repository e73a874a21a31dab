import { deliverStatusChange, enableWebhooks, type StatusName } from '../harness/jira-webhooks.js';
import { runPool, summarize } from '../harness/load.js';
import { every, n, say } from '../harness/output.js';
import { cpuBreakdown, describeCpu, interference } from '../harness/proc-metrics.js';
import { openTickets } from '../harness/seed.js';
import { startStack } from '../harness/stack.js';
import { whenVisible } from '../harness/visible.js';
import type { Benchmark } from '../harness/report.js';

interface Tracked {
  requestId: string;
  key: string;
  status: StatusName;
  /** set when a delivery never became visible: its status is unknown, so it is used no more */
  retired: boolean;
}

/**
 * How soon a Jira change shows in the API when Jira tells us by webhook. The tracker cycles once a day here, so
 * only the webhook can make the change visible; the fake moves the ticket silently and we deliver the webhook.
 */
export const webhookLatency: Benchmark = {
  name: 'webhook-latency',
  measures: '1,000 signed Jira webhook deliveries over 200 open tickets at concurrency 10: delivery sent → new status visible through the API',
  goal: 'p99 < 1 s',
  async run(opts) {
    const tickets = opts.get('tickets', 200);
    const deliveries = opts.get('deliveries', 1000);
    const concurrency = opts.get('concurrency', 10);
    const pollMs = opts.get('poll-ms', 10);
    const timeoutMs = opts.get('timeout-ms', 10_000);
    const stack = await startStack({ label: 'webhook-latency' });
    try {
      const secret = await enableWebhooks(stack);
      await openTickets(stack, { count: tickets, concurrency: 50, prefix: 'hook' });
      const { rows } = await stack.db.query<{ privacy_request_id: string; ticket_key: string; status: string }>(
        "select privacy_request_id, ticket_key, status from jira_ticket_instance where task_state = 'open' order by ticket_key",
      );
      const all: Tracked[] = rows.map((r) => ({ requestId: r.privacy_request_id, key: r.ticket_key, status: r.status as StatusName, retired: false }));

      const visibleMs: number[] = [];
      const replyMs: number[] = [];
      const rejected: Record<string, number> = {};
      let timeouts = 0;
      let skipped = 0;
      let sent = 0;
      // Lane l owns tickets l, l+c, l+2c…: two deliveries are never in flight for the same ticket.
      const perLane = Array.from({ length: concurrency }, (_, l) => all.filter((_, i) => i % concurrency === l));
      const cursor = new Array<number>(concurrency).fill(0);
      const cpuOf = cpuBreakdown(stack.cpuParts());
      const t0 = performance.now();
      const stopProgress = every(3000, () => {
        stack.assertAlive();
        const s = summarize(visibleMs);
        return `delivered ${n(sent)} of ${n(deliveries)} webhooks (${n(sent / ((performance.now() - t0) / 1000))}/s), visible p50 ${n(s.p50)} ms, p99 ${n(s.p99)} ms${timeouts ? `, ${timeouts} not visible within ${timeoutMs} ms` : ''}`;
      });
      await runPool(deliveries, concurrency, async (_i, lane) => {
        const mine = perLane[lane]!.filter((t) => !t.retired);
        const t = mine[cursor[lane]!++ % Math.max(1, mine.length)];
        if (!t) return void skipped++;
        const to: StatusName = t.status === 'In Progress' ? 'To Do' : 'In Progress';
        const issue = await stack.fake.transition(t.key, to, false);
        const started = performance.now();
        const reply = await deliverStatusChange(stack, secret, issue, t.status, to);
        sent++;
        replyMs.push(reply.ms);
        if (reply.status >= 300) {
          rejected[reply.status] = (rejected[reply.status] ?? 0) + 1;
          if ((rejected[reply.status] ?? 0) <= 3) say(`webhook for ${t.key} answered ${reply.status}: ${reply.text.slice(0, 300)}`);
          t.retired = true;
          return;
        }
        const at = await whenVisible(stack, t.requestId, (i) => i.status === to, { since: started, pollMs, timeoutMs });
        if (at === null) {
          timeouts++;
          t.retired = true;
          return;
        }
        visibleMs.push(at - started);
        t.status = to;
      });
      stopProgress();
      const cpu = cpuOf();
      const seconds = (performance.now() - t0) / 1000;
      const vis = summarize(visibleMs);
      const rep = summarize(replyMs);
      const allVisible = timeouts === 0 && Object.keys(rejected).length === 0;
      return {
        figures: [
          { key: 'visibleP50Ms', label: 'sent → visible p50', value: vis.p50, unit: 'ms', digits: 1 },
          { key: 'visibleP99Ms', label: 'sent → visible p99', value: vis.p99, unit: 'ms', digits: 1, goal: '< 1,000 ms', pass: vis.p99 < 1000 && allVisible },
          { key: 'visibleMaxMs', label: 'sent → visible max', value: vis.max, unit: 'ms', digits: 1 },
          { key: 'replyP50Ms', label: 'webhook reply p50', value: rep.p50, unit: 'ms', digits: 1 },
          { key: 'replyP99Ms', label: 'webhook reply p99', value: rep.p99, unit: 'ms', digits: 1 },
          { key: 'deliveries', label: 'deliveries sent', value: sent },
          { key: 'visible', label: 'became visible', value: visibleMs.length },
          { key: 'notVisible', label: `not visible within ${n(timeoutMs)} ms`, value: timeouts },
          { key: 'rejected', label: 'rejected (non-2xx)', value: Object.values(rejected).reduce((a, b) => a + b, 0) },
          { key: 'deliveriesPerSecond', label: 'deliveries per second', value: sent / seconds, unit: '/s', digits: 1 },
          { key: 'cpu', label: 'CPU while delivering (% of one core)', value: describeCpu(cpu) },
        ],
        notes: [
          ...interference(cpu, 'delivering'),
          `${n(tickets)} tickets opened through the API; the tracker cycles once a day here, so only the webhook can update them; concurrency ${concurrency}, each lane on its own tickets, statuses alternating To Do / In Progress`,
          `visibility polled through GET /api/v1/privacy-request/{id}/jira-tickets every ${pollMs} ms: figures are ±${pollMs} ms`,
          ...(skipped ? [`${skipped} deliveries skipped: their lane had no usable ticket left`] : []),
          ...(Object.keys(rejected).length ? [`rejected by status: ${JSON.stringify(rejected)}`] : []),
        ],
        missing: [],
        data: { visible: vis, reply: rep, rejected, timeouts, tickets, concurrency, pollMs, cpu: cpu.byPart },
      };
    } finally {
      await stack.stop();
    }
  },
};
