import { say } from './output.js';

/**
 * Teardown on every exit path, Ctrl-C included: whatever a benchmark started registers its stop here, and a
 * SIGINT/SIGTERM runs them all (newest first) before exiting, so no PostgreSQL, Temporal or worker is left behind.
 */

const cleanups = new Set<() => Promise<void>>();
let interruption: Promise<void> | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interruption) return;
    say(`${sig}: stopping the stack and removing its temp dir (a few seconds)…`);
    interruption = (async () => {
      for (const c of [...cleanups].reverse()) await c();
      process.exit(130);
    })();
  });
}

/** Registers a teardown for an interruption; returns what removes it again (after a normal stop). */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup);
  return () => void cleanups.delete(cleanup);
}

export const isInterrupted = () => interruption !== undefined;

/** Resolves once an interruption's teardown is done (never, without one): a benchmark stops issuing work meanwhile. */
export const interrupted = () => interruption;

/** Exits, unless an interruption is still tearing the stack down: then that teardown exits when it is done. */
export async function finish(code: number): Promise<never> {
  if (interruption) await interruption;
  process.exit(code);
}

/** Resolves within `ms` either way; teardown must not hang on a process that is already gone. */
export async function within(ms: number, what: string, p: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch((e: Error) => say(`while stopping ${what}: ${e.message}`)),
    new Promise<void>((r) => (timer = setTimeout(() => (say(`${what} did not stop within ${ms / 1000} s; moving on`), r()), ms))),
  ]);
  clearTimeout(timer);
}
