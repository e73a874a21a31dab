import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Progress lines and number formatting: every long phase prints, so the terminal is never silent for minutes. */

const here = dirname(fileURLToPath(import.meta.url));
/** dist/bench/harness → repository root */
export const repoRoot = resolve(here, '../../..');
/** the built product (dist/src), which the stack's processes run */
export const distSrc = resolve(here, '../../src');
export const resultsDir = join(repoRoot, 'bench', 'results');

export const say = (msg: string) => process.stdout.write(`[bench] ${msg}\n`);
export const n = (v: number, digits = 0) => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const secs = (ms: number) => `${n(ms / 1000, 1)} s`;
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Calls `line` every `ms` and prints what it returns, so a long phase is never silent. */
export function every(ms: number, line: () => string | undefined | Promise<string | undefined>): () => void {
  let busy = false;
  const t = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const text = await line();
      if (text) say(text);
    } catch (err) {
      say(`(progress check failed: ${(err as Error).message})`);
    } finally {
      busy = false;
    }
  }, ms);
  return () => clearInterval(t);
}
