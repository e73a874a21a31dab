import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

/**
 * The test harness itself: a file whose set-up fails, or that hangs, must end the run of that file quickly,
 * failed, with a message that says why. Each case runs a fixture in a child `node --test`, as `npm test` does.
 */

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/harness/${name}.js`, import.meta.url));
const guard = fileURLToPath(new URL('./helpers/file-guard.js', import.meta.url));

async function runFile(name: string, env: Record<string, string>): Promise<{ code: number | null; output: string; seconds: number }> {
  const started = Date.now();
  // A runner of its own: NODE_TEST_CONTEXT (set for this file by the outer runner) would make it report to ours.
  const { NODE_TEST_CONTEXT: _, ...outer } = process.env;
  const child = spawn(process.execPath, ['--import', guard, '--test', '--test-reporter=spec', fixture(name)], {
    env: { ...outer, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(killer);
  return { code, output, seconds: (Date.now() - started) / 1000 };
}

describe('a failing or stuck test file fails fast', () => {
  test('a set-up that fails halfway closes what it made and the file ends, failed, naming the missing file', async () => {
    const missing = '/nonexistent/jira-cloud-platform-v3.openapi.json.gz';
    const run = await runFile('failing-setup', { JIRA_OPENAPI_SPEC: missing, TEST_FILE_TIMEOUT_SECONDS: '100', TEST_FILE_LINGER_SECONDS: '100' });
    assert.notEqual(run.code, 0, `the file failed:\n${run.output}`);
    assert.ok(run.seconds < 45, `it ended within 45 s (took ${run.seconds} s):\n${run.output}`);
    assert.match(run.output, new RegExp(missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')), 'the error names the missing file');
    assert.doesNotMatch(run.output, /\[test guard\]/, 'it closed everything itself: the guard did not have to stop it');
  });

  test('a file that never finishes is stopped by the guard, with a message naming it', async () => {
    const run = await runFile('stuck', { TEST_FILE_TIMEOUT_SECONDS: '3' });
    assert.notEqual(run.code, 0);
    assert.ok(run.seconds < 30, `stopped within 30 s (took ${run.seconds} s)`);
    assert.match(run.output, /\[test guard\] \S*stuck\.js has run for 3 s without finishing/);
  });

  test('a file that passes but leaves something open is stopped too, and says what is open', async () => {
    const run = await runFile('lingering', { TEST_FILE_LINGER_SECONDS: '2' });
    assert.notEqual(run.code, 0);
    assert.ok(run.seconds < 30, `stopped within 30 s (took ${run.seconds} s)`);
    assert.match(run.output, /\[test guard\] \S*lingering\.js finished its tests but was still open 2 s later; stopping it\. Still open: .*TCPServerWrap/);
  });
});
