import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';

/** The one barrel of workflow code: what the bundle is made from. */
export const workflowsPath = fileURLToPath(new URL('../workflows.js', import.meta.url));

/** Written by `npm run build` (dist/workflow-bundle.js) and shipped in the image next to dist/src. */
export const workflowBundlePath = fileURLToPath(new URL('../../workflow-bundle.js', import.meta.url));

/** The workflow code a worker runs, and the build id it goes by unless TEMPORAL_BUILD_ID says otherwise. */
export interface WorkflowCode {
  bundle: NonNullable<WorkerOptions['workflowBundle']>;
  /** from the bundle's content: the same workflow code gets the same id on every machine that builds it */
  contentBuildId: string;
  /** where it came from, for the worker's start line */
  source: 'prebuilt' | 'bundled at start';
}

const buildIdOf = (code: string) => `wf-${createHash('sha256').update(code).digest('hex').slice(0, 16)}`;

/** Webpack's progress chatter stays out of the build's and the worker's output; its warnings do not. */
const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (m: string) => process.stderr.write(`${m}\n`),
  error: (m: string) => process.stderr.write(`${m}\n`),
};

/** Bundles the workflows (webpack, a few seconds) and writes the bundle where workers look for it. */
export async function writeWorkflowBundle(path = workflowBundlePath): Promise<{ path: string; bytes: number; contentBuildId: string }> {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietLogger });
  writeFileSync(path, code);
  return { path, bytes: Buffer.byteLength(code), contentBuildId: buildIdOf(code) };
}

/**
 * The prebuilt bundle when there is one. Without it, a development run bundles now; a production one
 * (NODE_ENV=production) refuses, so that a worker never runs workflow code other than what was built and
 * versioned with the image.
 */
export async function loadWorkflowCode(path = workflowBundlePath): Promise<WorkflowCode> {
  if (existsSync(path)) return { bundle: { codePath: path }, contentBuildId: buildIdOf(readFileSync(path, 'utf8')), source: 'prebuilt' };
  if (process.env.NODE_ENV === 'production') {
    throw new Error(`the workflow bundle ${path} is missing: build it with \`npm run build\` (the Dockerfile's build stage does) and ship it next to dist/src`);
  }
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietLogger });
  return { bundle: { code }, contentBuildId: buildIdOf(code), source: 'bundled at start' };
}
