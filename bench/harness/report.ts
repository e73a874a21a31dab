import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { n, repoRoot, resultsDir } from './output.js';

/** What every result records about where and on what it ran, and a benchmark's shape; printing and saving results. */

/** The commit the benchmark ran on, with "+changes" when the work tree differs from it. */
function commit(): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).stdout.trim();
  const head = git('rev-parse', '--short', 'HEAD') || 'unknown';
  return git('status', '--porcelain', '--untracked-files=no') ? `${head}+changes` : head;
}

export function machine() {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    commit: commit(),
    date: new Date().toISOString(),
    /** other work on the machine skews every figure: the 1-minute load average when the benchmark started */
    loadAverageAtStart: Number(loadavg()[0]!.toFixed(2)),
  };
}

/** One measured figure; those with a goal decide whether the benchmark passes. */
export interface Figure {
  key: string;
  label: string;
  value: number | string | null;
  unit?: string;
  digits?: number;
  goal?: string;
  pass?: boolean;
}

/** error: the harness itself failed, so nothing was measured */
export type Status = 'pass' | 'fail' | 'unavailable' | 'error';

export interface Outcome {
  figures: Figure[];
  notes: string[];
  /** interfaces the product does not have yet; non-empty makes the status "unavailable" */
  missing: string[];
  /** anything else worth keeping in the JSON line */
  data?: Record<string, unknown>;
}

export interface Options {
  get(name: string, fallback: number): number;
  flag(name: string): boolean;
}

export interface Benchmark {
  name: string;
  /** run only when named (`npm run bench -- open-100k`), never as part of the default set */
  oneOff?: boolean;
  measures: string;
  goal: string;
  run(opts: Options): Promise<Outcome>;
}

export interface Result extends ReturnType<typeof machine> {
  /** CPU used by other processes just before the stack started (% of one core), when measured */
  busyBeforeStartPercent: number | null;
  name: string;
  status: Status;
  goal: string;
  command: string;
  durationSeconds: number;
  figures: Record<string, number | string | null>;
  figureDetails: Figure[];
  notes: string[];
  missing: string[];
  data?: Record<string, unknown>;
}

export function statusOf(o: Outcome): Status {
  if (o.missing.length) return 'unavailable';
  const judged = o.figures.filter((f) => f.pass !== undefined);
  return judged.length && judged.every((f) => f.pass) ? 'pass' : 'fail';
}

export const show = (f: Pick<Figure, 'value' | 'unit' | 'digits'>) =>
  f.value === null ? 'n/a' : typeof f.value === 'number' ? `${n(f.value, f.digits ?? 0)}${f.unit ? ` ${f.unit}` : ''}` : `${f.value}${f.unit ? ` ${f.unit}` : ''}`;

export function printResult(r: Result): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out('');
  out(`== ${r.name}: ${r.status.toUpperCase()} ==   ${r.date.slice(0, 16).replace('T', ' ')} UTC, commit ${r.commit}, ${r.cores} cores (${r.cpu}), Node ${r.node}, load ${r.loadAverageAtStart} at start${r.busyBeforeStartPercent !== null ? ` (others ${r.busyBeforeStartPercent}% of a core)` : ''}, took ${n(r.durationSeconds)} s`);
  // Numbers in an aligned column against their goals; descriptive figures (breakdowns) on lines of their own.
  const numeric = r.figureDetails.filter((f) => typeof f.value !== 'string');
  const w = Math.max(...numeric.map((f) => f.label.length), 10);
  const vw = Math.max(...numeric.map((f) => show(f).length), 6);
  for (const f of numeric) {
    const verdict = f.pass === undefined ? '' : f.pass ? '  ok' : '  MISSED';
    out(`  ${f.label.padEnd(w)}  ${show(f).padStart(vw)}${f.goal ? `   goal ${f.goal}${verdict}` : ''}`);
  }
  for (const f of r.figureDetails.filter((x) => typeof x.value === 'string')) {
    out(`  ${f.label}: ${show(f)}${f.goal ? `   goal ${f.goal}${f.pass === undefined ? '' : f.pass ? '  ok' : '  MISSED'}` : ''}`);
  }
  for (const m of r.missing) out(`  missing: ${m}`);
  for (const note of r.notes) out(`  note: ${note}`);
  out(`  command: ${r.command}`);
  out(`  (appended to bench/results/${r.name}.json)`);
  out('');
}

/** One JSON line per run, so earlier runs stay for comparison. */
export function saveResult(r: Result): void {
  mkdirSync(resultsDir, { recursive: true });
  appendFileSync(join(resultsDir, `${r.name}.json`), JSON.stringify(r) + '\n');
}

/** The goal figure of a benchmark as one short string, for the summary table. */
export function headline(r: Result): string {
  const judged = r.figureDetails.filter((f) => f.goal && f.value !== null);
  const measured = r.figureDetails.filter((f) => typeof f.value === 'number').slice(0, 1);
  const shown = (judged.length ? judged : measured).map((f) => `${f.label} ${show(f)}`).join('; ');
  if (!r.missing.length) return shown;
  return `${r.missing.length} interface(s) missing${shown ? `; measured: ${shown}` : ''}`;
}
