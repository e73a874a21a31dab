import { performance } from 'node:perf_hooks';

/** Moments within the last second; each hit costs O(1) amortised, however long the run. */
class LastSecond {
  private times: number[] = [];
  private head = 0;

  count(now: number): number {
    while (this.head < this.times.length && this.times[this.head]! <= now - 1000) this.head += 1;
    if (this.head > 4096 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  add(now: number): void {
    this.times.push(now);
  }
}

/**
 * How a client treats Jira, for benchmarks: calls per endpoint, the busiest second (a sliding window), and
 * an optional server-side rate limit that answers 429 beyond a budget per sliding second.
 */
export class JiraTraffic {
  private received = new LastSecond();
  private accepted = new LastSecond();
  private perSecond: number | null = null;
  private counts = fresh();

  /** Counts one call; false when it is over the rate limit and must be refused. */
  admit(endpoint: string): boolean {
    const now = performance.now();
    const c = this.counts;
    c.total += 1;
    c.byEndpoint[endpoint] = (c.byEndpoint[endpoint] ?? 0) + 1;
    this.received.add(now);
    c.maxPerSecond = Math.max(c.maxPerSecond, this.received.count(now));
    // Refused calls do not use up the budget, or a client that keeps trying would never get through.
    if (this.perSecond !== null && this.accepted.count(now) >= this.perSecond) {
      c.rejected429 += 1;
      return false;
    }
    this.accepted.add(now);
    return true;
  }

  /** The budget starts fresh: calls made before the switch do not count against it. */
  setRateLimit(perSecond: number | null): void {
    this.perSecond = perSecond;
    this.accepted = new LastSecond();
  }

  get rateLimit(): number | null {
    return this.perSecond;
  }

  stats() {
    return { ...this.counts, byEndpoint: { ...this.counts.byEndpoint } };
  }

  resetStats(): void {
    this.counts = fresh();
    this.received = new LastSecond();
  }
}

const fresh = () => ({ total: 0, byEndpoint: {} as Record<string, number>, maxPerSecond: 0, rejected429: 0, since: new Date().toISOString() });

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
