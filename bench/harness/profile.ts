import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and says where the CPU went: by function (self time), and by
 * package or product module, both as self time and as "on the stack" time (each sample counted once per
 * package found anywhere in its stack), which is what answers "how much of the time is spent under zod".
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  name: string;
  ms: number;
  /** share of the busy (non-idle) time */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  gcMs: number;
  /** functions by their own time */
  functions: ProfileLine[];
  /** packages and product modules by their own time */
  selfByPart: ProfileLine[];
  /** packages and product modules by time on the stack */
  stackByPart: ProfileLine[];
}

/** The profiles a process wrote into `dir` (one per process exit), newest last. */
export const profilesIn = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => join(dir, f));

/** "node_modules/@temporalio/client/…" → "@temporalio/client"; "dist/src/api/app.js" → "src/api/app"; node's own → "node:<module>". */
function partOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (m) return m[1]!;
  const src = /\/dist\/(src|bench)\/(.+?)\.js$/.exec(url);
  if (src) return `${src[1]}/${src[2]}`;
  const internal = /^node:(?:internal\/)?([^/]+)/.exec(url);
  if (internal) return `node:${internal[1]}`;
  return url;
}

function functionOf(frame: CallFrame): string {
  const where = frame.url ? `${partOf(frame)}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
}

/** The monotonic clock V8 stamps profile samples with (CLOCK_MONOTONIC, shared by every process), in µs. */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * `window`: only the samples between two monotonicUs() readings (taken in any process: the clock is the
 * machine's), e.g. a benchmark's measured phase without the process's start-up.
 */
export function summarizeProfile(file: string, o: { top?: number; window?: { fromUs: number; toUs: number } } = {}): ProfileSummary {
  const top = o.top ?? 20;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  // Sample i lasts until sample i + 1 (the first delta is the gap from the profile's start).
  const durUs = profile.samples.map((_, i) => profile.timeDeltas[i + 1] ?? 0);
  const stampUs: number[] = [];
  profile.timeDeltas.reduce((at, d, i) => (stampUs[i] = at + d), profile.startTime);
  const inWindow = (i: number) => !o.window || (stampUs[i]! >= o.window.fromUs && stampUs[i]! < o.window.toUs);
  const self = new Map<string, number>();
  const selfPart = new Map<string, number>();
  const stackPart = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  let total = 0;
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  profile.samples.forEach((id, i) => {
    if (!inWindow(i)) return;
    const us = durUs[i]!;
    total += us;
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') return void (idle += us);
    if (node.callFrame.functionName === '(garbage collector)') gc += us;
    add(self, functionOf(node.callFrame), us);
    add(selfPart, partOf(node.callFrame), us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const p = partOf(byId.get(at)!.callFrame);
      if (p === '(root)' || seen.has(p)) continue;
      seen.add(p);
      add(stackPart, p, us);
    }
  });
  const busy = total - idle;
  const lines = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, pct: (us / busy) * 100 }));
  return { file, wallMs: total / 1000, busyMs: busy / 1000, idleMs: idle / 1000, gcMs: gc / 1000, functions: lines(self), selfByPart: lines(selfPart), stackByPart: lines(stackPart) };
}

/** The summary as lines for a terminal or a results file; `perUnit` divides the times (e.g. by approvals). */
export function formatProfile(s: ProfileSummary, o: { perUnit?: { count: number; unit: string } } = {}): string[] {
  const per = (ms: number) => (o.perUnit ? `, ${(ms / o.perUnit.count).toFixed(3)} ms per ${o.perUnit.unit}` : '');
  const table = (title: string, rows: ProfileLine[]) => [title, ...rows.map((r) => `  ${r.pct.toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}${per(r.ms)}`)];
  return [
    `profile ${s.file}: ${(s.wallMs / 1000).toFixed(1)} s, busy ${(s.busyMs / 1000).toFixed(1)} s (${((s.busyMs / s.wallMs) * 100).toFixed(0)} % of one core)${per(s.busyMs)}, GC ${(s.gcMs / 1000).toFixed(1)} s`,
    ...table('on the stack (each sample once per package or module):', s.stackByPart),
    ...table('own time by package or module:', s.selfByPart),
    ...table('own time by function:', s.functions),
  ];
}
