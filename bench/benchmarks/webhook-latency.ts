import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { every, n, openTickets, runPool, say, sleep, startStack, summarize, type Stack } from '../harness.js';
import type { Benchmark } from '../report.js';

interface Tracked {
  requestId: string;
  key: string;
  status: string;
  /** set when a delivery never became visible: its status is unknown, so it is used no more */
  retired: boolean;
}

/** The fake's statuses as Jira sends them in a webhook (see src/fake-jira/store.ts). */
const STATUS = {
  'To Do': { id: '10000', name: 'To Do', statusCategory: { id: 2, key: 'new', name: 'To Do' } },
  'In Progress': { id: '3', name: 'In Progress', statusCategory: { id: 4, key: 'indeterminate', name: 'In Progress' } },
} as const;
type StatusName = keyof typeof STATUS;

/**
 * How soon a Jira change shows in the API when Jira tells us by webhook. Polls are an hour apart, so only
 * the webhook can make the change visible; the fake moves the ticket silently and we deliver the webhook.
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
    const stack = await startStack({ label: 'webhook-latency', pollIntervalMinutes: 60 });
    try {
      const secret = `bench-webhook-${randomBytes(12).toString('hex')}`;
      const missing = await probeWebhooks(stack, secret);
      if (missing.length) return { figures: [], notes: ['checked before opening any ticket; nothing else was measured'], missing };

      await openTickets(stack, { count: tickets, concurrency: 50, prefix: 'hook' });
      const { rows } = await stack.db.query<{ privacy_request_id: string; ticket_key: string; status: string }>(
        "select privacy_request_id, ticket_key, status from jira_ticket_instance where task_state = 'open' order by ticket_key",
      );
      const all: Tracked[] = rows.map((r) => ({ requestId: r.privacy_request_id, key: r.ticket_key, status: r.status, retired: false }));

      const visibleMs: number[] = [];
      const replyMs: number[] = [];
      const rejected: Record<string, number> = {};
      let timeouts = 0;
      let skipped = 0;
      let sent = 0;
      // Lane l owns tickets l, l+c, l+2c…: two deliveries are never in flight for the same ticket.
      const perLane = Array.from({ length: concurrency }, (_, l) => all.filter((_, i) => i % concurrency === l));
      const cursor = new Array<number>(concurrency).fill(0);
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
        const moved = await stack.fake.transition(t.key, to, false);
        if (moved.status !== 200) throw new Error(`POST /_fake/issues/${t.key}/transition answered ${moved.status}: ${moved.text}`);
        const issue = moved.json<{ id: string; key: string; self: string; fields: { updated: string } }>();
        const body = JSON.stringify({
          timestamp: Date.now(),
          webhookEvent: 'jira:issue_updated',
          issue_event_type_name: 'issue_generic',
          issue: { id: issue.id, key: issue.key, self: issue.self, fields: { status: STATUS[to], updated: issue.fields.updated } },
          changelog: { items: [{ field: 'status', fromString: t.status, toString: to }] },
        });
        const started = performance.now();
        const reply = await stack.api.request('POST', `/webhooks/jira/${stack.connectionKey}`, {
          body,
          headers: {
            'x-hub-signature': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
            'x-atlassian-webhook-identifier': randomUUID(),
          },
        });
        sent++;
        replyMs.push(reply.ms);
        if (reply.status >= 300) {
          rejected[reply.status] = (rejected[reply.status] ?? 0) + 1;
          if ((rejected[reply.status] ?? 0) <= 3) say(`webhook for ${t.key} answered ${reply.status}: ${reply.text.slice(0, 300)}`);
          t.retired = true;
          return;
        }
        for (;;) {
          const r = await stack.api.get(`/api/v1/privacy-request/${encodeURIComponent(t.requestId)}/jira-tickets`);
          const seen = r.status === 200 ? r.json<Array<{ connection_key: string; status: string }>>().find((x) => x.connection_key === stack.connectionKey) : undefined;
          if (seen?.status === to) {
            visibleMs.push(performance.now() - started);
            t.status = to;
            return;
          }
          if (performance.now() - started > timeoutMs) {
            timeouts++;
            t.retired = true;
            return;
          }
          await sleep(pollMs);
        }
      });
      stopProgress();
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
        ],
        notes: [
          `${n(tickets)} open tickets, polls every 60 minutes (so only the webhook can update them); concurrency ${concurrency}, each lane on its own tickets, statuses alternating To Do / In Progress`,
          `visibility polled through GET /api/v1/privacy-request/{id}/jira-tickets every ${pollMs} ms: figures are ±${pollMs} ms`,
          ...(skipped ? [`${skipped} deliveries skipped: their lane had no usable ticket left`] : []),
          ...(Object.keys(rejected).length ? [`rejected by status: ${JSON.stringify(rejected)}`] : []),
        ],
        missing: [],
        data: { visible: vis, reply: rep, rejected, timeouts, tickets, concurrency, pollMs },
      };
    } finally {
      await stack.stop();
    }
  },
};

/** The webhook secret setting and the endpoint; both must exist before anything can be measured. */
async function probeWebhooks(stack: Stack, secret: string): Promise<string[]> {
  const missing: string[] = [];
  const put = await stack.api.put(`/api/v1/connection/${stack.connectionKey}/secret`, { webhook_secret: secret });
  if (put.status !== 200) {
    missing.push(`"webhook_secret" in PUT /api/v1/connection/{key}/secret (answered ${put.status}: ${put.json<{ detail?: string }>().detail ?? put.text})`);
  }
  // Unsigned on purpose: an existing endpoint refuses it (401/403/400), a missing one has no route (404).
  const probe = await stack.api.request('POST', `/webhooks/jira/${stack.connectionKey}`, { body: '{}' });
  if (probe.status === 404 && /no route/i.test(probe.text)) {
    missing.push('POST /webhooks/jira/{connection_key} in the API (404: no route)');
  } else {
    say(`webhook endpoint present (an unsigned probe answered ${probe.status})`);
  }
  return missing;
}
