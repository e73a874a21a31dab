import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startFakeJiraProcess } from './process.js';

/**
 * How the fake Jira holds up at benchmark scale: the product's create path (a label search, then a create)
 * N times, then bulk fetches of everything.
 * `node dist/tools/fake-jira/scale-check.js [N] [concurrency] [validate] [state file]` (defaults 10000, 16, 1, none;
 * validate=1 checks every exchange against the OpenAPI file, as the tests do; a state file is demo mode).
 */
const [n = 10_000, concurrency = 16, validate = 1] = process.argv.slice(2, 5).map(Number);
const stateFile = process.argv[5];
// This measures the fake itself, as fast as it goes: Jira's burst limit (100 a second per endpoint) would stop it.
const jira = await startFakeJiraProcess({ port: 0, validate: validate === 1, stateFile, env: { FAKE_JIRA_BURST_PER_SECOND: '0' } });
const auth = `Basic ${Buffer.from('bench@example.com:t').toString('base64')}`;
const call = async (method: string, path: string, body: unknown) => {
  const res = await fetch(`${jira.url}/rest/api/3/${path}`, { method, headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<any>;
};
const inParallel = async (count: number, work: (i: number) => Promise<unknown>) => {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await work(next++);
  }));
};

try {
  const keys: string[] = [];
  let t = performance.now();
  await inParallel(n, async (i) => {
    const label = `ticketflow-${i}`;
    const found = await call('POST', 'search/jql', { jql: `labels = "${label}" ORDER BY created ASC`, maxResults: 1, fields: ['status'] });
    if (found.issues.length) throw new Error(`${label} exists already`);
    keys[i] = (await call('POST', 'issue', { fields: { project: { key: 'PRIV' }, issuetype: { name: 'Task' }, summary: `scale ${i}`, labels: [label] } })).key;
  });
  const createMs = performance.now() - t;
  t = performance.now();
  let fetched = 0;
  await inParallel(Math.ceil(n / 100), async (batch) => {
    const ids = keys.slice(batch * 100, batch * 100 + 100);
    const page = await call('POST', 'issue/bulkfetch', { issueIdsOrKeys: ids, fields: ['status', 'resolution', 'assignee', 'updated', 'summary'] });
    fetched += page.issues.length;
  });
  const fetchMs = performance.now() - t;
  const stats = (await (await fetch(`${jira.url}/_fake/stats`)).json()) as { total: number; maxPerSecond: number };
  const status = `/proc/${jira.child.pid}/status`;
  const rss = existsSync(status) ? `; fake Jira's resident memory ${/VmRSS:\s*(\d+)/.exec(readFileSync(status, 'utf8'))?.[1]} kB` : '';
  process.stdout.write(
    `${n} label searches + ${n} creates: ${(createMs / 1000).toFixed(1)} s; ` +
      `${Math.ceil(n / 100)} bulk fetches of ${fetched} issues: ${(fetchMs / 1000).toFixed(2)} s; ` +
      `${stats.total} calls, busiest second ${stats.maxPerSecond}; concurrency ${concurrency}, contract check ${validate === 1 ? 'on' : 'off'}, ${stateFile ? 'state file' : 'in memory'}${rss}\n`,
  );
} finally {
  await jira.stop();
}
