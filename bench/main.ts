import { n, say } from './harness/output.js';
import { waitForQuietMachine } from './harness/proc-metrics.js';
import { headline, machine, printResult, saveResult, statusOf, type Benchmark, type Options, type Result } from './harness/report.js';
import { finish, isInterrupted } from './harness/teardown.js';
import { poll10k } from './benchmarks/poll-10k.js';
import { pointsHour } from './benchmarks/points-hour.js';
import { interactive } from './benchmarks/interactive.js';
import { replicas } from './benchmarks/replicas.js';
import { startRate } from './benchmarks/start-rate.js';
import { pollCost } from './benchmarks/poll-cost.js';
import { webhookLatency } from './benchmarks/webhook-latency.js';
import { open10k } from './benchmarks/open-10k.js';
import { open100k } from './benchmarks/open-100k.js';

/**
 * `npm run bench -- [name…] [--option=value…] [--flag]`: runs the named benchmarks, or the default set in order
 * (all but the one-offs), each on a fresh stack. Exits non-zero only when the harness itself failed; a missed
 * goal is a result.
 */
const all: Benchmark[] = [poll10k, pointsHour, interactive, replicas, startRate, pollCost, webhookLatency, open10k, open100k];

const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('--'));
const values = new Map(
  args
    .filter((a) => a.startsWith('--'))
    .map((a) => {
      const [k, v] = a.slice(2).split('=');
      return [k!, v ?? 'true'] as const;
    }),
);
const opts: Options = {
  get(name, fallback) {
    const v = values.get(name);
    if (v === undefined) return fallback;
    const num = Number(v.replace(/[_,]/g, ''));
    if (!Number.isFinite(num)) throw new Error(`--${name}=${v}: expected a number`);
    return num;
  },
  flag: (name) => values.get(name) === 'true' || values.get(name) === '1',
};

const unknown = names.filter((name) => !all.some((b) => b.name === name));
if (unknown.length) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; choose from: ${all.map((b) => `${b.name}${b.oneOff ? ' (one-off)' : ''}`).join(', ')}\n`);
  process.exit(2);
}
const chosen = names.length ? all.filter((b) => names.includes(b.name)) : all.filter((b) => !b.oneOff);
const results: Result[] = [];
let harnessFailed = false;

for (const bench of chosen) {
  if (isInterrupted()) break;
  const quietWait = opts.get('quiet-wait-minutes', 5);
  const quiet = quietWait > 0 ? await waitForQuietMachine(quietWait) : undefined;
  const m = { ...machine(), busyBeforeStartPercent: quiet ? Math.round(quiet.busyPercent) : null };
  say(`${bench.name}: ${bench.measures}`);
  say(`goal: ${bench.goal}; ${m.cores} cores, Node ${m.node}, load average ${m.loadAverageAtStart}${quiet ? `, other processes at ${m.busyBeforeStartPercent}% of one core` : ''}`);
  const t0 = Date.now();
  const command = `npm run bench -- ${[bench.name, ...args.filter((a) => a.startsWith('--'))].join(' ')}`;
  try {
    const outcome = await bench.run(opts);
    const result: Result = {
      name: bench.name,
      status: statusOf(outcome),
      goal: bench.goal,
      command,
      ...m,
      durationSeconds: (Date.now() - t0) / 1000,
      figures: Object.fromEntries(outcome.figures.map((f) => [f.key, f.value])),
      figureDetails: outcome.figures,
      notes: outcome.notes,
      missing: outcome.missing,
      data: outcome.data,
    };
    saveResult(result);
    printResult(result);
    results.push(result);
  } catch (err) {
    if (isInterrupted()) break; // the stack's processes were stopped under it: not a harness failure to report
    harnessFailed = true;
    process.stderr.write(`\n[bench] ${bench.name} could not complete: ${(err as Error).stack ?? err}\n\n`);
    const failed: Result = {
      name: bench.name,
      status: 'error',
      goal: bench.goal,
      command,
      ...m,
      durationSeconds: (Date.now() - t0) / 1000,
      figures: {},
      figureDetails: [],
      notes: [`harness error: ${(err as Error).message}`],
      missing: [],
    };
    saveResult(failed);
    results.push(failed);
  }
}

if (results.length > 1) {
  const rows = results.map((r) => [r.name, r.status.toUpperCase(), headline(r), `${n(r.durationSeconds)} s`]);
  const head = ['benchmark', 'status', 'figures against the goals', 'took'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(`\n${line(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.map(line).join('\n')}\n\n`);
}
await finish(harnessFailed ? 1 : 0);
