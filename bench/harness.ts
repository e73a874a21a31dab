import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import pg from 'pg';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Connection } from '@temporalio/client';
import { temporalCliExecutable } from '../tools/temporal/servers.js';
import { searchAttributes } from '../src/platform/temporal/search-attributes.js';
import { startEmbeddedPostgres } from '../tools/dev-stack/embedded-postgres.js';
import { openDatabase } from '../src/platform/db/orm.js';
import { startFakeJiraProcess, type FakeJiraProcess } from '../tools/fake-jira/process.js';
import { Keyring } from '../src/platform/keyring.js';
import { PayloadEncryptionCodec } from '../src/platform/temporal/codec.js';
import { ApiTokens } from '../src/http/tokens.js';
import type { LoggedRequest } from '../tools/fake-jira/server.js';
import { approvedRequest as sampleRequest } from '../tools/dev-stack/sample-request.js';

/**
 * The benchmark harness: a whole ticketflow stack in a fresh temp dir (embedded PostgreSQL, Temporal dev
 * server, fake Jira, and the worker and API as their own processes so that /proc can measure them), plus the
 * small tools every benchmark shares (HTTP client, pool, percentiles, process sampling, progress lines).
 */

const here = dirname(fileURLToPath(import.meta.url));
/** dist/bench → repository root */
export const repoRoot = resolve(here, '../..');
const distSrc = resolve(here, '../src');
export const resultsDir = join(repoRoot, 'bench', 'results');

// ---------------------------------------------------------------------------------------------------------
// Output

export const say = (msg: string) => process.stdout.write(`[bench] ${msg}\n`);
export const n = (v: number, digits = 0) => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const secs = (ms: number) => `${n(ms / 1000, 1)} s`;

/** Calls `line` every `ms` and prints what it returns, so a long phase is never silent. */
export function every(ms: number, line: () => string | undefined | Promise<string | undefined>): () => void {
  let busy = false;
  const t = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const text = await line();
      if (text) say(text);
    } catch (err) {
      say(`(progress check failed: ${(err as Error).message})`);
    } finally {
      busy = false;
    }
  }, ms);
  return () => clearInterval(t);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------------
// Statistics and load

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(values: number[]): LatencySummary {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return { count: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s.at(-1) ?? NaN, mean };
}

/** Runs task(0..total-1) with at most `concurrency` in flight; each lane takes the next index when it is free. */
export async function runPool(total: number, concurrency: number, task: (i: number, lane: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (l: number) => {
    // After a Ctrl-C the stack is going away: stop issuing requests rather than count a flood of failures.
    while (next < total && !interruption) await task(next++, l);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, (_, l) => lane(l)));
}

/** Largest number of timestamps (ms) inside any window of `windowMs`. */
export function maxInWindow(timestamps: number[], windowMs = 1000): number {
  const t = [...timestamps].sort((a, b) => a - b);
  let best = 0;
  for (let lo = 0, hi = 0; hi < t.length; hi++) {
    while (t[hi]! - t[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------
// HTTP: node:http with a keep-alive agent. got or fetch would do, but they cost several times the CPU per
// request, and the client shares the 2 cores with the system it measures.

export interface Reply {
  status: number;
  text: string;
  ms: number;
  headers: http.IncomingHttpHeaders;
  json<T = any>(): T;
}

export class Http {
  private readonly agent: http.Agent;
  private readonly url: URL;

  /** sent with every request (the API token) */
  headers: Record<string, string> = {};

  constructor(readonly base: string, maxSockets = 256) {
    this.url = new URL(base);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(method: string, path: string, opts: { json?: unknown; body?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Reply> {
    const body = opts.body ?? (opts.json !== undefined ? JSON.stringify(opts.json) : undefined);
    const headers: Record<string, string | number> = { accept: 'application/json', ...this.headers, ...opts.headers };
    if (body !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const started = performance.now();
    return new Promise((resolvePromise, reject) => {
      const req = http.request({ host: this.url.hostname, port: this.url.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolvePromise({
            status: res.statusCode ?? 0,
            text,
            ms: performance.now() - started,
            headers: res.headers,
            json: () => JSON.parse(text),
          });
        });
        res.on('error', reject);
      });
      req.setTimeout(opts.timeoutMs ?? 60_000, () => req.destroy(new Error(`${method} ${path}: no answer within ${opts.timeoutMs ?? 60_000} ms`)));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  get = (path: string, opts?: { timeoutMs?: number }) => this.request('GET', path, opts);
  post = (path: string, json?: unknown) => this.request('POST', path, json === undefined ? {} : { json });
  put = (path: string, json: unknown) => this.request('PUT', path, { json });
  patch = (path: string, json: unknown) => this.request('PATCH', path, { json });

  close(): void {
    this.agent.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Processes

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

export interface ProcessSample {
  at: number;
  rssMb: number;
  /** share of one core since the previous sample (200 = both cores of a 2-core machine) */
  cpuPercent: number;
}

function readCpuTicks(pid: number): number {
  // comm (field 2) may contain spaces and parentheses: the fields we want follow the last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the full line)
}

function readRssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** RSS and CPU% of a process from /proc; each sample's CPU% covers the time since the previous one. */
export function sampleProcess(pid: number) {
  let lastTicks = readCpuTicks(pid);
  let lastAt = performance.now();
  const startTicks = lastTicks;
  const startAt = lastAt;
  return {
    sample(): ProcessSample {
      const ticks = readCpuTicks(pid);
      const at = performance.now();
      const cpuPercent = ((ticks - lastTicks) / CLK_TCK / ((at - lastAt) / 1000)) * 100;
      lastTicks = ticks;
      lastAt = at;
      return { at, rssMb: readRssMb(pid), cpuPercent };
    },
    /** average CPU% since the sampler was made */
    cpuSinceStart(): number {
      return ((readCpuTicks(pid) - startTicks) / CLK_TCK / ((performance.now() - startAt) / 1000)) * 100;
    },
  };
}

/** Samples a process every `ms` in the background; stats() covers the samples taken so far. */
export function monitorProcess(pid: number, ms = 1000) {
  const sampler = sampleProcess(pid);
  const samples: ProcessSample[] = [];
  const t = setInterval(() => {
    try {
      samples.push(sampler.sample());
    } catch {
      // the process is gone; the caller notices through its own checks
    }
  }, ms);
  return {
    samples,
    stop: () => clearInterval(t),
    stats() {
      const rss = samples.map((s) => s.rssMb);
      const cpu = samples.map((s) => s.cpuPercent);
      return {
        samples: samples.length,
        rssMaxMb: Math.max(...rss),
        rssAvgMb: rss.reduce((a, b) => a + b, 0) / (rss.length || 1),
        rssLastMb: rss.at(-1) ?? NaN,
        cpuAvgPercent: cpu.reduce((a, b) => a + b, 0) / (cpu.length || 1),
        cpuMaxPercent: Math.max(...cpu),
      };
    },
  };
}

interface ProcEntry {
  ppid: number;
  comm: string;
  /** own CPU plus that of its reaped children, in clock ticks */
  ticks: number;
}

function readProcTable(): Map<number, ProcEntry> {
  const table = new Map<number, ProcEntry>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), {
        ppid: Number(f[1]),
        comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
        ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
      });
    } catch {
      // exited while we looked
    }
  }
  return table;
}

function treeTicks(table: Map<number, ProcEntry>, root: number): number {
  let ticks = 0;
  const stack = [root];
  const children = new Map<number, number[]>();
  for (const [pid, e] of table) children.set(e.ppid, [...(children.get(e.ppid) ?? []), pid]);
  while (stack.length) {
    const pid = stack.pop()!;
    ticks += table.get(pid)?.ticks ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return ticks;
}

function systemBusyTicks(): number {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = v.map(Number);
  return user + nice + system + irq + softirq + steal;
}

/**
 * CPU of every part of the stack (PostgreSQL with its backends) and of the whole machine over a phase, in %
 * of one core. "other" is what ran outside the stack and this client: on a shared machine it explains a lot.
 */
export function cpuBreakdown(stack: Stack) {
  const parts: Record<string, number | undefined> = {
    API: stack.apiProcess.pid,
    worker: stack.worker.pid,
    Temporal: stack.temporalPid,
    PostgreSQL: childPidsNamed('postgres')[0],
    'fake Jira': stack.fakePid,
    'bench client': process.pid,
  };
  const take = () => {
    const table = readProcTable();
    const { user, system } = process.cpuUsage();
    const own = ((user + system) / 1e6) * CLK_TCK;
    return {
      at: performance.now(),
      system: systemBusyTicks(),
      parts: Object.fromEntries(Object.entries(parts).map(([name, pid]) => [name, name === 'bench client' ? own : pid ? treeTicks(table, pid) : 0])),
    };
  };
  const start = take();
  return () => {
    const end = take();
    const seconds = (end.at - start.at) / 1000;
    const pct = (ticks: number) => (ticks / CLK_TCK / seconds) * 100;
    const byPart = Object.fromEntries(Object.keys(parts).map((k) => [k, pct(end.parts[k]! - start.parts[k]!)]));
    const machine = pct(end.system - start.system);
    const ours = Object.values(byPart).reduce((a, b) => a + b, 0);
    return { byPart, machine, other: Math.max(0, machine - ours) };
  };
}

/**
 * Waits (up to `maxMinutes`, with progress) until the machine is nearly idle before a benchmark starts its
 * stack: on 2 cores, another test run or build halves every figure. Returns the busy share last seen.
 */
export async function waitForQuietMachine(maxMinutes: number, maxBusyPercent = 40): Promise<{ busyPercent: number; waitedSeconds: number }> {
  const t0 = Date.now();
  for (;;) {
    const before = systemBusyTicks();
    await sleep(5000);
    const busyPercent = ((systemBusyTicks() - before) / CLK_TCK / 5) * 100;
    const waitedSeconds = (Date.now() - t0) / 1000;
    if (busyPercent <= maxBusyPercent) return { busyPercent, waitedSeconds };
    if (waitedSeconds >= maxMinutes * 60) {
      say(`the machine is still busy (${n(busyPercent)}% of one core used by other processes); measuring anyway, the figures will be lower than the product can do`);
      return { busyPercent, waitedSeconds };
    }
    say(`waiting for a quiet machine: other processes use ${n(busyPercent)}% of one core (of ${cpus().length * 100}); ${n(waitedSeconds)} of ${maxMinutes * 60} s (--quiet-wait-minutes=0 skips)`);
  }
}

/** A warning for the notes when something outside the stack took a real share of the CPU while measuring. */
export function interference(c: ReturnType<ReturnType<typeof cpuBreakdown>>, phase: string): string[] {
  return c.other > 25
    ? [`DISTURBED: other processes used ${n(c.other)}% of one core while ${phase}; throughput, latency and CPU figures understate the product (run again on a quiet machine)`]
    : [];
}

export function describeCpu(c: ReturnType<ReturnType<typeof cpuBreakdown>>): string {
  return [...Object.entries(c.byPart), ['other processes', c.other] as const].map(([k, v]) => `${k} ${n(v)}`).join(', ') + ` (machine ${n(c.machine)} of ${cpus().length * 100})`;
}

/** Direct children of this process with a given command name (the Temporal dev server is started by the SDK). */
export function childPidsNamed(comm: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && name === comm) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

export function rssMbOf(pid: number | undefined): number {
  try {
    return pid ? readRssMb(pid) : NaN;
  } catch {
    return NaN;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePromise(port));
    });
  });
}

/** Resolves within `ms` either way; teardown must not hang on a process that is already gone. */
async function within(ms: number, what: string, p: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch((e: Error) => say(`while stopping ${what}: ${e.message}`)),
    new Promise<void>((r) => (timer = setTimeout(() => (say(`${what} did not stop within ${ms / 1000} s; moving on`), r()), ms))),
  ]);
  clearTimeout(timer);
}

/** A process of the stack (worker, API, Temporal dev server), its output in a log file. */
class StackProcess {
  child!: ChildProcess;
  exited: { code: number | null; signal: string | null } | null = null;

  constructor(
    readonly role: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly logFile: string,
  ) {}

  start(env: Record<string, string> = {}): void {
    this.exited = null;
    appendFileSync(this.logFile, `\n--- ${new Date().toISOString()} starting the ${this.role} ---\n`);
    const fd = openSync(this.logFile, 'a');
    // Straight into a file: the parent never handles the log lines, so it costs the measurement nothing.
    this.child = spawn(this.command, this.args, { env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.child.once('exit', (code, signal) => (this.exited = { code, signal }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  tail(lines = 15): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  assertAlive(): void {
    if (this.exited) {
      throw new Error(`the ${this.role} process exited (code ${this.exited.code}, signal ${this.exited.signal}); last lines of ${this.logFile}:\n${this.tail()}`);
    }
  }

  async waitFor(ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      this.assertAlive();
      if (await ready().catch(() => false)) return;
      await sleep(200);
    }
    throw new Error(`the ${this.role} process was not ready within ${timeoutMs / 1000} s; last lines of ${this.logFile}:\n${this.tail()}`);
  }

  logCount(text: string): number {
    try {
      return readFileSync(this.logFile, 'utf8').split(text).length - 1;
    } catch {
      return 0;
    }
  }

  logContains(text: string): boolean {
    try {
      return readFileSync(this.logFile, 'utf8').includes(text);
    } catch {
      return false;
    }
  }

  async stop(): Promise<void> {
    if (!this.child || this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = await Promise.race([gone.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), 20_000)))]);
    clearTimeout(timer);
    if (killed) {
      say(`the ${this.role} did not stop within 20 s of SIGTERM; sending SIGKILL`);
      this.child.kill('SIGKILL');
      await gone;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Teardown on every exit path, Ctrl-C included

const cleanups = new Set<() => Promise<void>>();
let interruption: Promise<void> | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interruption) return;
    say(`${sig}: stopping the stack and removing its temp dir (a few seconds)…`);
    interruption = (async () => {
      for (const c of [...cleanups].reverse()) await c();
      process.exit(130);
    })();
  });
}

export const isInterrupted = () => interruption !== undefined;

/** Exits, unless an interruption is still tearing the stack down: then that teardown exits when it is done. */
export async function finish(code: number): Promise<never> {
  if (interruption) await interruption;
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------------------
// The stack

export interface StackOptions {
  /** names the log files under bench/results/logs */
  label: string;
  /** minutes between polls; the API puts it into each workflow's input, so both processes get it */
  pollIntervalMinutes: number;
  /** environment for both the worker and the API */
  env?: Record<string, string>;
  workerEnv?: Record<string, string>;
  apiEnv?: Record<string, string>;
  /** keep Temporal's state in a SQLite file, so the dev server can be restarted (fault runs) */
  temporalDbFile?: boolean;
}

export const CONNECTION_KEY = 'jira_bench';

export interface Stack {
  apiUrl: string;
  fakeUrl: string;
  databaseUrl: string;
  temporalAddress: string;
  connectionKey: string;
  logDir: string;
  api: Http;
  fake: FakeJiraAdmin;
  db: pg.Pool;
  worker: StackProcess;
  apiProcess: StackProcess;
  fakePid: number;
  temporalPid: number | undefined;
  /** facts about how the stack was run, for the benchmark's notes */
  notes: string[];
  /** Restarts the worker with extra environment (workflows are durable: they carry on in the new process). */
  restartWorker(extraEnv?: Record<string, string>): Promise<void>;
  /** Stops the Temporal dev server and starts it again on the same port and database file (needs temporalDbFile). */
  restartTemporal(): Promise<void>;
  assertAlive(): void;
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
  for (const f of ['worker.log', 'api.log', 'temporal.log']) rmSync(join(logDir, f), { force: true });
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
      cleanups.delete(cleanup);
    })());
  cleanups.add(cleanup);
  onStop('temp dir', async () => rmSync(dir, { recursive: true, force: true }));

  try {
    say(`starting PostgreSQL, the Temporal dev server and the fake Jira (temp dir ${dir})`);
    const [pgServer, temporal, fakeJira] = await Promise.all([
      freePort().then((port) => startEmbeddedPostgres(join(dir, 'pg'), port, { persistent: false })),
      startTemporal(join(logDir, 'temporal.log'), opts.temporalDbFile ? join(dir, 'temporal.db') : undefined),
      freePort().then((port) => startFakeJiraProcess({ port })),
    ]);
    onStop('PostgreSQL', () => pgServer.stop());
    onStop('Temporal dev server', () => temporal.stop());
    onStop('fake Jira', () => fakeJira.stop());
    const temporalPid = temporal.pid;

    // Migrate once here, so the worker and the API do not race to create the schema; and make the API token.
    const orm = await openDatabase(pgServer.url, { poolMax: 1 });
    const { token } = await new ApiTokens(orm).create('bench', ['admin']);
    await orm.close();
    const db = new pg.Pool({ connectionString: pgServer.url, max: 2 });
    onStop('database pool', () => db.end());

    const apiPort = await freePort();
    const baseEnv: Record<string, string> = {
      DATABASE_URL: pgServer.url,
      TEMPORAL_ADDRESS: temporal.address,
      SECRET_KEYS: Keyring.generateSpec('bench'),
      PAYLOAD_KEYS: PayloadEncryptionCodec.generateSpec('bench'),
      // Metrics are not what a benchmark measures; and a fixed port could collide with a running npm start.
      WORKER_METRICS_PORT: '0',
      // Setting up thousands of tickets is not what is measured: no budget unless a benchmark sets one.
      JIRA_RATE_LIMIT_PER_SECOND: '1000',
      JIRA_POLLING_INTERVAL_MINUTES: String(opts.pollIntervalMinutes),
      LOG_LEVEL: 'info',
      ...opts.env,
    };
    const notes: string[] = [];
    const worker = new StackProcess('worker', process.execPath, [join(distSrc, 'worker.js')], join(logDir, 'worker.log'));
    const apiProcess = new StackProcess('API', process.execPath, [join(distSrc, 'api/main.js')], join(logDir, 'api.log'));
    onStop('worker', () => worker.stop());
    onStop('API', () => apiProcess.stop());
    let workerEnv = { ...baseEnv, ...opts.workerEnv };
    let workerStarts = 0;
    const startWorker = async () => {
      workerStarts += 1;
      const n = workerStarts;
      worker.start(workerEnv);
      // The worker bundles its workflow code at start (webpack): several seconds of CPU. The log file is
      // appended to, so this start is ready when the n-th "worker running" line appears.
      await worker.waitFor(async () => worker.logCount('"msg":"worker running"') >= n, 120_000);
    };
    apiProcess.start({ ...baseEnv, PORT: String(apiPort), ...opts.apiEnv });
    const api = new Http(`http://127.0.0.1:${apiPort}`);
    api.headers.authorization = `Bearer ${token}`;
    onStop('HTTP agent', async () => api.close());
    say('starting the API and the worker (the worker bundles its workflows first)');
    await Promise.all([apiProcess.waitFor(async () => (await api.get('/readyz')).status === 200, 60_000), startWorker()]);

    const fake = new FakeJiraAdmin(fakeJira);
    onStop('fake admin agent', async () => fake.http.close());
    await configureConnection(api, CONNECTION_KEY, fakeJira.url);
    say(`stack ready in ${secs(Date.now() - started)}: API ${api.base}, fake Jira ${fakeJira.url}, logs in ${logDir}`);

    const stack: Stack = {
      apiUrl: api.base,
      fakeUrl: fakeJira.url,
      databaseUrl: pgServer.url,
      temporalAddress: temporal.address,
      connectionKey: CONNECTION_KEY,
      logDir,
      api,
      fake,
      db,
      worker,
      apiProcess,
      fakePid: fakeJira.child.pid!,
      temporalPid,
      notes,
      async restartTemporal() {
        say('restarting the Temporal dev server (same port, same database file)');
        await temporal.restart();
      },
      async restartWorker(extraEnv = {}) {
        say(`restarting the worker with ${Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`).join(' ') || 'the same environment'}`);
        await worker.stop();
        workerEnv = { ...workerEnv, ...extraEnv };
        await startWorker();
      },
      assertAlive() {
        worker.assertAlive();
        apiProcess.assertAlive();
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

/**
 * The Temporal dev server from the cached CLI, with the search attributes registered by flag as `npm start`
 * does (through the SDK), but run here directly so that its log goes to a file: at shutdown it reports the
 * tasks it cancels as errors, which on the terminal would look like a failed benchmark. In-memory SQLite,
 * no UI. Where the CLI is not a local binary (the SDK downloads one), the SDK starts it as `npm start` does.
 */
async function startTemporal(logFile: string, dbFile?: string): Promise<{ address: string; pid: number | undefined; stop(): Promise<void>; restart(): Promise<void> }> {
  const executable = await temporalCliExecutable();
  if (executable.type !== 'existing-path') {
    const env = await TestWorkflowEnvironment.createLocal({ server: { executable, searchAttributes, ui: false, dbFilename: dbFile } });
    return {
      address: env.address,
      pid: childPidsNamed('temporal')[0],
      stop: () => env.teardown(),
      restart: () => Promise.reject(new Error('restarting needs the cached Temporal CLI')),
    };
  }
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const proc = new StackProcess('Temporal dev server', executable.path, [
    'server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--namespace', 'default',
    '--log-format', 'pretty', '--log-level', 'warn', '--dynamic-config-value', 'frontend.enableServerVersionCheck=false',
    ...searchAttributes.flatMap((a) => ['--search-attribute', `${a.name}=${a.type.charAt(0)}${a.type.slice(1).toLowerCase()}`]),
    ...(dbFile ? ['--db-filename', dbFile] : []),
  ], logFile);
  const ready = () => proc.waitFor(async () => {
    const connection = await Connection.connect({ address, connectTimeout: 1000 });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  }, 60_000);
  proc.start();
  await ready();
  return {
    address,
    get pid() {
      return proc.pid;
    },
    stop: () => proc.stop(),
    async restart() {
      await proc.stop();
      proc.start();
      await ready();
    },
  };
}

/** The connection the way an operator makes it: through the API, pointing at the fake Jira. */
async function configureConnection(api: Http, key: string, jiraUrl: string): Promise<void> {
  const a = await api.patch('/api/v1/connection', [{ key, name: 'Benchmark Jira (fake)', connection_type: 'jira_ticket', access: 'write' }]);
  if (a.status !== 200) throw new Error(`PATCH /api/v1/connection answered ${a.status}: ${a.text}`);
  const b = await api.put(`/api/v1/connection/${key}/secret`, {
    domain: jiraUrl,
    username: 'bench@example.com',
    api_key: 'bench-token',
    project_key: 'PRIV',
    issue_type: 'Task',
    summary_template: 'DSR: __REQUEST_TYPE__ request __REQUEST_ID__',
    description_template: 'Privacy request __REQUEST_ID__ submitted on __SUBMISSION_DATE__.',
    due_date_config: { type: 'fixed_days', days: 30 },
  });
  if (b.status !== 200) throw new Error(`PUT /api/v1/connection/${key}/secret answered ${b.status}: ${b.text}`);
}

// ---------------------------------------------------------------------------------------------------------
// The fake Jira's admin API, including the counters being added in parallel (absent ones answer 404)

export interface FakeStats {
  total: number;
  byEndpoint: Record<string, number>;
  maxPerSecond: number;
  rejected429: number;
  since: string;
}

export class FakeJiraAdmin {
  readonly http: Http;
  private lastSeq = 0;

  constructor(readonly proc: FakeJiraProcess) {
    this.http = new Http(proc.url, 16);
  }

  /** GET /_fake/stats, or null when this fake Jira has no counters yet. */
  async stats(): Promise<FakeStats | null> {
    const r = await this.http.get('/_fake/stats');
    if (r.status === 404) return null;
    if (r.status !== 200) throw new Error(`GET /_fake/stats answered ${r.status}: ${r.text}`);
    return r.json<FakeStats>();
  }

  async resetStats(): Promise<void> {
    const r = await this.http.post('/_fake/stats/reset');
    if (r.status >= 300) throw new Error(`POST /_fake/stats/reset answered ${r.status}: ${r.text}`);
  }

  /** Turns on the fake's server-side budget; false when this fake Jira cannot. */
  async setRateLimit(perSecond: number | null): Promise<boolean> {
    const r = await this.http.post('/_fake/rate-limit', { perSecond });
    if (r.status === 404) return false;
    if (r.status >= 300) throw new Error(`POST /_fake/rate-limit answered ${r.status}: ${r.text}`);
    return true;
  }

  async transition(key: string, status: string, webhook?: boolean): Promise<Reply> {
    return this.http.post(`/_fake/issues/${key}/transition`, webhook === undefined ? { status } : { status, webhook });
  }

  /** Request-log entries since the previous call (the fake keeps the last 40-50 thousand). */
  async newRequests(): Promise<LoggedRequest[]> {
    const r = await this.http.get(`/_fake/requests?since=${this.lastSeq}`);
    if (r.status !== 200) throw new Error(`GET /_fake/requests answered ${r.status}`);
    const entries = r.json<LoggedRequest[]>();
    if (entries.length) this.lastSeq = entries.at(-1)!.seq;
    return entries;
  }
}

/** "GET /rest/api/3/issue/PRIV-12" → "GET /rest/api/3/issue/{issueIdOrKey}", the form the fake's counters use. */
export function endpointOf(r: Pick<LoggedRequest, 'method' | 'path'>): string {
  const segs = r.path.split('/');
  const path = segs
    .map((seg, i) => {
      const prev = segs[i - 1];
      if (prev === 'issue' && !['bulkfetch', 'createmeta', 'picker'].includes(seg)) return '{issueIdOrKey}';
      if (prev === 'comment' && seg) return '{id}';
      return seg;
    })
    .join('/');
  return `${r.method} ${path}`;
}

/** Ticket keys (or ids) a Jira read covers: one GET, a bulk fetch, or a JQL search by key. */
export function keysRead(r: LoggedRequest): string[] {
  const body = (r.body ?? {}) as { issueIdsOrKeys?: unknown; jql?: unknown };
  if (r.method === 'GET') {
    const m = /\/issue\/([^/]+)$/.exec(r.path);
    return m ? [decodeURIComponent(m[1]!)] : [];
  }
  if (r.path.endsWith('/issue/bulkfetch') && Array.isArray(body.issueIdsOrKeys)) return body.issueIdsOrKeys.map(String);
  if (/\/search(\/jql)?$/.test(r.path) && typeof body.jql === 'string') {
    const m = /\b(?:key|issue)\s+in\s*\(([^)]*)\)/i.exec(body.jql);
    if (m) return m[1]!.split(',').map((k) => k.trim().replace(/^"|"$/g, ''));
  }
  return [];
}

// ---------------------------------------------------------------------------------------------------------
// Set-up shared by the benchmarks

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

/** Approves `count` new privacy requests through the API, `concurrency` at a time, printing progress. */
export async function approveMany(stack: Stack, o: { count: number; concurrency: number; prefix: string; quiet?: boolean }): Promise<ApprovalRun> {
  const latenciesMs: number[] = [];
  const sent: ApprovalRun['slowest'] = [];
  const failures: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  const stopProgress = o.quiet
    ? () => {}
    : every(2000, () => {
        stack.assertAlive();
        const done = ok + failed;
        const rate = done / ((performance.now() - t0) / 1000);
        return `approved ${n(ok)} of ${n(o.count)} (${n(rate)}/s)${failed ? `, ${n(failed)} failed` : ''}`;
      });
  try {
    await runPool(o.count, o.concurrency, async (i) => {
      try {
        const sentAtMs = performance.now() - t0;
        const r = await stack.api.post('/api/v1/privacy-request', approvedRequest(`${o.prefix}-${i}`));
        latenciesMs.push(r.ms);
        sent.push({ sentAtMs, ms: r.ms });
        if (r.status === 201) ok++;
        else {
          failed++;
          failures[String(r.status)] = (failures[String(r.status)] ?? 0) + 1;
          if (failed <= 3) say(`approval ${o.prefix}-${i} answered ${r.status}: ${r.text.slice(0, 300)}`);
        }
      } catch (err) {
        failed++;
        const key = (err as Error).message.slice(0, 80);
        failures[key] = (failures[key] ?? 0) + 1;
      }
    });
  } finally {
    stopProgress();
  }
  const seconds = (performance.now() - t0) / 1000;
  const slowest = sent.sort((a, b) => b.ms - a.ms).slice(0, 20).map((x) => ({ sentAtMs: Math.round(x.sentAtMs), ms: Math.round(x.ms) }));
  return { ok, failed, failures, latenciesMs, slowest, seconds, perSecond: ok / seconds };
}

/**
 * Waits until no instance of these requests waits for its workflow to be started (approvals commit their
 * instances and the API starts the workflows right after) and returns when that was, to 50 ms.
 */
export async function waitForStarts(stack: Stack, prefix: string, timeoutMs = 10 * 60_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    stack.assertAlive();
    const { rows } = await stack.db.query<{ n: string }>('select count(*) as n from jira_ticket_instance where start_pending and privacy_request_id like $1', [`${prefix}%`]);
    if (Number(rows[0]!.n) === 0) return performance.now();
    if (performance.now() > deadline) throw new Error(`${rows[0]!.n} workflows still not started after ${timeoutMs / 1000} s`);
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

/** Approves `count` requests and waits until each has its ticket open in the fake Jira. */
export async function openTickets(stack: Stack, o: { count: number; concurrency: number; prefix: string; timeoutMs?: number }) {
  say(`opening ${n(o.count)} tickets: approvals through the API at concurrency ${o.concurrency}`);
  const t0 = performance.now();
  const approvals = await approveMany(stack, o);
  if (interruption) await interruption;
  if (approvals.failed) say(`${n(approvals.failed)} approvals failed: ${JSON.stringify(approvals.failures)}`);
  say(`all approvals answered in ${n(approvals.seconds, 1)} s (${n(approvals.perSecond)}/s); waiting for the tickets to be open`);
  const opened = await waitForOpen(stack, approvals.ok, { timeoutMs: o.timeoutMs ?? 45 * 60_000, since: t0 });
  say(`${n(opened.open)} tickets open ${n(opened.seconds, 1)} s after the first approval (${n(opened.open / opened.seconds)}/s)`);
  return { approvals, opened };
}

// ---------------------------------------------------------------------------------------------------------
// What the product (this branch's build) offers: some benchmarks need interfaces still being written

/** Whether the built product's configuration reads an environment variable (unknown ones are silently ignored). */
export function productReadsEnv(name: string): boolean {
  const config = join(distSrc, 'config', 'index.js');
  return existsSync(config) && readFileSync(config, 'utf8').includes(name);
}

export function machine() {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    date: new Date().toISOString(),
    /** other work on the machine skews every figure: the 1-minute load average when the benchmark started */
    loadAverageAtStart: Number(loadavg()[0]!.toFixed(2)),
  };
}

const harnessNotes = new Set<string>();
/** Notes the harness made about how it ran the stack since the last call (one benchmark's worth). */
export function takeHarnessNotes(): string[] {
  const notes = [...harnessNotes];
  harnessNotes.clear();
  return notes;
}

/** What this build's fake Jira offers, asked of a throwaway instance before any expensive set-up. */
export async function probeFakeJira(): Promise<{ stats: boolean; rateLimit: boolean }> {
  const proc = await startFakeJiraProcess({ port: await freePort() });
  const admin = new FakeJiraAdmin(proc);
  try {
    const stats = (await admin.stats()) !== null;
    const rateLimit = await admin.setRateLimit(1000).catch(() => true); // a refusal other than 404 still means the route exists
    return { stats, rateLimit };
  } finally {
    admin.http.close();
    await proc.stop();
  }
}
