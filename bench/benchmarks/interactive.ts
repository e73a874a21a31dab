import { deliverStatusChange, enableWebhooks } from '../harness/jira-webhooks.js';
import { openLoop, summarize, type LatencySummary, type OpenLoopRun } from '../harness/load.js';
import { every, n, say } from '../harness/output.js';
import { cpuBreakdown, describeCpu, interference, type CpuBreakdown } from '../harness/proc-metrics.js';
import { seedTrackedTickets, type SeededTicket } from '../harness/seed.js';
import { startStack, type Stack } from '../harness/stack.js';
import { whenVisible, type InstanceView } from '../harness/visible.js';
import type { Benchmark, Figure } from '../harness/report.js';

type Kind = 'refresh' | 'submit-data' | 'webhook';

interface PhaseRun {
  kind: Kind;
  latency: LatencySummary;
  /** answers other than the expected 2xx, and changes never visible */
  failed: number;
  failures: Record<string, number>;
  loop: OpenLoopRun;
  cpu: CpuBreakdown;
}

/**
 * What a person or an upstream system waits for: a refresh (answered after a direct Jira read), a data
 * submission (202, then the workflow completes the task) and a Jira webhook (the change applied without a read),
 * each until the new state is visible in GET …/jira-tickets. Offered at a fixed rate (an open loop), each on
 * tickets of its own, one kind after the other.
 */
export const interactive: Benchmark = {
  name: 'interactive',
  measures: 'refresh / submit-data / webhook → new state visible in GET …/jira-tickets, 300 of each offered at 10/s (open loop)',
  goal: 'p99 < 250 ms each',
  async run(opts) {
    const each = opts.get('requests', 300);
    const rate = opts.get('rate', 10);
    const pollMs = opts.get('poll-ms', 10);
    const timeoutMs = opts.get('timeout-ms', 15_000);
    const limit = opts.get('limit', 10);
    const stack = await startStack({ label: 'interactive', env: { JIRA_RATE_LIMIT_PER_SECOND: String(limit) } });
    try {
      const secret = await enableWebhooks(stack);
      const open = await seedTrackedTickets(stack, { count: 2 * each, prefix: 'ia', status: 'To Do' });
      const done = await seedTrackedTickets(stack, { count: each, prefix: 'iad', status: 'Done' });
      const refreshSet = open.tickets.slice(0, each);
      const webhookSet = open.tickets.slice(each);
      const phases: PhaseRun[] = [];

      // The fake moves each ticket quietly first: only the refresh's own read can show it.
      say(`moving the ${n(each)} refresh tickets to In Progress in the fake Jira (no webhook)`);
      for (const t of refreshSet) await stack.fake.transition(t.key, 'In Progress', false);
      phases.push(
        await phase(stack, 'refresh', refreshSet, rate, { pollMs, timeoutMs }, async (t) => {
          const r = await stack.api.post(`/api/v1/privacy-request/${t.requestId}/jira-tickets/${t.instanceId}/refresh`);
          return { ok: r.status === 200 && r.json<InstanceView>().status === 'In Progress', status: r.status, seen: (i) => i.status === 'In Progress' };
        }),
      );
      phases.push(
        await phase(stack, 'submit-data', done.tickets, rate, { pollMs, timeoutMs }, async (t) => {
          const r = await stack.api.post(`/api/v1/privacy-request/${t.requestId}/jira-tickets/${t.instanceId}/submit-data`, { data: { rows_deleted: 1 } });
          return { ok: r.status === 202, status: r.status, seen: (i) => i.task_state === 'completed' };
        }),
      );
      say(`moving the ${n(each)} webhook tickets to In Progress in the fake Jira (no webhook of its own: the benchmark delivers them)`);
      const moved = new Map<string, Awaited<ReturnType<typeof stack.fake.transition>>>();
      for (const t of webhookSet) moved.set(t.key, await stack.fake.transition(t.key, 'In Progress', false));
      phases.push(
        await phase(stack, 'webhook', webhookSet, rate, { pollMs, timeoutMs }, async (t) => {
          const r = await deliverStatusChange(stack, secret, moved.get(t.key)!, 'To Do', 'In Progress');
          // 202 {status: applied}: the workflows were told; anything else (parked, ignored) would never show.
          return { ok: r.status === 202 && r.json<{ status: string }>().status === 'applied', status: r.status, seen: (i) => i.status === 'In Progress' };
        }),
      );

      const figures: Figure[] = phases.flatMap((p) => [
        { key: `${p.kind}P50Ms`, label: `${p.kind}: sent → visible p50`, value: p.latency.p50, unit: 'ms', digits: 1 },
        { key: `${p.kind}P99Ms`, label: `${p.kind}: sent → visible p99`, value: p.latency.p99, unit: 'ms', digits: 1, goal: '< 250 ms', pass: p.latency.p99 < 250 && p.failed === 0 },
        { key: `${p.kind}MaxMs`, label: `${p.kind}: max`, value: p.latency.max, unit: 'ms', digits: 1 },
        { key: `${p.kind}Failed`, label: `${p.kind}: failed or never visible`, value: p.failed },
        { key: `${p.kind}Cpu`, label: `${p.kind}: CPU (% of one core)`, value: describeCpu(p.cpu) },
      ]);
      return {
        figures,
        notes: [
          ...phases.flatMap((p) => interference(p.cpu, `measuring ${p.kind}`)),
          `${n(each)} of each offered at ${rate}/s on schedule (open loop); latency from the scheduled send until a GET …/jira-tickets shows the new state (polled every ${pollMs} ms: ±${pollMs} ms)`,
          `refresh: the fake moved each ticket quietly first, so only the refresh's direct read (through the connection's budget, JIRA_RATE_LIMIT_PER_SECOND=${limit}) shows it; submit-data: tickets already Done (waiting for data) → completed; webhook: signed jira:issue_updated deliveries → status applied without a Jira read`,
          `tickets seeded in bulk (${n(open.tickets.length + done.tickets.length)}: issues in the fake, read-model rows, workflows started with their state), open after ${n(open.seconds.total + done.seconds.total, 1)} s`,
          ...phases.map((p) => `${p.kind}: most in flight ${p.loop.maxInFlight}, send lag p99 ${n(p.loop.sendLagP99Ms, 1)} ms${p.failed ? `; failures ${JSON.stringify(p.failures)}` : ''}`),
        ],
        missing: [],
        data: { phases: phases.map((p) => ({ ...p, cpu: p.cpu.byPart })), each, rate, limit },
      };
    } finally {
      await stack.stop();
    }
  },
};

async function phase(
  stack: Stack,
  kind: Kind,
  tickets: SeededTicket[],
  rate: number,
  o: { pollMs: number; timeoutMs: number },
  send: (t: SeededTicket) => Promise<{ ok: boolean; status: number; seen: (i: InstanceView) => boolean }>,
): Promise<PhaseRun> {
  say(`${kind}: ${n(tickets.length)} offered at ${rate}/s`);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const fail = (why: string) => void (failures[why] = (failures[why] ?? 0) + 1);
  const cpuOf = cpuBreakdown(stack.cpuParts());
  const stopProgress = every(5000, () => {
    stack.assertAlive();
    const s = summarize(latencies);
    return `${kind}: ${n(latencies.length)} visible, p50 ${n(s.p50)} ms, p99 ${n(s.p99)} ms${Object.keys(failures).length ? `, failures ${JSON.stringify(failures)}` : ''}`;
  });
  const loop = await openLoop(tickets.length, rate, async (i, scheduledAt) => {
    const t = tickets[i]!;
    try {
      const answer = await send(t);
      if (!answer.ok) return fail(String(answer.status));
      const at = await whenVisible(stack, t.requestId, answer.seen, { since: scheduledAt, pollMs: o.pollMs, timeoutMs: o.timeoutMs });
      if (at === null) return fail('not visible in time');
      latencies.push(at - scheduledAt);
    } catch (err) {
      fail((err as Error).message.slice(0, 80));
    }
  }).finally(stopProgress);
  const cpu = cpuOf();
  const latency = summarize(latencies);
  say(`${kind}: p50 ${n(latency.p50)} ms, p99 ${n(latency.p99)} ms, max ${n(latency.max)} ms; ${Object.values(failures).reduce((a, b) => a + b, 0)} failed`);
  return { kind, latency, failed: Object.values(failures).reduce((a, b) => a + b, 0), failures, loop, cpu };
}
