import { after } from 'node:test';
import { relative } from 'node:path';

/**
 * Loaded into every test file's process (`node --test --import …/file-guard.js`), so that no file can hold
 * the run: a file still running after TEST_FILE_TIMEOUT_SECONDS (default 480), or still open
 * TEST_FILE_LINGER_SECONDS (default 60) after its tests ended (a server, worker or pool left open), is
 * stopped with a message naming it, and the runner reports it failed. Both timers are unref'd: they never
 * keep a finished file alive themselves.
 */
const file = process.argv[1];
if (process.env.NODE_TEST_CONTEXT && file) {
  const name = relative(process.cwd(), file);
  const seconds = (variable: string, fallback: number) => {
    const v = Number(process.env[variable]);
    return Number.isFinite(v) && v > 0 ? v : fallback;
  };
  const stop = (why: string) => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'Timeout');
    process.stderr.write(
      `\n[test guard] ${name} ${why}; stopping it.${open.length ? ` Still open: ${open.join(', ')}.` : ''}\n` +
        `[test guard] What to do: run it alone (node --test ${file}) and look for a set-up that never finished or a resource that is never closed (see test/helpers/cleanup.ts).\n`,
    );
    process.exit(1);
  };
  const limit = seconds('TEST_FILE_TIMEOUT_SECONDS', 480);
  setTimeout(() => stop(`has run for ${limit} s without finishing`), limit * 1000).unref();
  // Registered before the file's own hooks, so it runs first among the root's `after` hooks: the linger
  // time includes the file's own clean-up.
  after(() => {
    const linger = seconds('TEST_FILE_LINGER_SECONDS', 60);
    setTimeout(() => stop(`finished its tests but was still open ${linger} s later`), linger * 1000).unref();
  });
}
