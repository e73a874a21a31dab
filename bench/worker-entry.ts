/**
 * The worker process for builds where `node dist/src/worker.js` cannot start: there, worker.js's main block
 * awaits processes.js, which imports worker.js back, and Node exits with code 13 ("unsettled top-level
 * await"). This runs the same function without the import cycle. The harness uses it only when it must.
 */
import { runWorkerProcess } from '../src/processes.js';

await runWorkerProcess();
