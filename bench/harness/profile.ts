import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { resultsDir } from './output.js';

/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and says where the CPU went, four ways:
 * - by package or product module, with node's own work (socket and file writes, streams, timers) charged to the
 *   nearest package or product frame that asked for it ("who costs what");
 * - by the nearest product function on the stack ("which of our code paths costs what");
 * - by package or module on the stack (each sample once per package anywhere in its stack: "how much runs under pg");
 * - by function, own time, with the package it is charged to.
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
  /** packages and product modules, node's own work charged to the nearest of them above it */
  byPart: ProfileLine[];
  /** the nearest product (src/) function on the stack */
  byProductFunction: ProfileLine[];
  /** packages and product modules by time on the stack */
  stackByPart: ProfileLine[];
  /** functions by their own time, with the part they are charged to */
  functions: ProfileLine[];
}

/** An empty directory for the profiles of one run, under bench/results/profiles/<label>, and the node options that fill it. */
export function profileDir(label: string): { dir: string; nodeArgs: string[] } {
  const dir = join(resultsDir, 'profiles', label);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return { dir, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] };
}

/** The profiles a process wrote into `dir` (one per process exit), newest last. */
export const profilesIn = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => join(dir, f));

/** "node_modules/@temporalio/client/…" → "@temporalio/client"; "dist/src/http/app.js" → "src/http/app"; node's own → "node:<module>". */
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

/** A package or a module of ours, as opposed to node's internals, natives and V8's own entries. */
const isUserland = (part: string) => !part.startsWith('node:') && !part.startsWith('(');
const isProduct = (part: string) => part.startsWith('src/');

function functionOf(frame: CallFrame): string {
  const where = frame.url ? `${partOf(frame)}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
}

/** The monotonic clock V8 stamps profile samples with (CLOCK_MONOTONIC, shared by every process), in µs. */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

export interface ProfileWindow {
  fromUs: number;
  toUs: number;
}

/**
 * `windows`: only the samples between pairs of monotonicUs() readings (taken in any process: the clock is the
 * machine's), e.g. a benchmark's measured phases without the process's start-up.
 */
export function summarizeProfile(file: string, o: { top?: number; windows?: ProfileWindow[] } = {}): ProfileSummary {
  const top = o.top ?? 20;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  // Sample i lasts until sample i + 1 (the first delta is the gap from the profile's start).
  const durUs = profile.samples.map((_, i) => profile.timeDeltas[i + 1] ?? 0);
  const stampUs: number[] = [];
  profile.timeDeltas.reduce((at, d, i) => (stampUs[i] = at + d), profile.startTime);
  const inWindow = (i: number) => !o.windows || o.windows.some((w) => stampUs[i]! >= w.fromUs && stampUs[i]! < w.toUs);
  const self = new Map<string, number>();
  const charged = new Map<string, number>();
  const product = new Map<string, number>();
  const stackPart = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  let total = 0;
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  profile.samples.forEach((id, i) => {
    if (!inWindow(i)) return;
    const us = durUs[i]!;
    total += us;
    const leaf = byId.get(id)!;
    if (leaf.callFrame.functionName === '(idle)') return void (idle += us);
    if (leaf.callFrame.functionName === '(garbage collector)') gc += us;
    const seen = new Set<string>();
    let chargedTo: string | undefined;
    let productFn: string | undefined;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      const part = partOf(frame);
      if (part === '(root)') continue;
      if (!chargedTo && isUserland(part)) chargedTo = part;
      if (!productFn && isProduct(part)) productFn = functionOf(frame);
      if (isUserland(part) && !seen.has(part)) {
        seen.add(part);
        add(stackPart, part, us);
      }
    }
    const leafPart = partOf(leaf.callFrame);
    const to = chargedTo ?? leafPart;
    add(charged, to, us);
    add(product, productFn ?? '(no product code on the stack)', us);
    add(self, `${functionOf(leaf.callFrame)}${to !== leafPart ? ` ← ${to}` : ''}`, us);
  });
  const busy = total - idle;
  const lines = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, pct: (us / busy) * 100 }));
  return { file, wallMs: total / 1000, busyMs: busy / 1000, idleMs: idle / 1000, gcMs: gc / 1000, byPart: lines(charged), byProductFunction: lines(product), stackByPart: lines(stackPart), functions: lines(self) };
}

/** The summary as lines for a terminal or a results file; `perUnit` divides the times (e.g. by approvals). */
export function formatProfile(s: ProfileSummary, o: { perUnit?: { count: number; unit: string } } = {}): string[] {
  const per = (ms: number) => (o.perUnit ? `, ${(ms / o.perUnit.count).toFixed(3)} ms per ${o.perUnit.unit}` : '');
  const table = (title: string, rows: ProfileLine[]) => [title, ...rows.map((r) => `  ${r.pct.toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}${per(r.ms)}`)];
  return [
    `profile ${s.file}: ${(s.wallMs / 1000).toFixed(1)} s, busy ${(s.busyMs / 1000).toFixed(1)} s (${((s.busyMs / s.wallMs) * 100).toFixed(0)} % of one core)${per(s.busyMs)}, GC ${(s.gcMs / 1000).toFixed(1)} s`,
    ...table("by package or module (node's own work charged to the package or module that asked for it):", s.byPart),
    ...table('by the nearest product function on the stack:', s.byProductFunction),
    ...table('on the stack (each sample once per package or module):', s.stackByPart),
    ...table('own time by function (← charged to):', s.functions),
  ];
}
