/** Why Jira refused a call (`RateLimit-Reason`), as Jira Cloud names it. */
export const RATE_LIMIT_REASONS = ['jira-quota-global-based', 'jira-quota-tenant-based', 'jira-burst-based', 'jira-per-issue-on-write'] as const;
export type RateLimitReason = (typeof RATE_LIMIT_REASONS)[number];

/** What Jira says about its rate limits on one response. */
export interface RateLimitHeaders {
  /** Retry-After, in seconds from now (an HTTP date is turned into seconds too) */
  retryAfterSeconds?: number;
  /** X-RateLimit-Reset: when the quota that refused the call fills again */
  resetAt?: Date;
  /** RateLimit-Reason, lower case; any text Jira sends, known or not */
  reason?: string;
  /**
   * X-RateLimit-NearLimit: true on a successful answer when the budget is almost used up; on Data Center, also
   * when X-RateLimit-Remaining is down to a tenth of X-RateLimit-Limit or less.
   */
  nearLimit: boolean;
  /**
   * Data Center's token bucket (Jira 8.6+ with rate limiting on): X-RateLimit-Limit tokens at most,
   * X-RateLimit-Remaining left, X-RateLimit-FillRate tokens added every X-RateLimit-Interval-Seconds.
   */
  bucket?: { limit?: number; remaining?: number; fillRate?: number; intervalSeconds?: number };
}

type Headers = Record<string, string | string[] | undefined>;

/**
 * Atlassian first sent these headers with a `Beta-` or `X-Beta-` prefix, and some carry an `X-` prefix of
 * their own, so each is known by its name with those prefixes taken off. When a response carries several
 * forms of one header, the unprefixed one counts.
 */
const HEADER = /^(x-)?(beta-)?(retry-after|ratelimit-reset|ratelimit-reason|ratelimit-nearlimit|ratelimit-limit|ratelimit-remaining|ratelimit-fillrate|ratelimit-interval-seconds)$/;

/** A Data Center bucket never refills faster than this share of its limit stays "near" it. */
const NEAR_SHARE = 0.1;

/**
 * Reads Retry-After, X-RateLimit-Reset, RateLimit-Reason and X-RateLimit-NearLimit (Cloud), and Data Center's
 * X-RateLimit-Limit, -Remaining, -FillRate and -Interval-Seconds, in any of their forms, case-insensitively.
 */
export function parseRateLimitHeaders(headers: Headers, now = Date.now()): RateLimitHeaders {
  const found = new Map<string, { value: string; beta: boolean }>();
  for (const [name, raw] of Object.entries(headers)) {
    const m = HEADER.exec(name.toLowerCase());
    const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
    if (!m || !value) continue;
    const beta = Boolean(m[2]);
    const seen = found.get(m[3]!);
    if (!seen || (seen.beta && !beta)) found.set(m[3]!, { value, beta });
  }
  const out: RateLimitHeaders = { nearLimit: found.get('ratelimit-nearlimit')?.value.toLowerCase() === 'true' };
  const retryAfter = found.get('retry-after')?.value;
  if (retryAfter !== undefined) {
    const seconds = /^\d+(\.\d+)?$/.test(retryAfter) ? Number(retryAfter) : (Date.parse(retryAfter) - now) / 1000;
    if (Number.isFinite(seconds)) out.retryAfterSeconds = Math.max(0, Math.ceil(seconds));
  }
  const reset = Date.parse(found.get('ratelimit-reset')?.value ?? '');
  if (!Number.isNaN(reset)) out.resetAt = new Date(reset);
  const reason = found.get('ratelimit-reason')?.value.toLowerCase();
  if (reason) out.reason = reason;
  const num = (name: string) => {
    const v = Number(found.get(name)?.value);
    return found.has(name) && Number.isFinite(v) ? v : undefined;
  };
  const bucket = { limit: num('ratelimit-limit'), remaining: num('ratelimit-remaining'), fillRate: num('ratelimit-fillrate'), intervalSeconds: num('ratelimit-interval-seconds') };
  if (Object.values(bucket).some((v) => v !== undefined)) {
    out.bucket = Object.fromEntries(Object.entries(bucket).filter(([, v]) => v !== undefined));
    if (bucket.limit && bucket.remaining !== undefined && bucket.remaining <= bucket.limit * NEAR_SHARE) out.nearLimit = true;
  }
  return out;
}

/** When the refused call may be made again: the later of Retry-After and X-RateLimit-Reset (epoch ms), or undefined when Jira said neither. */
export function rateLimitEnd(h: RateLimitHeaders, now = Date.now()): number | undefined {
  const ends = [h.retryAfterSeconds === undefined ? undefined : now + h.retryAfterSeconds * 1000, h.resetAt?.getTime()].filter((t): t is number => t !== undefined);
  // An empty Data Center bucket without Retry-After has tokens again after one fill interval.
  if (!ends.length && h.bucket?.remaining === 0 && h.bucket.intervalSeconds) ends.push(now + h.bucket.intervalSeconds * 1000);
  return ends.length ? Math.max(...ends) : undefined;
}

export function isKnownReason(reason: string | undefined): reason is RateLimitReason {
  return (RATE_LIMIT_REASONS as readonly string[]).includes(reason ?? '');
}
