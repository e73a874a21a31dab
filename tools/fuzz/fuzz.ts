import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, elapsed, runWithProgress, say, temporalCliExecutable } from '../temporal/servers.js';
import { freePort } from '../ports.js';

/**
 * `npm run fuzz`: schemathesis against the whole stack. Installs a pinned schemathesis into a venv in the cache
 * directory (once), starts `npm start`'s stack on free ports with a fresh data directory, runs every check in
 * positive and negative mode against /openapi.json with the stack's admin token, stops the stack and sums up.
 * Exits 1 when any answer was a 5xx, any error answer was not application/problem+json, a request got no
 * answer in time (a hang is a bug too), or something tried to reach a host other than loopback. Not part of
 * `npm test`: it takes minutes and its inputs are random.
 *
 * Knobs: FUZZ_MAX_EXAMPLES (per operation, default 50: about 3 minutes), FUZZ_SEED, FUZZ_WORKERS (default 1),
 * FUZZ_REPORT_DIR (default fuzz-report/), FUZZ_KEEP_DATA=1 keeps the temporary data directory,
 * FUZZ_PYTHON (default python3, needs 3.11+), TICKETFLOW_CACHE_DIR moves the venv.
 */
export const SCHEMATHESIS_VERSION = '4.32.5';
/** What the fuzzed connections authenticate with at the fake Jira (see the hooks). */
const FAKE_JIRA_TOKEN = 'fuzz-jira-token';
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Set by Ctrl-C (or SIGTERM): the readiness wait gives up, a running schemathesis is stopped; the stack is stopped either way. */
let interrupted = false;
let fuzzer: ChildProcess | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    say('interrupted: stopping schemathesis and the stack');
    fuzzer?.kill('SIGINT');
  });
}

/**
 * The schemathesis side, as a hooks module:
 * - before_call: PUT /connection/{key}/secret may set any `domain`, and the API would then call that host for
 *   every Jira-backed route of the connection. Fuzzed hosts must never be contacted, so every domain is
 *   rewritten to the stack's fake Jira (on loopback) just before the request is sent. The `api_key` becomes
 *   the token the fake Jira accepts (it takes any Basic credentials, but a personal access token only if it is
 *   FAKE_JIRA_PAT): with a fuzzed one Jira answers 401 and the API, by design, 502, a fault of the set-up.
 *   Schemathesis re-validates a case after this hook, so the change does not pass for a negative case.
 * - after_call: one JSON line per response (operation, status, content type), for the summary's counts of
 *   5xx and of error answers that are not problem+json, over every request rather than unique failures; an
 *   answer that tells of a DNS lookup failing is marked, as a tripwire for calls meant for another host.
 * - error_is_problem_json: a check, so such answers show up among schemathesis' failures with a curl line.
 */
const HOOKS = String.raw`
import json, os, re, threading
import schemathesis

RESPONSES = os.environ["TF_FUZZ_RESPONSES"]
JIRA_URL = os.environ["TF_FUZZ_JIRA_URL"]
JIRA_TOKEN = os.environ["TF_FUZZ_JIRA_TOKEN"]
_lock = threading.Lock()
# The stack only ever resolves loopback names: a DNS failure in an answer means something tried another host.
OUTSIDE = re.compile(r"ENOTFOUND|EAI_AGAIN|getaddrinfo")


def _content_type(response):
    value = response.headers.get("content-type") or response.headers.get("Content-Type") or ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value)


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if case.operation.path != "/api/v1/connection/{key}/secret" or not isinstance(body, dict):
        return
    if isinstance(body.get("domain"), str):
        body["domain"] = JIRA_URL
    if isinstance(body.get("api_key"), str):
        body["api_key"] = JIRA_TOKEN


@schemathesis.hook
def after_call(context, case, response):
    record = {"op": f"{case.method.upper()} {case.operation.path}", "status": response.status_code, "type": _content_type(response)}
    if response.content and OUTSIDE.search(response.text_lossy()):
        record["outside"] = True
    line = json.dumps(record)
    with _lock, open(RESPONSES, "a") as f:
        f.write(line + "\n")


@schemathesis.check
def error_is_problem_json(ctx, response, case):
    """Every 4xx and 5xx answer is application/problem+json (RFC 9457)."""
    if response.status_code >= 400 and not _content_type(response).lower().startswith("application/problem+json"):
        raise AssertionError(f"error answer {response.status_code} has content-type {_content_type(response)!r}, not application/problem+json")
`;

function python(): string {
  const py = process.env.FUZZ_PYTHON ?? 'python3';
  const probe = spawnSync(py, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2]); sys.exit(0 if sys.version_info >= (3, 11) else 1)'], { encoding: 'utf8' });
  if (probe.error) throw new Error(`${py} was not found: install Python 3.11+ or point FUZZ_PYTHON at one`);
  if (probe.status !== 0) throw new Error(`schemathesis ${SCHEMATHESIS_VERSION} needs Python 3.11+, ${py} is ${probe.stdout.trim()}: point FUZZ_PYTHON at a newer one`);
  return py;
}

/** The `st` executable of a venv holding schemathesis at SCHEMATHESIS_VERSION, made once per machine. */
async function schemathesis(): Promise<string> {
  const venv = join(cacheDir(), `schemathesis-${SCHEMATHESIS_VERSION}`);
  const st = join(venv, 'bin', 'st');
  const marker = join(venv, '.installed');
  if (existsSync(marker) && existsSync(st)) {
    say(`schemathesis ${SCHEMATHESIS_VERSION}: using the venv in ${venv}`);
    return st;
  }
  // A venv is not relocatable, so it is built in place; the marker is written last, and a venv without it is redone.
  rmSync(venv, { recursive: true, force: true });
  mkdirSync(dirname(venv), { recursive: true });
  const py = python();
  say(`schemathesis ${SCHEMATHESIS_VERSION}: creating a Python venv in ${venv} (once per machine)`);
  await runWithProgress('venv', py, ['-m', 'venv', venv], process.env);
  say(`schemathesis ${SCHEMATHESIS_VERSION}: pip install from PyPI (about a minute)`);
  await runWithProgress('pip install schemathesis', join(venv, 'bin', 'pip'), ['install', '--disable-pip-version-check', '--no-input', `schemathesis==${SCHEMATHESIS_VERSION}`], process.env);
  const version = spawnSync(st, ['--version'], { encoding: 'utf8' });
  if (!version.stdout?.includes(SCHEMATHESIS_VERSION)) throw new Error(`the venv's st reports ${JSON.stringify(version.stdout ?? version.error?.message)}, not ${SCHEMATHESIS_VERSION}`);
  writeFileSync(marker, `${SCHEMATHESIS_VERSION}\n`);
  return st;
}

interface Stack {
  child: ChildProcess;
  apiUrl: string;
  fakeJiraUrl: string;
  dataDir: string;
  log: string;
  stop(): Promise<void>;
}

async function startStack(reportDir: string): Promise<Stack> {
  // The first run on a machine builds the Temporal CLI: do it here, with its own progress, not inside the readiness wait.
  await temporalCliExecutable();
  const dataDir = mkdtempSync(join(tmpdir(), 'ticketflow-fuzz-'));
  const ports = { PORT: await freePort(), TEMPORAL_PORT: await freePort(), TEMPORAL_UI_PORT: await freePort(), EMBEDDED_POSTGRES_PORT: await freePort(), FAKE_JIRA_PORT: await freePort() };
  const log = join(reportDir, 'stack.log');
  const out = createWriteStream(log);
  await new Promise((r) => out.once('open', r));
  say(`starting the stack (data in ${dataDir}, log in ${log}; ports ${Object.entries(ports).map(([k, v]) => `${k}=${v}`).join(' ')})`);
  const fakeJiraUrl = `http://127.0.0.1:${ports.FAKE_JIRA_PORT}`;
  // Everything the stack talks to is its own: no outside database, cluster, upstream or OAuth app from this shell's
  // environment, and Atlassian's gateway and OAuth server (used by the scoped_api_token and oauth2 auth methods,
  // which the fuzzer may set) are the fake Jira too, so a fuzzed connection can never reach a real host.
  const env = { ...process.env };
  for (const name of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'UPSTREAM_CALLBACK_URL', 'UPSTREAM_CALLBACK_SECRET', 'JIRA_OAUTH_CLIENT_ID', 'JIRA_OAUTH_CLIENT_SECRET', 'JIRA_OAUTH_REDIRECT_URI', 'JIRA_HTTP_HOST_ALLOWLIST', 'WEBHOOK_BASE_URL']) {
    delete env[name];
  }
  const child = spawn(process.execPath, [join(repoRoot, 'dist/tools/dev-stack/stack.js')], {
    cwd: repoRoot,
    // Its own process group: a Ctrl-C in the terminal reaches this script only, which then stops the stack in order.
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      ...env,
      DATA_DIR: dataDir,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      // No worker metrics server: its fixed port would collide with another stack's.
      WORKER_METRICS_PORT: '0',
      FAKE_JIRA: 'on',
      FAKE_JIRA_PAT: FAKE_JIRA_TOKEN,
      JIRA_API_GATEWAY_URL: fakeJiraUrl,
      JIRA_OAUTH_AUTH_URL: fakeJiraUrl,
    },
  });
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const stop = async () => {
    if (exited !== undefined) return;
    say('stopping the stack (SIGINT)');
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGINT');
    const timer = setTimeout(() => {
      say('the stack did not stop within 60 s: killing its process group');
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, 60_000);
    await gone;
    clearTimeout(timer);
  };
  const apiUrl = `http://localhost:${ports.PORT}`;
  const started = Date.now();
  let lastSaid = started;
  for (;;) {
    if (interrupted) {
      await stop();
      throw new Error('interrupted while waiting for the stack');
    }
    if (exited !== undefined) {
      const tail = readFileSync(log, 'utf8').split('\n').slice(-30).join('\n');
      throw new Error(`the stack exited (code ${exited}) before it was ready; the end of ${log}:\n${tail}`);
    }
    const ready = await fetch(`${apiUrl}/readyz`).then((r) => r.ok, () => false);
    if (ready && existsSync(join(dataDir, 'api-token'))) break;
    if (Date.now() - started > 300_000) {
      await stop();
      throw new Error(`the stack was not ready within 5 minutes; see ${log}`);
    }
    if (Date.now() - lastSaid >= 15_000) {
      say(`waiting for ${apiUrl}/readyz: ${elapsed(started)} elapsed`);
      lastSaid = Date.now();
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  say(`the stack is ready after ${elapsed(started)}`);
  return { child, apiUrl, fakeJiraUrl, dataDir, log, stop };
}

interface Report {
  schemathesis_version?: string;
  seed?: number | string;
  running_time?: number;
  operations?: { total: number; selected: number; tested: number; errored: number; skipped: number };
  test_cases?: { generated: number; with_failures: number; unique_failures: number; errored: number };
  failures?: Array<{ code: string; title: string; count: number; operations: string[] }>;
  errors?: Array<{ title: string; count: number }>;
}

interface Answer {
  op: string;
  status: number;
  type: string;
  outside?: boolean;
}

function countBy<T>(items: T[], key: (t: T) => string): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

async function main(): Promise<number> {
  const reportDir = resolve(process.env.FUZZ_REPORT_DIR ?? join(repoRoot, 'fuzz-report'));
  rmSync(reportDir, { recursive: true, force: true });
  mkdirSync(reportDir, { recursive: true });
  const st = await schemathesis();
  const stack = await startStack(reportDir);
  const responses = join(reportDir, 'responses.jsonl');
  let stCode: number | null = null;
  const started = Date.now();
  try {
    if (interrupted) return 130;
    stCode = await runSchemathesis(st, stack, reportDir, responses);
  } finally {
    await stack.stop();
    if (process.env.FUZZ_KEEP_DATA === '1') say(`data kept in ${stack.dataDir}`);
    else rmSync(stack.dataDir, { recursive: true, force: true });
  }
  if (interrupted) return 130;
  return summarise(stack, reportDir, responses, stCode, Math.round((Date.now() - started) / 600) / 100);
}

async function runSchemathesis(st: string, stack: Stack, reportDir: string, responses: string): Promise<number | null> {
  const hooksDir = join(stack.dataDir, 'fuzz-hooks');
  mkdirSync(hooksDir);
  writeFileSync(join(hooksDir, 'tf_fuzz_hooks.py'), HOOKS);
  writeFileSync(responses, '');
  const token = readFileSync(join(stack.dataDir, 'api-token'), 'utf8').trim();
  const maxExamples = process.env.FUZZ_MAX_EXAMPLES ?? '50';
  const args = [
    'run', `${stack.apiUrl}/openapi.json`,
    '--header', `Authorization: Bearer ${token}`,
    '--checks', 'all',
    '--mode', 'all',
    '--max-examples', maxExamples,
    ...(process.env.FUZZ_SEED ? ['--seed', process.env.FUZZ_SEED] : []),
    // One worker: Python 3.11's ast is not thread-safe, and with two, hypothesis now and then dies in it
    // ("AST constructor recursion depth mismatch", CPython gh-106905); one also makes FUZZ_SEED reproduce a run.
    '--workers', process.env.FUZZ_WORKERS ?? '1',
    '--request-timeout', '30',
    // Jira's deliveries must be signed (X-Hub-Signature or an OAuth app's JWT): fuzzed ones all get 400/401.
    '--exclude-path-regex', '^/webhooks/',
    '--report', 'junit,json',
    '--report-dir', reportDir,
    '--report-junit-path', join(reportDir, 'junit.xml'),
    '--report-json-path', join(reportDir, 'schemathesis.json'),
    '--no-color',
  ];
  const shown = args.map((a) => (a.startsWith('Authorization:') ? "'Authorization: Bearer $TOKEN'" : a)).join(' ');
  say(`running: st ${shown}`);
  writeFileSync(join(reportDir, 'command.txt'), `st ${shown}\n`);
  const output = createWriteStream(join(reportDir, 'schemathesis.txt'));
  try {
    fuzzer = spawn(st, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONPATH: hooksDir, SCHEMATHESIS_HOOKS: 'tf_fuzz_hooks', TF_FUZZ_RESPONSES: responses, TF_FUZZ_JIRA_URL: stack.fakeJiraUrl, TF_FUZZ_JIRA_TOKEN: FAKE_JIRA_TOKEN },
    });
    for (const stream of [fuzzer.stdout!, fuzzer.stderr!]) {
      stream.on('data', (chunk: Buffer) => {
        process.stdout.write(chunk);
        output.write(chunk);
      });
    }
    return await new Promise<number | null>((r) =>
      fuzzer!.once('exit', (code, signal) => {
        if (signal) say(`schemathesis was ended by ${signal}`);
        r(code);
      }),
    );
  } finally {
    output.end();
  }
}

function summarise(stack: Stack, reportDir: string, responses: string, stCode: number | null, minutes: number): number {
  const reportFile = join(reportDir, 'schemathesis.json');
  if (!existsSync(reportFile) || readFileSync(reportFile, 'utf8').trim() === '') {
    say(`schemathesis exited with ${stCode} and wrote no report; see its output above`);
    return 2;
  }
  const raw = readFileSync(reportFile, 'utf8');
  const report = JSON.parse(raw) as Report;
  // The seed is a 128-bit integer: JSON.parse would round it.
  report.seed = /"seed":\s*(\d+)/.exec(raw)?.[1] ?? report.seed;
  const answers = readFileSync(responses, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Answer);
  const serverErrors = answers.filter((a) => a.status >= 500);
  const notProblem = answers.filter((a) => a.status >= 400 && !a.type.toLowerCase().startsWith('application/problem+json'));
  const networkErrors = (report.errors ?? []).filter((e) => /network|timed? ?out/i.test(e.title)).reduce((n, e) => n + e.count, 0);
  // Tripwire: the stack resolves only loopback names, so any DNS failure means a call meant for another host.
  const outside = answers.filter((a) => a.outside).length + (readFileSync(stack.log, 'utf8').match(/ENOTFOUND|EAI_AGAIN|getaddrinfo/g)?.length ?? 0);
  const summary = {
    date: new Date().toISOString(),
    schemathesis: report.schemathesis_version,
    seed: report.seed,
    minutes,
    operations: report.operations,
    test_cases: report.test_cases,
    requests: answers.length,
    by_status: Object.fromEntries(countBy(answers, (a) => String(a.status))),
    failures_by_check: (report.failures ?? []).map((f) => ({ check: `${f.code} ${f.title}`, count: f.count })),
    errors: report.errors ?? [],
    server_errors: serverErrors.length,
    server_errors_by_operation: Object.fromEntries(countBy(serverErrors, (a) => `${a.status} ${a.op}`)),
    not_problem_json: notProblem.length,
    not_problem_json_by_operation: Object.fromEntries(countBy(notProblem, (a) => `${a.status} ${a.op} (${a.type || 'no content-type'})`)),
    network_errors: networkErrors,
    outside_host_attempts: outside,
  };
  writeFileSync(join(reportDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);

  const lines = [
    '',
    '──── fuzz summary ────',
    `schemathesis ${summary.schemathesis}, seed ${summary.seed}, ${summary.minutes} min`,
    `operations tested: ${report.operations?.tested ?? '?'} of ${report.operations?.total ?? '?'} (webhooks excluded)`,
    `test cases: ${report.test_cases?.generated ?? '?'} generated; ${answers.length} requests sent; by status: ${countBy(answers, (a) => String(a.status)).map(([s, n]) => `${s}×${n}`).join(' ')}`,
    `failures by check (unique): ${summary.failures_by_check.length ? '' : 'none'}`,
    ...summary.failures_by_check.map((f) => `  ${f.check}: ${f.count}`),
    `errors: ${summary.errors.length ? summary.errors.map((e) => `${e.title} ×${e.count}`).join(', ') : 'none'}`,
    `5xx answers: ${serverErrors.length}`,
    ...countBy(serverErrors, (a) => `${a.status} ${a.op}`).map(([k, n]) => `  ${k}: ${n}`),
    `error answers not application/problem+json: ${notProblem.length}`,
    ...countBy(notProblem, (a) => `${a.status} ${a.op} (${a.type || 'no content-type'})`).map(([k, n]) => `  ${k}: ${n}`),
    `requests without an answer within 30 s: ${networkErrors}`,
    `attempts to reach a host other than loopback (DNS failures in answers or the stack log): ${outside}`,
    `reports: ${reportDir} (junit.xml, schemathesis.json, schemathesis.txt, summary.json, responses.jsonl, stack.log)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const bad = serverErrors.length + notProblem.length + networkErrors + outside;
  if (bad) say(`FAILED: ${serverErrors.length} 5xx, ${notProblem.length} non-problem+json errors, ${networkErrors} requests without an answer in time, ${outside} attempts to reach another host`);
  else say('clean: no 5xx, every error answer is problem+json, every request answered, no other host contacted');
  return bad ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    say(`fuzz: ${err.message}`);
    process.exit(2);
  },
);
