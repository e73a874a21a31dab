import type { FakeClock } from './clock.js';

const HOUR_MS = 3_600_000;
/** POSTs that only read (searches, counts, bulk fetch): priced as reads. */
const READING_POST = /\/(search|search\/jql|search\/approximate-count|issue\/bulkfetch)$/;

/** Whether a call is a read (GET, or a POST that only reads) in Atlassian's points pricing. */
export const isRead = (method: string, path: string) => method === 'GET' || (method === 'POST' && READING_POST.test(path));

/**
 * What an answered call costs in Jira Cloud's points (since March 2026): a read 1, plus 1 per issue object in its
 * answer (a search's or bulk fetch's list, or the one issue of GET issue); a write 1.
 */
export function pointsOf(read: boolean, body: unknown): number {
  if (!read || typeof body !== 'object' || body === null) return 1;
  const b = body as { issues?: unknown; key?: unknown; fields?: unknown };
  return 1 + (Array.isArray(b.issues) ? b.issues.length : b.key !== undefined && b.fields !== undefined ? 1 : 0);
}

/**
 * Jira Cloud's hourly points quota per OAuth 2.0 app (keyed by client id); API-token and PAT traffic is exempt, so
 * only apps come here. Windows start at the top of each UTC hour of the fake's clock, so a benchmark that moves
 * the clock sees them reset.
 */
export class PointsQuota {
  private used = new Map<string, number>();
  private hour = Number.NaN;

  /** `pointsPerHour`: null is no quota (usage is still kept). */
  constructor(
    private readonly clock: FakeClock,
    public pointsPerHour: number | null,
  ) {}

  private roll(): void {
    const hour = Math.floor(this.clock.now() / HOUR_MS);
    if (hour === this.hour) return;
    this.hour = hour;
    this.used.clear();
  }

  /** When the current window ends (ms on the fake's clock). */
  resetsAt(): number {
    return (Math.floor(this.clock.now() / HOUR_MS) + 1) * HOUR_MS;
  }

  wouldExceed(app: string, points: number): boolean {
    this.roll();
    return this.pointsPerHour !== null && (this.used.get(app) ?? 0) + points > this.pointsPerHour;
  }

  /** Charges an app; false (and nothing charged) when that would take it over the quota. */
  take(app: string, points: number): boolean {
    if (this.wouldExceed(app, points)) return false;
    this.used.set(app, (this.used.get(app) ?? 0) + points);
    return true;
  }

  /** From 80 % of the quota on, Jira marks answers X-RateLimit-NearLimit. */
  nearLimit(app: string): boolean {
    this.roll();
    return this.pointsPerHour !== null && (this.used.get(app) ?? 0) >= 0.8 * this.pointsPerHour;
  }

  /** Forgets every app's usage (a reset fake). */
  clear(): void {
    this.used.clear();
  }

  state() {
    this.roll();
    return { pointsPerHour: this.pointsPerHour, used: Object.fromEntries(this.used), resetsAt: new Date(this.resetsAt()).toISOString() };
  }
}
