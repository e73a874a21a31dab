import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EphemeralServerExecutable } from '@temporalio/testing';

/**
 * Temporal's test helpers download their servers from the internet. Where that is impossible, we build the
 * CLI (dev server + UI) from the Go module proxy and assemble the Java time-skipping test server from Maven
 * Central, once, into a cache directory outside the repository. Where neither toolchain exists, we fall back
 * to the SDK's own download.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function cacheDir(): string {
  return process.env.TICKETFLOW_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ticketflow');
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export function say(msg: string): void {
  process.stderr.write(`[ticketflow] ${msg}\n`);
}

export function elapsed(since: number): string {
  const s = Math.round((Date.now() - since) / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Runs a long command, printing a progress line at most every 15 s so the terminal is never silent. */
export function runWithProgress(what: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, countLine?: RegExp, expectedCount?: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    let counted = 0;
    let tail = '';
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      if (countLine) counted += text.split('\n').filter((l) => countLine.test(l)).length;
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setInterval(() => {
      say(`${what}: still working, ${elapsed(started)} elapsed${countLine ? `, ${counted} of about ${expectedCount ?? '?'} packages done` : ''}`);
    }, 15_000);
    child.on('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearInterval(timer);
      if (code === 0) {
        say(`${what}: done in ${elapsed(started)}`);
        resolvePromise();
      } else {
        reject(new Error(`${what} failed (exit ${code}). Last output:\n${tail}`));
      }
    });
  });
}

/** The dev server (and UI) executable: TEMPORAL_CLI_PATH, else the cached build, else a fresh build, else the SDK download. */
export async function temporalCliExecutable(): Promise<EphemeralServerExecutable> {
  const override = process.env.TEMPORAL_CLI_PATH;
  if (override) {
    if (!existsSync(override)) throw new Error(`TEMPORAL_CLI_PATH points to ${override}, which does not exist; unset it or fix the path.`);
    return { type: 'existing-path', path: override };
  }
  const binDir = join(cacheDir(), `temporal-cli-${TEMPORAL_CLI_VERSION}`);
  const bin = join(binDir, 'temporal');
  if (existsSync(bin)) return { type: 'existing-path', path: bin };
  if (!has('go')) {
    say('Go is not installed: falling back to the Temporal SDK downloading its dev server (needs internet).');
    return { type: 'cached-download', downloadDir: join(cacheDir(), 'sdk-downloads') };
  }
  // Build into a scratch directory and rename, so an interrupted build never leaves a half-written binary behind.
  const scratch = `${binDir}.partial`;
  mkdirSync(scratch, { recursive: true });
  say(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} from the Go module proxy into ${binDir}.`);
  say('This happens once per machine and takes several minutes on 2 cores; later runs reuse it.');
  await runWithProgress(
    'Temporal CLI build',
    'go',
    ['install', '-v', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`],
    { ...process.env, GOBIN: scratch, GOFLAGS: '-mod=mod' },
    /^[\w.-]+\.[\w-]+\//,
    1_070, // packages in a cold build of v1.5.1; fewer when Go's caches are warm
  );
  mkdirSync(dirname(binDir), { recursive: true });
  renameSync(scratch, binDir);
  return { type: 'existing-path', path: bin };
}

/** The time-skipping test server: the Java one from Maven Central behind a wrapper script, else the SDK download. */
export async function timeSkippingExecutable(): Promise<EphemeralServerExecutable> {
  const dir = join(cacheDir(), 'temporal-test-server');
  const lib = join(dir, 'lib');
  const wrapper = join(dir, 'temporal-test-server');
  const ready = existsSync(wrapper) && existsSync(lib) && readdirSync(lib).some((f) => f.startsWith('temporal-test-server'));
  if (!ready) {
    if (!has('java') || !has('mvn')) {
      say('Java or Maven is missing: falling back to the Temporal SDK downloading its test server (needs internet).');
      return { type: 'cached-download', downloadDir: join(cacheDir(), 'sdk-downloads') };
    }
    say(`Fetching Temporal's Java test server and its classpath from Maven Central into ${lib} (once per machine).`);
    await runWithProgress('Temporal test server download', 'mvn', [
      '-B', '-q', '-f', join(repoRoot, 'tools/temporal-test-server/pom.xml'),
      'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${lib}`,
    ], process.env);
    // The SDK runs the executable with only the port as argument.
    writeFileSync(wrapper, `#!/bin/sh\nexec java -Xss1m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp '${lib}/*' io.temporal.testserver.TestServer "$@"\n`);
    chmodSync(wrapper, 0o755);
  }
  return { type: 'existing-path', path: wrapper };
}
