import { runApiProcess } from './processes.js';

await runApiProcess();
