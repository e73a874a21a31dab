import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { startEmbeddedPostgres } from '../tools/dev-stack/embedded-postgres.js';
import { temporalCliExecutable } from '../tools/temporal/servers.js';
import { searchAttributes } from '../src/platform/temporal/search-attributes.js';
import { workflowBundlePath } from '../src/main/workflow-bundle.js';
import { freePort } from '../tools/ports.js';

/**
 * Namespaces made at the dev server's start, one claimed by each test file (test/helpers/infra.ts): workflow
 * ids such as a connection's tracker (jira-tracker/jira) are the same in every file, and would otherwise meet.
 */
const NAMESPACES = Array.from({ length: 64 }, (_, i) => `tf-${i + 1}`);

/**
 * Once per test run: one real PostgreSQL and one real Temporal dev server, shared by every test file through
 * environment variables (each file makes its own database and task queue), with the workflow bundle that
 * `npm run build` made: the tests run the workflow code that ships.
 */
let cleanup: Array<() => Promise<unknown>> = [];

export async function globalSetup(): Promise<void> {
  if (!existsSync(workflowBundlePath)) throw new Error(`${workflowBundlePath} is missing: run the tests with \`npm test\`, or \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'ticketflow-test-'));
  chmodSync(dir, 0o755); // PostgreSQL runs as its own user when the tests run as root
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  const [pg, env] = await Promise.all([
    freePort().then((port) => startEmbeddedPostgres(join(dir, 'pg'), port, { persistent: false })),
    temporalCliExecutable().then((executable) =>
      TestWorkflowEnvironment.createLocal({ server: { executable, searchAttributes, extraArgs: NAMESPACES.flatMap((n) => ['--namespace', n]) } }),
    ),
  ]);
  cleanup.push(() => pg.stop(), () => env.teardown());
  process.env.TEST_DATABASE_URL = pg.url;
  process.env.TEST_TEMPORAL_ADDRESS = env.address;
  process.env.TEST_WORKFLOW_BUNDLE = workflowBundlePath;
  process.env.TEST_NAMESPACES = NAMESPACES.join(',');
  mkdirSync(join(dir, 'namespace-claims'));
  process.env.TEST_NAMESPACE_CLAIMS = join(dir, 'namespace-claims');
}

export async function globalTeardown(): Promise<void> {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  cleanup = [];
}
