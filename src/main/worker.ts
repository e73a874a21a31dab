import { runWorkerProcess } from './processes.js';

/**
 * `node dist/src/worker.js`: the worker alone, against an existing PostgreSQL and Temporal cluster. The
 * worker itself is built in src/temporal/worker.ts; this file only runs it (importing it would start one).
 */
await runWorkerProcess();
