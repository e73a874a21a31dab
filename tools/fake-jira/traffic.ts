import { performance } from 'node:perf_hooks';

/** Moments within a sliding window; each hit costs O(1) amortised, however long the run. */
class Recent {
  private times: number[] = [];
  private head = 0;

  constructor(private readonly windowMs: number) {}

  count(now: number): number {
    while (this.head < this.times.length && this.times[this.head]! <= now - this.windowMs) this.head += 1;
    if (this.head > 4096 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  add(now: number): void {
    this.times.push(now);
  }

  /** How long until fewer than `limit` moments are left in the window (0: already). */
  waitMs(now: number, limit: number): number {
    const n = this.count(now);
    return n < limit ? 0 : this.times[this.head + n - limit]! + this.windowMs - now;
  }
}

/** Jira Cloud's limits on writes to one issue (comment, transition, assignee, edit). */
const PER_ISSUE_WRITES = [
  { limit: 20, windowMs: 2_000 },
  { limit: 100, windowMs: 30_000 },
];

/**
 * How a client treats Jira, for benchmarks: calls and points per endpoint, the busiest second, the 429s sent and
 * why; and the limits on request rates, all on real time (they are about how fast a client really calls):
 * Jira's burst limit per endpoint and method, its per-issue write limits, and an optional global cap per sliding
 * second (POST /_fake/rate-limit). Refused calls do not use up a budget, or a client that keeps trying would never
 * get through.
 */
export class JiraTraffic {
  private received = new Recent(1000);
  private accepted = new Recent(1000);
  private perSecond: number | null = null;
  private burst = new Map<string, Recent>();
  private writes = new Map<string, Recent[]>();
  private counts = fresh();

  /** `burstPerSecond`: calls per endpoint and method in any second (null: no burst limit). */
  constructor(private readonly burstPerSecond: number | null = 100) {}

  /** Counts one call; false when it is over the global cap or the endpoint's burst limit and must be refused. */
  admit(endpoint: string): boolean {
    const now = performance.now();
    const c = this.counts;
    c.total += 1;
    c.byEndpoint[endpoint] = (c.byEndpoint[endpoint] ?? 0) + 1;
    this.received.add(now);
    c.maxPerSecond = Math.max(c.maxPerSecond, this.received.count(now));
    if (this.perSecond !== null && this.accepted.count(now) >= this.perSecond) return false;
    let burst = this.burst.get(endpoint);
    if (!burst) this.burst.set(endpoint, (burst = new Recent(1000)));
    if (this.burstPerSecond !== null && burst.count(now) >= this.burstPerSecond) return false;
    this.accepted.add(now);
    burst.add(now);
    return true;
  }

  /** A write to one issue; undefined when it may go ahead, else the seconds until one would (rounded up, at least 1). */
  admitWrite(issueId: string): number | undefined {
    const now = performance.now();
    let windows = this.writes.get(issueId);
    if (!windows) {
      // Issues written once and left alone must not pile up over a long benchmark.
      if (this.writes.size >= 10_000) for (const [id, w] of this.writes) if (!w.at(-1)!.count(now)) this.writes.delete(id);
      this.writes.set(issueId, (windows = PER_ISSUE_WRITES.map((l) => new Recent(l.windowMs))));
    }
    const waitMs = Math.max(...PER_ISSUE_WRITES.map((l, k) => windows[k]!.waitMs(now, l.limit)));
    if (waitMs > 0) return Math.max(1, Math.ceil(waitMs / 1000));
    for (const w of windows) w.add(now);
  }

  /** Points of an answered call: all count; `charged` ones (OAuth apps) were taken from an hourly quota. */
  countPoints(endpoint: string, points: number, charged: boolean): void {
    const c = this.counts;
    c.points += points;
    if (charged) c.pointsCharged += points;
    c.pointsByEndpoint[endpoint] = (c.pointsByEndpoint[endpoint] ?? 0) + points;
  }

  /** Every 429 the fake sends, whatever sent it; `reason` as in RateLimit-Reason (none for a fault without one). */
  refused(reason: string | undefined): void {
    const c = this.counts;
    c.rejected429 += 1;
    const key = reason ?? 'none';
    c.rejected429ByReason[key] = (c.rejected429ByReason[key] ?? 0) + 1;
  }

  /** The budget starts fresh: calls made before the switch do not count against it. */
  setRateLimit(perSecond: number | null): void {
    this.perSecond = perSecond;
    this.accepted = new Recent(1000);
  }

  get rateLimit(): number | null {
    return this.perSecond;
  }

  /** Forgets every window (a reset fake has seen no calls). */
  resetLimits(): void {
    this.setRateLimit(null);
    this.burst.clear();
    this.writes.clear();
  }

  stats() {
    const c = this.counts;
    return { ...c, byEndpoint: { ...c.byEndpoint }, pointsByEndpoint: { ...c.pointsByEndpoint }, rejected429ByReason: { ...c.rejected429ByReason } };
  }

  resetStats(): void {
    this.counts = fresh();
    this.received = new Recent(1000);
  }
}

/** GET /_fake/stats: Jira calls and their points since the last reset, as tests and benchmarks read them. */
export interface TrafficStats {
  total: number;
  byEndpoint: Record<string, number>;
  /** Atlassian's points: a read 1 plus 1 per issue returned, a write 1 (pointsCharged: OAuth apps' only) */
  points: number;
  pointsCharged: number;
  pointsByEndpoint: Record<string, number>;
  /** most calls in any sliding second */
  maxPerSecond: number;
  rejected429: number;
  rejected429ByReason: Record<string, number>;
  since: string;
}

// `since` is real time, like the rates beside it.
const fresh = (): TrafficStats => ({
  total: 0,
  byEndpoint: {} as Record<string, number>,
  points: 0,
  pointsCharged: 0,
  pointsByEndpoint: {} as Record<string, number>,
  maxPerSecond: 0,
  rejected429: 0,
  rejected429ByReason: {} as Record<string, number>,
  since: new Date().toISOString(),
});

/** A call's endpoint for counting: issue keys and ids become {issueIdOrKey}, other numeric ids {id}. */
export function endpointOf(method: string, path: string): string {
  const normal = path
    .split('/')
    .map((seg, n, all) => {
      if (all[n - 1] === 'issue' && /^([A-Za-z][A-Za-z0-9_]*-)?\d+$/.test(seg)) return '{issueIdOrKey}';
      return /^\d+$/.test(seg) && all[n - 1] !== 'api' ? '{id}' : seg;
    })
    .join('/');
  return `${method} ${normal}`;
}
