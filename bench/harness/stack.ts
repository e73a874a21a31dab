import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Client } from '@temporalio/client';
import { startEmbeddedPostgres } from '../../tools/dev-stack/embedded-postgres.js';
import { openDatabase } from '../../src/platform/db/orm.js';
import { startFakeJiraProcess } from '../../tools/fake-jira/process.js';
import { Keyring } from '../../src/platform/keyring.js';
import { PayloadEncryptionCodec } from '../../src/platform/temporal/codec.js';
import { connectTemporal } from '../../src/platform/temporal/client.js';
import { ApiTokens } from '../../src/http/tokens.js';
import { BENCH_JIRA_USER, FakeJiraAdmin } from './fake-jira.js';
import { Http } from './http.js';
import { distSrc, resultsDir, say, secs } from './output.js';
import { childPidsNamed } from './proc-metrics.js';
import { freePort, startTemporal, StackProcess } from './processes.js';
import { onInterrupt, within } from './teardown.js';

/**
 * A whole ticketflow stack in a fresh temp dir: embedded PostgreSQL, the Temporal dev server, the fake Jira, and
 * the API(s) and worker(s) as processes of their own (`node dist/src/main/api.js`, `node dist/src/main/worker.js`)
 * configured by environment, so that /proc measures each. One Jira connection is configured through the API.
 */

export interface StackOptions {
  /** names the log files under bench/results/logs */
  label: string;
  /** environment for every worker and API */
  env?: Record<string, string>;
  workerEnv?: Record<string, string>;
  apiEnv?: Record<string, string>;
  /** API processes and workers (replicas); 1 each by default */
  apis?: number;
  workers?: number;
  /** node options for the API processes and the workers, e.g. ['--cpu-prof', '--cpu-prof-dir=…'] */
  apiNodeArgs?: string[];
  workerNodeArgs?: string[];
  /** keep Temporal's state in a SQLite file, so the dev server can be restarted (fault runs) */
  temporalDbFile?: boolean;
}

export const CONNECTION_KEY = 'jira_bench';
export const PROJECT_KEY = 'PRIV';

export interface ApiProcess {
  process: StackProcess;
  http: Http;
}

export interface Stack {
  apiUrl: string;
  fakeUrl: string;
  databaseUrl: string;
  temporalAddress: string;
  connectionKey: string;
  logDir: string;
  /** the first API, with an admin token */
  api: Http;
  apis: ApiProcess[];
  fake: FakeJiraAdmin;
  db: pg.Pool;
  /** the first worker */
  worker: StackProcess;
  workers: StackProcess[];
  apiProcess: StackProcess;
  fakePid: number;
  temporalPid: number | undefined;
  /** a Temporal client with the stack's payload keys: starts, signals and queries as the API would send them */
  temporal: Client;
  /** the key sets the processes run with, for anything the benchmark runs in its own process */
  keys: { secretKeys: string; payloadKeys: string };
  /** Restarts a worker with extra environment (workflows are durable: they carry on in the new process). */
  restartWorker(opts?: { index?: number; env?: Record<string, string> }): Promise<void>;
  /** Stops the Temporal dev server and starts it again on the same port and database file (needs temporalDbFile). */
  restartTemporal(): Promise<void>;
  /** Throws, with the last lines of its log, if a process that should run has exited. */
  assertAlive(): void;
  /** the processes whose CPU is reported, by name (for cpuBreakdown) */
  cpuParts(): Record<string, number | undefined>;
  /** instances by task_state, straight from the read model */
  countByState(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'ticketflow-bench-'));
  chmodSync(dir, 0o755); // PostgreSQL runs as its own user when the benchmark runs as root
  const logDir = join(resultsDir, 'logs', opts.label);
  mkdirSync(logDir, { recursive: true });
  rmSync(logDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  const stops: Array<{ what: string; stop: () => Promise<unknown> }> = [];
  // One teardown, however many callers (the benchmark's finally, a Ctrl-C) ask for it: all wait for its end.
  let teardown: Promise<void> | undefined;
  /** Registers a stop; one registered after the teardown began (a Ctrl-C during start-up) runs at once. */
  const onStop = (what: string, stop: () => Promise<unknown>) => {
    if (teardown) void within(30_000, what, stop());
    else stops.push({ what, stop });
  };
  const cleanup = () =>
    (teardown ??= (async () => {
      for (const s of stops.splice(0).reverse()) await within(30_000, s.what, s.stop());
      forget();
    })());
  const forget = onInterrupt(cleanup);
  onStop('temp dir', async () => rmSync(dir, { recursive: true, force: true }));

  try {
    say(`starting PostgreSQL, the Temporal dev server and the fake Jira (temp dir ${dir})`);
    const [pgServer, temporalServer, fakeJira] = await Promise.all([
      freePort().then((port) => startEmbeddedPostgres(join(dir, 'pg'), port, { persistent: false })),
      startTemporal(join(logDir, 'temporal.log'), opts.temporalDbFile ? join(dir, 'temporal.db') : undefined),
      freePort().then((port) => startFakeJiraProcess({ port })),
    ]);
    onStop('PostgreSQL', () => pgServer.stop());
    onStop('Temporal dev server', () => temporalServer.stop());
    onStop('fake Jira', () => fakeJira.stop());

    // Migrate once here, so the workers and the APIs do not race to create the schema; and make the API token.
    const orm = await openDatabase(pgServer.url, { poolMax: 1 });
    const { token } = await new ApiTokens(orm).create('bench', ['admin']);
    await orm.close();
    const db = new pg.Pool({ connectionString: pgServer.url, max: 4 });
    onStop('database pool', () => db.end());

    const keys = { secretKeys: Keyring.generateSpec('bench'), payloadKeys: PayloadEncryptionCodec.generateSpec('bench') };
    const temporal = await connectTemporal(temporalServer.address, 'default', new PayloadEncryptionCodec(keys.payloadKeys));
    onStop('Temporal client', () => temporal.connection.close());

    const baseEnv: Record<string, string> = {
      DATABASE_URL: pgServer.url,
      TEMPORAL_ADDRESS: temporalServer.address,
      SECRET_KEYS: keys.secretKeys,
      PAYLOAD_KEYS: keys.payloadKeys,
      // Metrics are not what a benchmark measures; and a fixed port could collide with a running npm start.
      WORKER_METRICS_PORT: '0',
      // Setting up thousands of tickets is not what is measured: no budget unless a benchmark sets one.
      JIRA_RATE_LIMIT_PER_SECOND: '1000',
      // The tracker cycles when a benchmark says so (syncNow), not on a timer of its own in the middle of a measurement.
      JIRA_POLLING_INTERVAL_MINUTES: String(24 * 60),
      JIRA_WEBHOOK_POLLING_INTERVAL_MINUTES: String(24 * 60),
      LOG_LEVEL: 'info',
      ...opts.env,
    };
    const workerCount = opts.workers ?? 1;
    const apiCount = opts.apis ?? 1;
    const suffix = (i: number) => (i === 0 ? '' : `-${i + 1}`);
    const workers = Array.from(
      { length: workerCount },
      (_, i) => new StackProcess(workerCount > 1 ? `worker ${i + 1}` : 'worker', process.execPath, [...(opts.workerNodeArgs ?? []), join(distSrc, 'main/worker.js')], join(logDir, `worker${suffix(i)}.log`)),
    );
    const apiProcesses = Array.from(
      { length: apiCount },
      (_, i) => new StackProcess(apiCount > 1 ? `API ${i + 1}` : 'API', process.execPath, [...(opts.apiNodeArgs ?? []), join(distSrc, 'main/api.js')], join(logDir, `api${suffix(i)}.log`)),
    );
    for (const w of workers) onStop(w.role, () => w.stop());
    for (const a of apiProcesses) onStop(a.role, () => a.stop());
    const workerEnvs = workers.map(() => ({ ...baseEnv, ...opts.workerEnv }));
    const startWorker = async (i: number) => {
      const w = workers[i]!;
      const before = w.logCount('"msg":"worker running"');
      w.start(workerEnvs[i]);
      // The worker bundles its workflow code at start (webpack): several seconds of CPU. The log file is
      // appended to, so this start is ready when one more "worker running" line appears.
      await w.waitFor(async () => w.logCount('"msg":"worker running"') > before, 120_000);
    };
    const apis: ApiProcess[] = [];
    for (const p of apiProcesses) {
      const port = await freePort();
      p.start({ ...baseEnv, PORT: String(port), ...opts.apiEnv });
      const http = new Http(`http://127.0.0.1:${port}`);
      http.headers.authorization = `Bearer ${token}`;
      onStop(`HTTP agent of the ${p.role}`, async () => http.close());
      apis.push({ process: p, http });
    }
    say(`starting ${apiCount > 1 ? `${apiCount} APIs` : 'the API'} and ${workerCount > 1 ? `${workerCount} workers` : 'the worker'} (a worker bundles its workflows first)`);
    await Promise.all([...apis.map((a) => a.process.waitFor(async () => (await a.http.get('/readyz')).status === 200, 60_000)), ...workers.map((_, i) => startWorker(i))]);
    const api = apis[0]!.http;

    const fake = new FakeJiraAdmin(fakeJira);
    onStop('fake admin agents', async () => fake.close());
    await configureConnection(api, CONNECTION_KEY, fakeJira.url);
    say(`stack ready in ${secs(Date.now() - started)}: API ${api.base}, fake Jira ${fakeJira.url}, logs in ${logDir}`);

    const stack: Stack = {
      apiUrl: api.base,
      fakeUrl: fakeJira.url,
      databaseUrl: pgServer.url,
      temporalAddress: temporalServer.address,
      connectionKey: CONNECTION_KEY,
      logDir,
      api,
      apis,
      fake,
      db,
      worker: workers[0]!,
      workers,
      apiProcess: apiProcesses[0]!,
      fakePid: fakeJira.child.pid!,
      get temporalPid() {
        return temporalServer.pid;
      },
      temporal,
      keys,
      async restartTemporal() {
        say('restarting the Temporal dev server (same port, same database file)');
        await temporalServer.restart();
      },
      async restartWorker({ index = 0, env = {} } = {}) {
        const w = workers[index]!;
        say(`restarting the ${w.role}${Object.keys(env).length ? ` with ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}`);
        await w.stop();
        workerEnvs[index] = { ...workerEnvs[index]!, ...env };
        await startWorker(index);
      },
      assertAlive() {
        for (const w of workers) w.assertAlive();
        for (const a of apiProcesses) a.assertAlive();
      },
      cpuParts() {
        return {
          ...Object.fromEntries(apiProcesses.map((p) => [p.role, p.exited ? undefined : p.pid])),
          ...Object.fromEntries(workers.map((w) => [w.role, w.exited ? undefined : w.pid])),
          Temporal: temporalServer.pid,
          PostgreSQL: childPidsNamed('postgres')[0],
          'fake Jira': fakeJira.child.pid,
          'bench client': process.pid,
        };
      },
      async countByState() {
        const { rows } = await db.query<{ task_state: string; n: string }>('select task_state, count(*) as n from jira_ticket_instance group by 1');
        return Object.fromEntries(rows.map((r) => [r.task_state, Number(r.n)]));
      },
      async stop() {
        say('stopping the stack');
        await cleanup();
      },
    };
    return stack;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The connection the way an operator makes it: through the API, pointing at the fake Jira. */
async function configureConnection(api: Http, key: string, jiraUrl: string): Promise<void> {
  await api.ok('PATCH', '/api/v1/connection', [{ key, name: 'Benchmark Jira (fake)', connection_type: 'jira_ticket', access: 'write' }]);
  await api.ok('PUT', `/api/v1/connection/${key}/secret`, {
    domain: jiraUrl,
    username: BENCH_JIRA_USER.username,
    api_key: BENCH_JIRA_USER.apiKey,
    project_key: PROJECT_KEY,
    issue_type: 'Task',
    summary_template: 'DSR: __REQUEST_TYPE__ request __REQUEST_ID__',
    description_template: 'Privacy request __REQUEST_ID__ submitted on __SUBMISSION_DATE__.',
    due_date_config: { type: 'fixed_days', days: 30 },
  });
}
