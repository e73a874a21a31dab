import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const mainPath = fileURLToPath(new URL('./main.js', import.meta.url));

export interface FakeJiraProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the fake Jira as its own process (as a real Jira would be) and waits until it listens. */
export function startFakeJiraProcess(opts: { port: number; stateFile?: string; validate?: boolean; env?: Record<string, string> }): Promise<FakeJiraProcess> {
  const child = spawn(process.execPath, [mainPath], {
    env: {
      ...process.env,
      FAKE_JIRA_PORT: String(opts.port),
      FAKE_JIRA_STATE_FILE: opts.stateFile ?? '',
      FAKE_JIRA_VALIDATE: opts.validate ? '1' : '0',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // What it says goes to our stderr as it comes; the last of it also goes into the error if it never listens.
  let said = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    said = (said + chunk.toString()).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fake Jira did not start within 20 s${said ? `; it said: ${said.trim()}` : ''}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const hint = said.trim() || (opts.port ? `is port ${opts.port} free? set FAKE_JIRA_PORT` : '');
      reject(new Error(`fake Jira exited with code ${code} before listening${hint ? `: ${hint}` : ''}`));
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        url: m[1]!,
        child,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}
