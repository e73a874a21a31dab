import type { WorkflowStartOptions } from '@temporalio/client';
import { approvedRequest as sampleRequest } from '../../tools/dev-stack/sample-request.js';
import { instanceIdFor } from '../../src/privacy-requests/service.js';
import { workflowIdFor, type InstanceState, type PrivacyRequestTicketInput, } from '../../src/privacy-requests/messages.js';
import type { TrackedStatusCategory } from '../../src/tracker/news.js';
import type { privacyRequestTicket } from '../../src/privacy-requests/workflow.js';
import { JiraConnection, JiraStatusCategory, JiraTicketKey, PrivacyRequestId, TaskState } from '../../src/platform/temporal/search-attributes.js';
import { runPool } from './load.js';
import { every, n, say, secs, sleep } from './output.js';
import { memAvailableMb, rssMbOf } from './proc-metrics.js';
import { PROJECT_KEY, type Stack } from './stack.js';
import { interrupted } from './teardown.js';

/**
 * Tickets for a benchmark to work on, made in one of two ways:
 * - through the product's front door: approvals through the API, each creating its issue in the fake Jira
 *   (`openTickets`), as upstream systems do; minutes for 10,000;
 * - in bulk (`seedTrackedTickets`): the fake's issues seeded at once, the read-model rows written as the product
 *   would have written them, and each ticket workflow started with that state as `input.state`, the way
 *   continue-as-new carries it, so that it starts out waiting for news of an existing ticket.
 */

// ---------------------------------------------------------------------------------------------------------
// Through the API

/** The tests' sample request, with an address of its own for each. */
export const approvedRequest = (id: string) => sampleRequest(id, { identity: { email: `${id}@example.com` } });

export interface ApprovalRun {
  ok: number;
  failed: number;
  /** status code (or error message) → count, for anything but 201 */
  failures: Record<string, number>;
  latenciesMs: number[];
  /** the slowest answers: when they were sent (ms after the first) and how long they took */
  slowest: Array<{ sentAtMs: number; ms: number }>;
  seconds: number;
  perSecond: number;
}

/** Tallies approval answers; `send` makes one approval and records it. */
export function approvalTally(stack: Stack, prefix: string) {
  const latenciesMs: number[] = [];
  const sent: ApprovalRun['slowest'] = [];
  const failures: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  let lastAnswerAt = t0;
  return {
    get done() {
      return ok + failed;
    },
    get ok() {
      return ok;
    },
    get failed() {
      return failed;
    },
    /** Approves request `${prefix}-${i}` through API `apiIndex`; latency from `from` (an open loop's schedule) or the send. */
    async send(i: number, o: { apiIndex?: number; from?: number } = {}): Promise<void> {
      const api = stack.apis[o.apiIndex ?? 0]!.http;
      const from = o.from ?? performance.now();
      try {
        // The request id names the approval in the API's access log (which says how long the API itself took).
        const id = `${prefix}-${i}`;
        const r = await api.request('POST', '/api/v1/privacy-request', { json: approvedRequest(id), headers: { 'x-request-id': id } });
        lastAnswerAt = performance.now();
        const ms = lastAnswerAt - from;
        latenciesMs.push(ms);
        sent.push({ sentAtMs: from - t0, ms });
        if (r.status === 201) ok++;
        else {
          failed++;
          failures[String(r.status)] = (failures[String(r.status)] ?? 0) + 1;
          if (failed <= 3) say(`approval ${prefix}-${i} answered ${r.status}: ${r.text.slice(0, 300)}`);
        }
      } catch (err) {
        failed++;
        const key = (err as Error).message.slice(0, 80);
        failures[key] = (failures[key] ?? 0) + 1;
      }
    },
    /** seconds: from the tally's start until the last answer */
    result(): ApprovalRun {
      const seconds = (lastAnswerAt - t0) / 1000;
      const slowest = [...sent].sort((a, b) => b.ms - a.ms).slice(0, 20).map((x) => ({ sentAtMs: Math.round(x.sentAtMs), ms: Math.round(x.ms) }));
      return { ok, failed, failures, latenciesMs, slowest, seconds, perSecond: ok / seconds };
    },
  };
}

/** Approves `count` new privacy requests through the API, `concurrency` at a time (a closed loop), printing progress. */
export async function approveMany(stack: Stack, o: { count: number; concurrency: number; prefix: string; quiet?: boolean }): Promise<ApprovalRun> {
  const tally = approvalTally(stack, o.prefix);
  const t0 = performance.now();
  const stopProgress = o.quiet
    ? () => {}
    : every(2000, () => {
        stack.assertAlive();
        return `approved ${n(tally.ok)} of ${n(o.count)} (${n(tally.done / ((performance.now() - t0) / 1000))}/s)${tally.failed ? `, ${n(tally.failed)} failed` : ''}`;
      });
  try {
    await runPool(o.count, o.concurrency, (i) => tally.send(i));
  } finally {
    stopProgress();
  }
  return tally.result();
}

/**
 * Waits until no instance of these requests waits for its workflow to be started (approvals commit their
 * instances and the API starts the workflows right after) and returns when that was, to 50 ms.
 */
export async function waitForStarts(stack: Stack, prefix: string, timeoutMs = 10 * 60_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let lastSaid = performance.now();
  for (;;) {
    stack.assertAlive();
    const { rows } = await stack.db.query<{ n: string }>('select count(*) as n from jira_ticket_instance where start_pending and privacy_request_id like $1', [`${prefix}%`]);
    if (Number(rows[0]!.n) === 0) return performance.now();
    if (performance.now() > deadline) throw new Error(`${rows[0]!.n} workflows still not started after ${timeoutMs / 1000} s; see the API's log in ${stack.logDir}`);
    if (performance.now() - lastSaid > 5000) {
      say(`${n(Number(rows[0]!.n))} workflows of ${prefix}* still waiting to be started`);
      lastSaid = performance.now();
    }
    await sleep(50);
  }
}

/** Waits until `expected` instances are open (or failed to be created); the read model is the product's own view. */
export async function waitForOpen(stack: Stack, expected: number, o: { timeoutMs: number; since?: number }): Promise<{ open: number; failed: number; seconds: number }> {
  const t0 = o.since ?? performance.now();
  const stallMs = 5 * 60_000;
  let last = { open: 0, at: performance.now() };
  let progress = { done: -1, at: performance.now() };
  for (;;) {
    stack.assertAlive();
    const counts = await stack.countByState();
    const open = counts.open ?? 0;
    const failed = counts.creation_failed ?? 0;
    const now = performance.now();
    if (open + failed > progress.done) progress = { done: open + failed, at: now };
    // A stack that has stopped making progress will not finish in the remaining time either: say so now.
    if (now - progress.at > stallMs) {
      throw new Error(`no ticket opened for ${secs(stallMs)}: ${n(open)} of ${n(expected)} open; the stack is saturated or stuck (CPU, Temporal backlog, retries); see ${stack.logDir}`);
    }
    const rate = (open - last.open) / ((now - last.at) / 1000);
    const others = Object.entries(counts).filter(([s]) => s !== 'open').map(([s, c]) => `${s} ${n(c)}`).join(', ');
    if (open + failed >= expected) {
      say(`open ${n(open)} of ${n(expected)}${others ? ` (${others})` : ''}`);
      return { open, failed, seconds: (now - t0) / 1000 };
    }
    if (now - t0 > o.timeoutMs) throw new Error(`only ${n(open)} of ${n(expected)} tickets open after ${secs(o.timeoutMs)} (${others}); see ${stack.logDir}`);
    if (now - last.at >= 4000) {
      say(`open ${n(open)} of ${n(expected)} tickets (${n(rate)}/s)${others ? `; ${others}` : ''}`);
      last = { open, at: now };
    }
    await sleep(1000);
  }
}

/** Approves requests and waits until each has its ticket open in the fake Jira. */
export async function openTickets(stack: Stack, o: { count: number; concurrency: number; prefix: string; timeoutMs?: number }) {
  say(`opening ${n(o.count)} tickets: approvals through the API at concurrency ${o.concurrency}`);
  const t0 = performance.now();
  const approvals = await approveMany(stack, o);
  const stopping = interrupted();
  if (stopping) await stopping;
  if (approvals.failed) say(`${n(approvals.failed)} approvals failed: ${JSON.stringify(approvals.failures)}`);
  say(`all approvals answered in ${n(approvals.seconds, 1)} s (${n(approvals.perSecond)}/s); waiting for the tickets to be open`);
  const opened = await waitForOpen(stack, approvals.ok, { timeoutMs: o.timeoutMs ?? 45 * 60_000, since: t0 });
  say(`${n(opened.open)} tickets open ${n(opened.seconds, 1)} s after the first approval (${n(opened.open / opened.seconds)}/s)`);
  return { approvals, opened };
}

// ---------------------------------------------------------------------------------------------------------
// In bulk

export interface SeededTicket {
  requestId: string;
  instanceId: string;
  workflowId: string;
  key: string;
  /** Jira's `updated` as the read model holds it */
  updated: string;
}

export interface SeedRun {
  tickets: SeededTicket[];
  /** how long each step took, and the whole */
  seconds: { issues: number; readBack: number; rows: number; starts: number; recorded: number; total: number };
  /** workflows started per second, and recorded (at rest) per second, over their phases */
  startsPerSecond: number;
  openPerSecond: number;
  /** set when the seeding stopped short (memory running out, or the stack stalled): how many are open */
  stoppedAt?: { open: number; reason: string };
}

const CATEGORY: Record<string, TrackedStatusCategory> = { 'To Do': 'new', 'In Progress': 'indeterminate', Done: 'done' };

/**
 * `count` tickets that exist in Jira and are tracked by running workflows, at rest, without creating them one by
 * one through Jira (10,000 creations take minutes; 100,000 most of an hour):
 * 1. the fake seeds the issues at once (`POST /_fake/issues/bulk`), `ageMinutes` in the past on its clock, as
 *    tickets opened earlier would be (so that a delta read finds only what changes afterwards);
 * 2. one search per 5,000 reads back their ids and `updated`, as ticket creation would have read them;
 * 3. the request and instance rows are written as an approval and ticket creation leave them;
 * 4. each workflow is started with that state as `input.state` (how continue-as-new carries it), so it begins
 *    waiting for news; it records its state once, which is how the benchmark knows it has run (state_seq 2).
 * `stopBelowMemMb`: stop starting workflows when the machine's available memory falls below this (the dev
 * server grows with every workflow), and report how many are open; `stopAfterMinutes` likewise once starting
 * has taken that long (a machine whose time is booked).
 */
export async function seedTrackedTickets(
  stack: Stack,
  o: {
    count: number;
    prefix: string;
    status?: 'To Do' | 'In Progress' | 'Done';
    ageMinutes?: number;
    concurrency?: number;
    /** at most this many started workflows not yet at rest (default 1,000) */
    ahead?: number;
    stopBelowMemMb?: number;
    stopAfterMinutes?: number;
    stallMinutes?: number;
  },
): Promise<SeedRun> {
  const status = o.status ?? 'To Do';
  const category = CATEGORY[status]!;
  const t0 = performance.now();
  const mark = () => (performance.now() - t0) / 1000;
  say(`seeding ${n(o.count)} issues in the fake Jira (${status}, ${o.ageMinutes ?? 0} min old)`);
  // A prefix no other seeding's summaries contain, so that one search finds exactly these issues.
  const summaryPrefix = `bench-seed-${o.prefix}-`;
  if (o.ageMinutes) await stack.fake.setClock(Date.now() - o.ageMinutes * 60_000);
  try {
    await stack.fake.bulkCreate({ count: o.count, project: PROJECT_KEY, status, summaryPrefix });
  } finally {
    if (o.ageMinutes) await stack.fake.clock({ offsetMs: 0 });
  }
  const tIssues = mark();

  // What ticket creation would have read of each issue: its id and Jira's `updated`, verbatim.
  const found: Array<{ id: string; key: string; updated: string }> = [];
  let token: string | undefined;
  do {
    const r = await stack.fake.api.ok('POST', '/rest/api/3/search/jql', { jql: `summary ~ "${summaryPrefix}"`, fields: ['updated'], maxResults: 5000, ...(token ? { nextPageToken: token } : {}) });
    const page = r.json<{ issues: Array<{ id: string; key: string; fields: { updated: string } }>; nextPageToken?: string }>();
    for (const i of page.issues) found.push({ id: i.id, key: i.key, updated: i.fields.updated });
    token = page.nextPageToken;
  } while (token);
  if (found.length !== o.count) throw new Error(`seeded ${o.count} issues but a search finds ${found.length}; is the fake Jira's search lag (FAKE_JIRA_SEARCH_LAG_MS) 0?`);
  const tReadBack = mark();

  const tickets: SeededTicket[] = found.map((f, i) => {
    const requestId = `${o.prefix}-${i}`;
    return { requestId, instanceId: instanceIdFor(requestId, stack.connectionKey), workflowId: workflowIdFor(requestId, stack.connectionKey), key: f.key, updated: f.updated };
  });
  const idOf = new Map(found.map((f) => [f.key, f.id]));
  const urlOf = (key: string) => `${stack.fakeUrl}/browse/${encodeURIComponent(key)}`;
  const taskState = category === 'done' ? 'waiting_for_data' : 'open';
  for (let i = 0; i < tickets.length; i += 5000) {
    const chunk = tickets.slice(i, i + 5000);
    await stack.db.query(
      `insert into privacy_request (id, request_type, status, submitted_at, approved_at, policy_name, email, request_url)
       select id, 'erasure', 'approved', now() - interval '2 days', now() - interval '1 day', 'Default Erasure Policy', id || '@example.com', 'https://privacy.example.com/privacy-requests/' || id
       from unnest($1::text[]) as id`,
      [chunk.map((t) => t.requestId)],
    );
    await stack.db.query(
      `insert into jira_ticket_instance (instance_id, privacy_request_id, connection_key, workflow_id, ticket_id, ticket_key, ticket_url, status, status_category,
         task_state, jira_updated, state_seq, start_pending, workflow_started_at)
       select t.instance_id, t.request_id, $1, t.workflow_id, t.ticket_id, t.ticket_key, t.ticket_url, $2, $3, $4, t.updated, 0, false, now()
       from unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
         as t(instance_id, request_id, workflow_id, ticket_id, ticket_key, ticket_url, updated)`,
      [
        stack.connectionKey, status, category, taskState,
        chunk.map((t) => t.instanceId), chunk.map((t) => t.requestId), chunk.map((t) => t.workflowId), chunk.map((t) => idOf.get(t.key)!),
        chunk.map((t) => t.key), chunk.map((t) => urlOf(t.key)), chunk.map((t) => t.updated),
      ],
    );
  }
  const tRows = mark();
  say(`${n(o.count)} issues seeded in ${n(tIssues, 1)} s, read back in ${n(tReadBack - tIssues, 1)} s, rows written in ${n(tRows - tReadBack, 1)} s; starting their workflows`);

  const recordedCount = async () =>
    Number((await stack.db.query<{ n: string }>('select count(*) as n from jira_ticket_instance where state_seq >= 2 and privacy_request_id like $1', [`${o.prefix}-%`])).rows[0]!.n);
  let started = 0;
  let recorded = 0;
  let stoppedAt: SeedRun['stoppedAt'];
  const startedAt = performance.now();
  // Starts kept only so far ahead of the workflows' first tasks: the dev server's one SQLite writer serves both,
  // and a backlog of thousands of first tasks starves them (the worker then idles while starts pile up).
  const ahead = o.ahead ?? 1000;
  const watch = setInterval(() => void recordedCount().then((r) => (recorded = r), () => {}), 250);
  const stopProgress = every(5000, () => {
    stack.assertAlive();
    const rate = started / ((performance.now() - startedAt) / 1000);
    return `started ${n(started)} of ${n(o.count)} workflows (${n(rate)}/s), ${n(recorded)} at rest; worker RSS ${n(rssMbOf(stack.worker.pid))} MB, Temporal RSS ${n(rssMbOf(stack.temporalPid))} MB, machine memory available ${n(memAvailableMb())} MB`;
  });
  try {
    await runPool(tickets.length, o.concurrency ?? 32, async (i) => {
      while (started - recorded > ahead && !stoppedAt) await sleep(50);
      if (stoppedAt) return;
      if (o.stopBelowMemMb && i % 500 === 0 && memAvailableMb() < o.stopBelowMemMb) {
        stoppedAt = { open: started, reason: `the machine's available memory fell below ${n(o.stopBelowMemMb)} MB (Temporal dev server at ${n(rssMbOf(stack.temporalPid))} MB)` };
        say(`stopping at ${n(started)} workflows: ${stoppedAt.reason}`);
        return;
      }
      if (o.stopAfterMinutes && performance.now() - startedAt > o.stopAfterMinutes * 60_000) {
        stoppedAt = { open: started, reason: `starting them had taken the ${o.stopAfterMinutes} minutes allowed (--stop-after-minutes)` };
        say(`stopping at ${n(started)} workflows: ${stoppedAt.reason}`);
        return;
      }
      await startWithState(stack, tickets[i]!, { taskState, status, statusCategory: category, url: urlOf(tickets[i]!.key), id: idOf.get(tickets[i]!.key)! });
      started++;
    });
  } finally {
    stopProgress();
    clearInterval(watch);
  }
  const tStarts = mark();
  // Each workflow's first task records its state (state_seq 2): then it is at rest, waiting for news.
  const stallMs = (o.stallMinutes ?? 5) * 60_000;
  let last = { recorded: -1, at: performance.now() };
  let saidAt = performance.now();
  for (;;) {
    stack.assertAlive();
    recorded = await recordedCount();
    if (recorded >= started) break;
    if (recorded > last.recorded) last = { recorded, at: performance.now() };
    else if (performance.now() - last.at > stallMs) throw new Error(`only ${n(recorded)} of ${n(started)} started workflows have run after ${secs(stallMs)} without progress; see the worker's log in ${stack.logDir}`);
    if (performance.now() - saidAt >= 5000) {
      say(`${n(recorded)} of ${n(started)} workflows at rest; worker RSS ${n(rssMbOf(stack.worker.pid))} MB`);
      saidAt = performance.now();
    }
    await sleep(500);
  }
  const tRecorded = mark();
  const open = started;
  say(`${n(open)} ticket workflows open and at rest ${n(tRecorded, 1)} s after seeding began (workflows started at ${n(open / (tStarts - tRows))}/s)`);
  return {
    tickets: tickets.slice(0, open),
    seconds: { issues: tIssues, readBack: tReadBack - tIssues, rows: tRows - tReadBack, starts: tStarts - tRows, recorded: tRecorded - tStarts, total: tRecorded },
    startsPerSecond: open / (tStarts - tRows),
    openPerSecond: open / (tRecorded - tRows),
    ...(stoppedAt ? { stoppedAt } : {}),
  };
}

/** Starts a ticket's workflow as the API's start queue does, but already holding its ticket (seq 1: it records once). */
async function startWithState(stack: Stack, t: SeededTicket, s: { taskState: 'open' | 'waiting_for_data'; status: string; statusCategory: TrackedStatusCategory; url: string; id: string }): Promise<void> {
  const state: InstanceState = {
    taskState: s.taskState,
    ticket: { id: s.id, key: t.key, url: s.url },
    status: s.status,
    statusCategory: s.statusCategory,
    dataSubmitted: false,
    lastError: null,
    seq: 1,
    updated: t.updated,
  };
  const input: PrivacyRequestTicketInput = { privacyRequestId: t.requestId, connectionKey: stack.connectionKey, instanceId: t.instanceId, createMaxAttempts: 3, state };
  const options: WorkflowStartOptions<typeof privacyRequestTicket> = {
    workflowId: t.workflowId,
    taskQueue: 'ticketflow',
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [
      { key: PrivacyRequestId, value: t.requestId },
      { key: JiraConnection, value: stack.connectionKey },
      { key: TaskState, value: s.taskState },
      { key: JiraTicketKey, value: t.key },
      { key: JiraStatusCategory, value: s.statusCategory },
    ],
    staticSummary: `Jira ticket for erasure request ${t.requestId} via ${stack.connectionKey}`,
  };
  await stack.temporal.workflow.start<typeof privacyRequestTicket>('privacyRequestTicket', options);
}
