import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { startEmbeddedPostgres } from '../tools/dev-stack/embedded-postgres.js';
import { temporalCliExecutable } from '../tools/temporal/servers.js';
import { searchAttributes } from '../src/platform/temporal/search-attributes.js';
import { workflowInterceptorModules, workflowsPath } from '../src/main/build-worker.js';
import { freePort } from '../tools/ports.js';

/**
 * Namespaces made at the dev server's start, one claimed by each test file (test/helpers/infra.ts): workflow
 * ids such as a connection's tracker (jira-tracker/jira) are the same in every file, and would otherwise meet.
 */
const NAMESPACES = Array.from({ length: 64 }, (_, i) => `tf-${i + 1}`);

/**
 * Once per test run: one real PostgreSQL, one real Temporal dev server and one workflow bundle, shared by
 * every test file through environment variables (each file makes its own database and task queue).
 */
let cleanup: Array<() => Promise<unknown>> = [];

export async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ticketflow-test-'));
  chmodSync(dir, 0o755); // PostgreSQL runs as its own user when the tests run as root
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  const [pg, env, bundle] = await Promise.all([
    freePort().then((port) => startEmbeddedPostgres(join(dir, 'pg'), port, { persistent: false })),
    temporalCliExecutable().then((executable) =>
      TestWorkflowEnvironment.createLocal({ server: { executable, searchAttributes, extraArgs: NAMESPACES.flatMap((n) => ['--namespace', n]) } }),
    ),
    bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, logger: quietLogger }),
  ]);
  cleanup.push(() => pg.stop(), () => env.teardown());
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  process.env.TEST_DATABASE_URL = pg.url;
  process.env.TEST_TEMPORAL_ADDRESS = env.address;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.TEST_NAMESPACES = NAMESPACES.join(',');
  mkdirSync(join(dir, 'namespace-claims'));
  process.env.TEST_NAMESPACE_CLAIMS = join(dir, 'namespace-claims');
}

export async function globalTeardown(): Promise<void> {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  cleanup = [];
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (m: string) => process.stderr.write(`${m}\n`),
  error: (m: string) => process.stderr.write(`${m}\n`),
};
