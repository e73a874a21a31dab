import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import got from 'got';
import type { Orm } from '../src/platform/db/orm.js';
import { Keyring } from '../src/platform/keyring.js';
import { PayloadEncryptionCodec } from '../src/platform/temporal/codec.js';
import { eventually, temporalAddress, testDatabase } from './helpers/infra.js';
import { freePort } from '../tools/ports.js';
import { fileCleanup } from './helpers/cleanup.js';

/** The two production entry points start on their own, serve, and stop cleanly on SIGTERM. */

let orm: Orm;
const cleanup = fileCleanup();
before(async () => void (orm = await testDatabase(cleanup)));

async function runUntilServing(script: string, env: Record<string, string>, url: string) {
  const child = spawn(process.execPath, [fileURLToPath(new URL(`../src/${script}`, import.meta.url))], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = once(child, 'exit');
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}: ${stderr}`);
      return (await got(url, { throwHttpErrors: false, retry: { limit: 0 } }).catch(() => null))?.statusCode === 200;
    }, `${script} serving ${url}`, 60_000);
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = await exited;
  return { code, stderr };
}

test('node dist/src/main/worker.js and node dist/src/main/api.js run alone and exit 0 on SIGTERM', async () => {
  const env = {
    DATABASE_URL: String(orm.config.get('clientUrl')),
    TEMPORAL_ADDRESS: temporalAddress(),
    SECRET_KEYS: Keyring.generateSpec(),
    PAYLOAD_KEYS: PayloadEncryptionCodec.generateSpec(),
    TEMPORAL_TASK_QUEUE: 'processes-test',
  };
  const metricsPort = await freePort();
  const worker = await runUntilServing('main/worker.js', { ...env, WORKER_METRICS_PORT: String(metricsPort) }, `http://127.0.0.1:${metricsPort}/metrics`);
  assert.equal(worker.code, 0, worker.stderr);
  const apiPort = await freePort();
  const api = await runUntilServing('main/api.js', { ...env, PORT: String(apiPort) }, `http://127.0.0.1:${apiPort}/readyz`);
  assert.equal(api.code, 0, api.stderr);
});
