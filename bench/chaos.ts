import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { resultsDir, say, secs, sleep } from './harness/output.js';
import { machine } from './harness/report.js';
import { approvedRequest } from './harness/seed.js';
import { startStack } from './harness/stack.js';
import { finish } from './harness/teardown.js';

/**
 * `npm run chaos`: kill -9 the worker while it creates a ticket, during a tracker cycle, and right after a data
 * submission (twelve kills), then restart the Temporal dev server on its database file; every workflow
 * must still finish with exactly one ticket and its data. Prints the outcome and writes
 * bench/results/chaos.json; exits 1 if any check fails.
 */

const ROUNDS = 4; // × 3 kill points = 12 kills
const started = Date.now();
const stack = await startStack({
  label: 'chaos',
  temporalDbFile: true,
  // Creations outlive several kills: never give up on one. The tracker reads every 15 s, so a ticket moved
  // quietly in the fake is seen soon, and a kill can meet a cycle.
  env: { JIRA_CREATE_MAX_ATTEMPTS: '20', JIRA_POLLING_INTERVAL_MINUTES: '0.25' },
});
const kills: Array<{ at: string; round: number; seconds: number }> = [];
const checks: Array<{ check: string; ok: boolean; detail: string }> = [];
let code = 0;

/** Waits until `pred` holds, checking twice a second. */
async function until(what: string, pred: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred().catch(() => false)) return;
    await sleep(500);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

async function calls(endpoint: string): Promise<number> {
  return (await stack.fake.stats()).byEndpoint[endpoint] ?? 0;
}

async function killWorker(at: string, round: number): Promise<void> {
  const t0 = Date.now();
  await stack.worker.kill();
  await stack.restartWorker();
  kills.push({ at, round, seconds: (Date.now() - t0) / 1000 });
  say(`kill ${kills.length}: ${at} (round ${round}); worker back in ${secs(Date.now() - t0)}`);
}

const instance = async (id: string) => (await stack.api.get(`/api/v1/privacy-request/${id}/jira-tickets`)).json<any[]>()[0];
const ids: string[] = [];

try {
  for (let round = 1; round <= ROUNDS; round++) {
    // 1. During creation: Jira takes 4 s to answer the create, and the worker dies meanwhile. Jira still
    //    creates the issue; the retried activity must find it by its label instead of making another.
    const id = `chaos_${round}`;
    ids.push(id);
    const creates = await calls('POST /rest/api/3/issue');
    await stack.fake.fault({ kind: 'slow', method: 'POST', path: '/rest/api/3/issue', times: 1, delayMs: 4_000 });
    if ((await stack.api.post('/api/v1/privacy-request', approvedRequest(id))).status !== 201) throw new Error(`approving ${id} failed`);
    await until(`the create call of ${id} to reach Jira`, async () => (await calls('POST /rest/api/3/issue')) > creates);
    await killWorker('during ticket creation (create call in flight)', round);
    // The killed attempt is retried once its start-to-close timeout (1 minute) has passed.
    await until(`${id} open`, async () => (await instance(id))?.task_state === 'open', 300_000);

    // 2. During a tracker cycle: its delta search hangs for 4 s and the worker dies meanwhile.
    const reads = await calls('POST /rest/api/3/search/jql');
    await stack.fake.fault({ kind: 'slow', method: 'POST', path: '/rest/api/3/search/jql', times: 1, delayMs: 4_000 });
    await until("the tracker's next delta search to reach Jira", async () => (await calls('POST /rest/api/3/search/jql')) > reads, 60_000);
    await killWorker('during a tracker cycle (delta search in flight)', round);

    // 3. Right after a data submission: the API has stored it (202) and signalled; the worker dies at once.
    const open = await instance(id);
    await stack.fake.transition(open.ticket_key, 'Done', false);
    const submit = await stack.api.post(`/api/v1/privacy-request/${id}/jira-tickets/${open.instance_id}/submit-data`, { data: { rows_deleted: round } });
    if (submit.status !== 202) throw new Error(`submit-data for ${id} answered ${submit.status}`);
    await killWorker('right after a data submission', round);
  }

  // 4. The Temporal dev server restarts on its database file while requests are in flight.
  const late = 'chaos_after_restart';
  ids.push(late);
  if ((await stack.api.post('/api/v1/privacy-request', approvedRequest(late))).status !== 201) throw new Error(`approving ${late} failed`);
  await stack.restartTemporal();
  await until(`${late} open after the Temporal restart`, async () => (await instance(late))?.task_state === 'open', 180_000);
  const lateOpen = await instance(late);
  await stack.fake.transition(lateOpen.ticket_key, 'Done', false);
  await stack.api.post(`/api/v1/privacy-request/${late}/jira-tickets/${lateOpen.instance_id}/submit-data`, { data: { rows_deleted: 0 } });

  // 5. Every workflow finishes: done tickets with their data.
  await until('every request completed', async () => {
    const states = await Promise.all(ids.map(async (id) => (await instance(id))?.task_state));
    return states.every((s) => s === 'completed');
  }, 300_000).catch((err: Error) => say(err.message));

  const issues = await stack.fake.issues();
  for (const id of ids) {
    const i = await instance(id);
    const tickets = issues.filter((x) => x.fields.labels?.includes(`ticketflow-${i.instance_id}`));
    const request = (await stack.api.get(`/api/v1/privacy-request/${id}`)).json<{ manual_tasks_completed_at: string | null }>();
    const ok = tickets.length === 1 && i.task_state === 'completed' && i.data_submitted === true && !!request.manual_tasks_completed_at;
    checks.push({ check: id, ok, detail: `${tickets.length} ticket(s), ${i.task_state}, data ${i.data_submitted ? 'kept' : 'LOST'}, request ${request.manual_tasks_completed_at ? 'complete' : 'not complete'}` });
  }
} catch (err) {
  checks.push({ check: 'run', ok: false, detail: (err as Error).message });
} finally {
  await stack.stop();
}

const failed = checks.filter((c) => !c.ok);
say(`chaos: ${kills.length} kill -9 of the worker, 1 Temporal restart, ${checks.length} checks, ${failed.length} failed, ${secs(Date.now() - started)}`);
for (const c of checks) say(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}`);
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, 'chaos.json'), JSON.stringify({ ...machine(), date: new Date().toISOString(), kills, checks }, null, 2));
if (failed.length) code = 1;
await finish(code);

