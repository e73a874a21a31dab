import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';
import { freePort } from '../../tools/ports.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Connection } from '@temporalio/client';
import { temporalCliExecutable } from '../../tools/temporal/servers.js';
import { searchAttributes } from '../../src/platform/temporal/search-attributes.js';
import { say, sleep } from './output.js';
import { childPidsNamed } from './proc-metrics.js';

/** The stack's own processes: a child process with its log in a file, and the Temporal dev server. */
export { freePort };

/** A process of the stack (worker, API, Temporal dev server), its output in a log file. */
export class StackProcess {
  child!: ChildProcess;
  exited: { code: number | null; signal: string | null } | null = null;

  constructor(
    readonly role: string,
    private readonly command: string,
    private readonly args: string[],
    readonly logFile: string,
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

  /** kill -9: the process gets no chance to finish anything (fault runs). Resolves once it is gone. */
  async kill(): Promise<void> {
    if (!this.child || this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGKILL');
    await gone;
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

export interface TemporalServer {
  address: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/**
 * The Temporal dev server from the cached CLI, with the search attributes registered by flag as `npm start`
 * does (through the SDK), but run here directly so that its log goes to a file: at shutdown it reports the
 * tasks it cancels as errors, which on the terminal would look like a failed benchmark. In-memory SQLite
 * unless given a file, no UI. Where the CLI is not a local binary (the SDK downloads one), the SDK starts it
 * as `npm start` does.
 */
export async function startTemporal(logFile: string, dbFile?: string): Promise<TemporalServer> {
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
