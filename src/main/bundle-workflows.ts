import { writeWorkflowBundle } from './workflow-bundle.js';

/**
 * The last step of `npm run build`: the workflow bundle, made once at build time (as Temporal recommends for
 * production) rather than by every worker at start. Its content hash is the workers' default build id.
 */
const started = Date.now();
const { path, bytes, contentBuildId } = await writeWorkflowBundle();
process.stderr.write(`[ticketflow] workflow bundle ${path} (${Math.round(bytes / 1024)} KiB, build id ${contentBuildId}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
