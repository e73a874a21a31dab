import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { JiraCallHeld } from './errors.js';
import { isKnownReason, rateLimitEnd, type RateLimitHeaders } from './rate-limit-headers.js';
import { log } from '../platform/log.js';
import { metrics } from '../platform/metrics.js';

/** rate-limiter-flexible's table (key, points, expire), created by Migration20261201020000_jira_budget. */
export const BUDGET_TABLE = 'jira_budget';

/**
 * A connection's calls must never reach Jira more than `perSecond` times in any sliding second, from all
 * processes together. The library counts in fixed windows, each starting with the first call after the
 * previous one ended; a window of one second holding `perSecond` calls would let twice that through across
 * a boundary. So a window holds one call and lasts 1.2/perSecond s: any two calls start at least that far
 * apart, and a half-open second [t, t+1) meets at most ⌈perSecond/1.2⌉ ≤ perSecond of them. A fractional
 * budget counts as its whole part (at least 1 call a second); a budget under 1 spaces calls 1.2/budget s.
 * The 20 % is room for the time between a window being taken and the request reaching Jira, which varies
 * (a process kept off the CPU, a GC pause, the network): budget + 1 calls can only meet in one second if the
 * first was held up 200 ms longer than the last (10 % was not always enough on a busy two-core machine).
 * The store keeps whole milliseconds, so the window is rounded up, which only slows budgets above ~100/s.
 */
export function connectionWindowMs(perSecond: number): number {
  const calls = perSecond >= 1 ? Math.floor(perSecond) : perSecond;
  return Math.ceil(1_200 / calls);
}

/**
 * Jira allows 20 writes per 2 s and 100 per 30 s to one issue. Windows of 10 writes lasting 3.667 s keep
 * both in any sliding interval: one of L seconds meets at most ⌈L/3.667⌉ + 1 windows (it may catch one window
 * at its end and the last at its start), so 2 s meets 2 (20 writes) and 30 s meets 10 (100 writes), with more
 * than a second to spare for the delay between taking a window and the write reaching Jira. A long burst of
 * writes to one issue runs at 2.7 a second, a little under Jira's 3.3.
 */
export const ISSUE_WRITES = { points: 10, windowMs: 3_667 };

/** Jira named no time on a 429: pause this long, and the next attempt finds out more. */
const DEFAULT_PAUSE_MS = 10_000;
/** Jira's quotas reset hourly; a longer pause is a misread header, and would otherwise block a key for good. */
const MAX_PAUSE_MS = 24 * 3_600_000;
/** X-RateLimit-NearLimit halves the connection's budget for this long (each such answer starts it again). */
const NEAR_LIMIT_SLOWDOWN_MS = 60_000;
/** Past this share of the hour's points, the app's calls are spread over what is left of the hour. */
const POINTS_SLOWDOWN_SHARE = 0.9;
/** Spreads the processes' first calls after a burst pause. */
const BURST_JITTER_MS = 500;

export interface BudgetOptions {
  /** A connection's calls per second when its settings name none; null: no per-second budget (pauses still hold). */
  defaultPerSecond: number | null;
  /** The OAuth app's points per hour (JIRA_APP_POINTS_PER_HOUR), shared by all its connections. */
  appPointsPerHour: number;
  /** Length of the points period; Jira's is the UTC hour, so only tests change it. */
  pointsPeriodMs?: number;
  /**
   * The longest a call waits here for a pause or a used-up budget. Beyond it the call fails at once with a 429
   * naming when to retry: activities (1–2 min start-to-close) are then retried by Temporal at that time
   * instead of timing out while they wait, and an API caller is not kept waiting.
   */
  maxHoldMs?: number;
}

/** Whose budget a client spends: its connection, that connection's per-second budget, and the OAuth app it pays points to. */
export interface BudgetLane {
  connection: string;
  /** undefined: the process default; null: no per-second budget */
  perSecond?: number | null;
  /** the OAuth client id, for connections that pay Jira's points (OAuth 2.0 3LO); absent for API tokens and Data Center */
  app?: string;
}

/** One request, as the budget sees it. */
export interface BudgetCall {
  /** e.g. `POST /rest/api/3/issue/{issueIdOrKey}/comment`, for the error when the call is held too long */
  endpoint: string;
  /** the issue a comment, transition or edit writes to */
  issueWrite?: string;
}

/** What a Jira client asks of the budget, around each request. */
export interface ConnectionBudget {
  /** Resolves when the request may be sent; throws JiraCallHeld (a 429) when that is more than the hold limit away. */
  take(call: BudgetCall): Promise<void>;
  /** Charges the issues returned, and acts on the rate-limit headers. For a 429: the seconds until the call may be retried. */
  settle(call: BudgetCall, answer: { status: number; limits: RateLimitHeaders; issues: number }): Promise<number | undefined>;
}

interface Scope {
  kind: 'connection' | 'app' | 'issue';
  /** the key of its local hold and turns */
  key: string;
  /** the calls it covers, for logs and errors */
  what: string;
}

type Lane = BudgetLane & { perSecond: number | null };

type Answer = { granted: true; res?: RateLimiterRes } | { granted: false; waitMs: number };

/**
 * Jira's rate limits as one budget held in PostgreSQL (rate-limiter-flexible's Postgres limiter), so that
 * every process (workers and APIs, any number of replicas) spends the same budget:
 * - each connection's requests per second (`rate_limit_per_second`), never more in any sliding second;
 * - each OAuth app's points per UTC hour, 1 before a call and 1 per issue returned after it;
 * - each issue's writes (20 per 2 s, 100 per 30 s);
 * - pauses after a 429, of an app, a connection or an issue, as Jira's RateLimit-Reason says, stored as
 *   blocks of those keys so every process waits them out.
 * Within a process, the calls waiting for one key take turns: only the first asks the store, the others wait
 * in memory (rate-limiter-flexible's RateLimiterQueue would let every caller that finds its queue empty ask the
 * store at once, and cannot pass a per-call window length). When PostgreSQL cannot be reached, each limiter
 * falls back to an in-memory one (the library's insurance limiter): calls go on, budgeted per process.
 * Slowing down is each process's own: X-RateLimit-NearLimit halves the connection's windows in the process
 * that got it (every process calling a connection near its limit gets such answers), and past 90 % of its
 * points an app's calls are spread over the rest of the hour in each process.
 */
export class JiraBudget {
  private readonly rps: RateLimiterPostgres;
  private readonly points: RateLimiterPostgres;
  private readonly issues: RateLimiterPostgres;
  private readonly periodMs: number;
  private readonly maxHoldMs: number;
  /** scope key → until when this process knows it must not call (a pause, or a refusal of the store) */
  private readonly holds = new Map<string, number>();
  private readonly turns = new Turns();
  /** connection → end of its near-limit slowdown */
  private readonly slowed = new Map<string, number>();
  /** app → spacing of its calls while past 90 % of the hour's points */
  private readonly paces = new Map<string, { until: number; spacingMs: number; nextAt: number }>();
  private readonly sweeper: NodeJS.Timeout;
  private storeDownSince = 0;

  /** The budget on its own small pool to `databaseUrl`; close() ends it. */
  static open(databaseUrl: string, opts: BudgetOptions): JiraBudget {
    // Short timeouts: while PostgreSQL is away, a call should fall back to the in-memory budget within a
    // second or two, not hang on a connection attempt.
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 3, connectionTimeoutMillis: 2_000, query_timeout: 2_000, idleTimeoutMillis: 10_000 });
    return new JiraBudget(pool, opts);
  }

  constructor(
    private readonly pool: pg.Pool,
    private readonly opts: BudgetOptions,
  ) {
    // An idle client that loses its server must not take the process down; the next query reconnects.
    pool.on('error', (err) => this.storeFailed(err));
    // The library queries through this, so that a failing store is said once, with what happens meanwhile.
    const store = { query: (q: pg.QueryConfig) => pool.query(q).then((r) => this.storeOk(r), (err: Error) => Promise.reject(this.storeFailed(err))) };
    const limiter = (keyPrefix: string, points: number, durationMs: number) =>
      new RateLimiterPostgres({
        storeClient: store,
        storeType: 'client',
        tableName: BUDGET_TABLE,
        tableCreated: true,
        clearExpiredByTimeout: false,
        keyPrefix,
        points,
        duration: durationMs / 1000,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: durationMs / 1000 }),
      });
    this.periodMs = opts.pointsPeriodMs ?? 3_600_000;
    this.maxHoldMs = opts.maxHoldMs ?? 30_000;
    // Each call names its own window length (customDuration): it depends on the connection's budget.
    this.rps = limiter('connection', 1, connectionWindowMs(opts.defaultPerSecond ?? 1));
    this.points = limiter('points', opts.appPointsPerHour, this.periodMs);
    this.issues = limiter('issue', ISSUE_WRITES.points, ISSUE_WRITES.windowMs);
    // Expired rows are dead weight only; the library's own sweeper has no way to be stopped, so this one runs instead.
    this.sweeper = setInterval(() => void pool.query(`delete from ${BUDGET_TABLE} where expire < $1`, [Date.now()]).catch(() => {}), 300_000).unref();
  }

  /** The budget a Jira client of this connection spends. */
  connection(lane: BudgetLane): ConnectionBudget {
    const resolved = { ...lane, perSecond: lane.perSecond === undefined ? this.opts.defaultPerSecond : lane.perSecond };
    return { take: (call) => this.take(resolved, call), settle: (call, answer) => this.settle(resolved, call, answer) };
  }

  /** The OAuth app's points spent this UTC hour (every process's), as the API and console show them. */
  async pointsThisHour(app: string): Promise<{ used: number; limit: number; resetsAt: Date }> {
    const period = Math.floor(Date.now() / this.periodMs);
    const res = await this.points.get(`${app}:${period}`).catch(() => null);
    return { used: res?.consumedPoints ?? 0, limit: this.opts.appPointsPerHour, resetsAt: new Date((period + 1) * this.periodMs) };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.pool.end();
  }

  private scopes(lane: BudgetLane, call: BudgetCall): { connection: Scope; app?: Scope; issue?: Scope } {
    return {
      connection: { kind: 'connection', key: `c:${lane.connection}`, what: `calls of connection ${lane.connection}` },
      app: lane.app ? { kind: 'app', key: `a:${lane.app}`, what: `calls of the OAuth app ${lane.app} (all its connections)` } : undefined,
      issue: call.issueWrite ? { kind: 'issue', key: `i:${lane.connection}/${call.issueWrite}`, what: `writes to issue ${call.issueWrite} of connection ${lane.connection}` } : undefined,
    };
  }

  private async take(lane: Lane, call: BudgetCall): Promise<void> {
    const started = performance.now();
    const { connection, app, issue } = this.scopes(lane, call);
    // The connection's window is taken last before the request, since it is the one that must be fresh; the
    // issue's writes and the app's points are asked for right after it, and a refusal gives it up.
    const attempt = async () => {
      for (;;) {
        await this.waitOut([connection, app, issue], call);
        await this.turns.take(connection.key, () => this.connectionSlot(lane, connection, app, call));
        if (issue && (await this.refused(issue, this.issues.consume(`${lane.connection}/${call.issueWrite}`)))) continue;
        if (lane.app && app && (await this.refused(app, this.spendPoint(lane.app)))) continue;
        return;
      }
    };
    try {
      // Writes to one issue go one after another in this process, so that only one of them asks the store.
      await (issue ? this.turns.take(issue.key, attempt) : attempt());
    } finally {
      metrics.jiraBudgetWait.observe({ connection: lane.connection }, (performance.now() - started) / 1000);
    }
  }

  /**
   * The connection's next window, taken by the first of its waiting calls in this process. Every call of an
   * OAuth connection spends its app's points, so the app's holds and pace are waited for here too: the calls
   * queued behind are the app's as well, and a window must not go stale while its call sleeps.
   */
  private async connectionSlot(lane: Lane, scope: Scope, app: Scope | undefined, call: BudgetCall): Promise<void> {
    for (;;) {
      await this.waitOut([scope, app], call);
      if (lane.app && app) await this.pace(lane.app, app, call);
      const request =
        lane.perSecond === null
          ? this.rps.get(lane.connection).then((r) => (r && r.consumedPoints > this.rps.points && r.msBeforeNext > 0 ? Promise.reject(r) : r))
          : this.rps.consume(lane.connection, 1, { customDuration: this.windowMs(lane.connection, lane.perSecond) / 1000 });
      const answer = await ask(request);
      // A window taken is this call's alone, so the next caller need not ask before it ends either.
      const until = Date.now() + (answer.granted ? (lane.perSecond === null ? 0 : (answer.res?.msBeforeNext ?? 0)) : answer.waitMs);
      this.hold(scope.key, until);
      if (answer.granted) return;
    }
  }

  private windowMs(connection: string, perSecond: number): number {
    return connectionWindowMs((this.slowed.get(connection) ?? 0) > Date.now() ? perSecond / 2 : perSecond);
  }

  /** Asks the store; a refusal holds the scope in this process until the store says to ask again. */
  private async refused(scope: Scope, request: Promise<RateLimiterRes | null>): Promise<boolean> {
    const answer = await ask(request);
    if (answer.granted) return false;
    this.hold(scope.key, Date.now() + answer.waitMs);
    return true;
  }

  /** Sleeps while this process knows a hold on any of the scopes; one longer than the hold limit fails the call now. */
  private async waitOut(scopes: Array<Scope | undefined>, call: BudgetCall): Promise<void> {
    for (;;) {
      const now = Date.now();
      let until = 0;
      let worst: Scope | undefined;
      for (const scope of scopes) {
        if (!scope) continue;
        const u = this.holds.get(scope.key) ?? 0;
        if (u <= now) this.holds.delete(scope.key);
        else if (u > until) [until, worst] = [u, scope];
      }
      if (!worst) return;
      if (until - now > this.maxHoldMs) throw held(worst, until, now, call);
      await sleep(until - now);
    }
  }

  private hold(key: string, until: number): void {
    if (until > (this.holds.get(key) ?? 0)) this.holds.set(key, until);
  }

  /** Past 90 % of the hour's points, the app's calls in this process are spaced so that the rest lasts the hour. */
  private async pace(app: string, scope: Scope, call: BudgetCall): Promise<void> {
    const pace = this.paces.get(app);
    const now = Date.now();
    if (!pace || pace.until <= now) return;
    const at = Math.max(now, pace.nextAt);
    if (at - now > this.maxHoldMs) throw held(scope, at, now, call);
    pace.nextAt = at + pace.spacingMs;
    await sleep(at - now);
  }

  /** One point before a call, from the app's current period (keyed by the UTC hour, so the windows are Jira's); refused when none is left. */
  private spendPoint(app: string): Promise<RateLimiterRes> {
    return this.chargePoints(app, 1, (key, options) => this.points.consume(key, 1, options));
  }

  /** The issue objects a call returned, charged after it: they are spent already, so this is never refused. */
  private chargeIssues(app: string, issues: number): Promise<RateLimiterRes> {
    return this.chargePoints(app, issues, (key, options) => this.points.penalty(key, issues, options));
  }

  private async chargePoints(app: string, points: number, charge: (key: string, options: { customDuration: number }) => Promise<RateLimiterRes>): Promise<RateLimiterRes> {
    const now = Date.now();
    const period = Math.floor(now / this.periodMs);
    const end = (period + 1) * this.periodMs;
    const res = await charge(`${app}:${period}`, { customDuration: (end - now) / 1000 });
    metrics.jiraPoints.inc({ app }, points);
    this.notePoints(app, res, end);
    return res;
  }

  private notePoints(app: string, res: RateLimiterRes, periodEnd: number): void {
    metrics.jiraPointsThisHour.set({ app }, res.consumedPoints);
    const budget = this.opts.appPointsPerHour;
    if (res.consumedPoints < budget * POINTS_SLOWDOWN_SHARE) return;
    const now = Date.now();
    const spacingMs = (periodEnd - now) / Math.max(1, budget - res.consumedPoints);
    const pace = this.paces.get(app);
    if (pace && pace.until > now) {
      pace.spacingMs = spacingMs;
      return;
    }
    this.paces.set(app, { until: periodEnd, spacingMs, nextAt: now });
    metrics.jiraSlowdowns.inc({ scope: 'app', cause: 'points' });
    log.warn(`the OAuth app ${app} has used ${res.consumedPoints} of its ${budget} Jira points this hour: this process spaces its calls ${Math.round(spacingMs)} ms apart until ${new Date(periodEnd).toISOString()}, and they wait for the next hour once none are left`, {
      app,
      pointsUsed: res.consumedPoints,
      until: new Date(periodEnd).toISOString(),
    });
  }

  private async settle(lane: Lane, call: BudgetCall, answer: { status: number; limits: RateLimitHeaders; issues: number }): Promise<number | undefined> {
    if (lane.app && answer.issues > 0) await ask(this.chargeIssues(lane.app, answer.issues));
    if (answer.limits.nearLimit && lane.perSecond !== null) this.slowDown(lane.connection, lane.perSecond);
    return answer.status === 429 ? this.pause(lane, call, answer.limits) : undefined;
  }

  private slowDown(connection: string, perSecond: number): void {
    const now = Date.now();
    const wasSlowed = (this.slowed.get(connection) ?? 0) > now;
    this.slowed.set(connection, now + NEAR_LIMIT_SLOWDOWN_MS);
    if (wasSlowed) return;
    metrics.jiraSlowdowns.inc({ scope: 'connection', cause: 'near_limit' });
    log.info(`Jira says connection ${connection} is near its rate limit: its calls from this process go at half its budget (${perSecond / 2}/s) until ${new Date(now + NEAR_LIMIT_SLOWDOWN_MS).toISOString()}`, { connection });
  }

  /**
   * A 429 pauses what Jira's reason names: the app's quota every OAuth connection of the app, the tenant's
   * quota (or a reason we do not know, or none) the connection until the reset, a burst the connection for
   * Retry-After, a per-issue limit the writes to that issue. Returns the seconds until the pause ends.
   */
  private async pause(lane: BudgetLane, call: BudgetCall, limits: RateLimitHeaders): Promise<number> {
    const now = Date.now();
    const s = this.scopes(lane, call);
    const { reason } = limits;
    const retryAfter = limits.retryAfterSeconds === undefined ? undefined : now + limits.retryAfterSeconds * 1000;
    const reset = rateLimitEnd(limits, now) ?? now + DEFAULT_PAUSE_MS;
    let [scope, until]: [Scope, number] = [s.connection, reset];
    if (reason === 'jira-quota-global-based' && s.app) [scope, until] = [s.app, reset];
    else if (reason === 'jira-burst-based') [scope, until] = [s.connection, (retryAfter ?? reset) + Math.round(Math.random() * BURST_JITTER_MS)];
    else if (reason === 'jira-per-issue-on-write' && s.issue) [scope, until] = [s.issue, retryAfter ?? reset];
    until = Math.min(until, now + MAX_PAUSE_MS);

    const known = Math.max(this.holds.get(scope.key) ?? 0, await this.storedPause(scope, lane, now));
    if (known >= until) {
      this.hold(scope.key, known);
      return Math.ceil((known - now) / 1000);
    }
    this.hold(scope.key, until);
    const seconds = (until - now) / 1000;
    if (scope.kind === 'connection') await ask(this.rps.block(lane.connection, seconds));
    if (scope.kind === 'issue') await ask(this.issues.block(`${lane.connection}/${call.issueWrite}`, seconds));
    if (scope.kind === 'app') {
      // Keyed by the hour, so a pause past the top of the hour blocks the next hour's key too.
      for (let p = Math.floor(now / this.periodMs); p <= Math.floor((until - 1) / this.periodMs); p++) await ask(this.points.block(`${lane.app}:${p}`, seconds));
    }
    const retryIn = Math.ceil(seconds);
    metrics.jiraPauses.inc({ scope: scope.kind, reason: isKnownReason(reason) ? reason : reason ? 'unknown' : 'none' });
    log.warn(`Jira answered 429 (${reason ?? 'no RateLimit-Reason'}): ${scope.what} wait until ${new Date(until).toISOString()}, in every process; the refused call is retried after ${retryIn} s`, {
      connection: lane.connection,
      app: lane.app,
      issue: call.issueWrite,
      reason: reason ?? null,
      until: new Date(until).toISOString(),
      endpoint: call.endpoint,
    });
    return retryIn;
  }

  /** The end of a connection pause another process stored, so that a shorter one does not cut it short (0: none). */
  private async storedPause(scope: Scope, lane: BudgetLane, now: number): Promise<number> {
    if (scope.kind !== 'connection') return 0;
    const current = await this.rps.get(lane.connection).catch(() => null);
    return current && current.consumedPoints > this.rps.points ? now + current.msBeforeNext : 0;
  }

  private storeOk<T>(result: T): T {
    if (this.storeDownSince) log.info('the shared Jira budget (PostgreSQL) answers again; processes share it again', { downSeconds: Math.round((Date.now() - this.storeDownSince) / 1000) });
    this.storeDownSince = 0;
    return result;
  }

  private storeFailed(err: Error): Error {
    if (!this.storeDownSince) {
      this.storeDownSince = Date.now();
      log.warn('the shared Jira budget (PostgreSQL) cannot be reached: Jira calls go on, budgeted by each process on its own until it answers again', { error: err });
    }
    return err;
  }
}

/** The store's answer: granted, or how long to wait. An error (the store and its in-memory insurance both failed) lets the call go: a budget must not stop Jira calls. */
async function ask(request: Promise<RateLimiterRes | null>): Promise<Answer> {
  try {
    return { granted: true, res: (await request) ?? undefined };
  } catch (err) {
    if (err instanceof RateLimiterRes) return { granted: false, waitMs: Math.max(1, err.msBeforeNext) };
    log.error('the Jira budget failed; the call goes ahead unbudgeted', { error: err });
    return { granted: true };
  }
}

function held(scope: Scope, until: number, now: number, call: BudgetCall): JiraCallHeld {
  return new JiraCallHeld(call.endpoint, `${scope.what} wait until ${new Date(until).toISOString()} for Jira's rate limits, longer than a call is held`, Math.ceil((until - now) / 1000));
}

/** Callers of one key take turns in arrival order, so only the first of them asks the store while the others wait in memory. */
class Turns {
  private readonly tails = new Map<string, Promise<void>>();

  async take<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before ? before.then(() => mine) : mine;
    this.tails.set(key, tail);
    try {
      await before;
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
