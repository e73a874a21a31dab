import { temporalCliExecutable, timeSkippingExecutable } from './servers.js';

// Fetches or builds the Temporal servers before the test runner starts, so the (once-per-machine) wait is
// reported here with progress instead of inside a test's timeout.
await temporalCliExecutable();
await timeSkippingExecutable();
