import type { FakeJiraProcess } from '../../tools/fake-jira/process.js';
import { Http, type Reply } from './http.js';
import type { TrafficStats } from '../../tools/fake-jira/traffic.js';

/**
 * The fake Jira's admin API (`/_fake`), as the benchmarks use it: its counters (calls and Atlassian's points,
 * the sliding-second maximum, 429s), its clock, bulk seeding and touching of issues, deletions, webhooks and
 * its own rate limit; and `api`, an authenticated client of its Jira REST API for what the benchmark itself
 * reads (seeding, the Fides-style baseline).
 */

export type FakeStats = TrafficStats;

/** The credentials the benchmark connection uses (the fake accepts any Basic credentials unless told otherwise). */
export const BENCH_JIRA_USER = { username: 'bench@example.com', apiKey: 'bench-token' };

export class FakeJiraAdmin {
  readonly http: Http;
  /** Jira's REST API of the fake, with the connection's credentials: calls here are counted like the product's. */
  readonly api: Http;

  constructor(readonly proc: FakeJiraProcess) {
    this.http = new Http(proc.url, 16);
    this.api = new Http(proc.url, 16);
    this.api.headers.authorization = `Basic ${Buffer.from(`${BENCH_JIRA_USER.username}:${BENCH_JIRA_USER.apiKey}`).toString('base64')}`;
  }

  get url(): string {
    return this.proc.url;
  }

  async stats(): Promise<FakeStats> {
    return (await this.http.ok('GET', '/_fake/stats')).json<FakeStats>();
  }

  async resetStats(): Promise<void> {
    await this.http.ok('POST', '/_fake/stats/reset');
  }

  /** The fake's own per-second budget (429 `jira-burst-based` beyond it); null removes it. */
  async setRateLimit(perSecond: number | null): Promise<void> {
    await this.http.ok('POST', '/_fake/rate-limit', { perSecond });
  }

  /** Moves an issue as a person in Jira's UI would; `webhook: false` keeps it quiet (no webhook delivery). */
  async transition(key: string, status: string, webhook?: boolean): Promise<{ id: string; key: string; self: string; fields: { updated: string } }> {
    return (await this.http.ok('POST', `/_fake/issues/${key}/transition`, webhook === undefined ? { status } : { status, webhook })).json();
  }

  /** Seeds `count` issues at once (no webhooks, not counted as calls); keys are consecutive from `first`. */
  async bulkCreate(spec: { count: number; project: string; status?: string; summaryPrefix?: string }): Promise<{ first: string; last: string }> {
    return (await this.http.ok('POST', '/_fake/issues/bulk', spec)).json();
  }

  /** Moves `updated` of the issues (and their status, if given); webhooks only when asked. */
  async touch(keys: string[], opts: { status?: string; webhook?: boolean } = {}): Promise<void> {
    await this.http.ok('POST', '/_fake/issues/touch', { keys, ...opts });
  }

  /** Deletes an issue as a person would (the `jira:issue_deleted` webhook fires). */
  async remove(key: string): Promise<Reply> {
    return this.http.ok('DELETE', `/_fake/issues/${key}`);
  }

  /** The fake's clock (real time plus an offset): issue timestamps, relative JQL and the points quota read it. */
  async clock(change?: { advanceMs: number } | { offsetMs: number }): Promise<{ now: string; offsetMs: number }> {
    return (change ? await this.http.ok('POST', '/_fake/clock', change) : await this.http.ok('GET', '/_fake/clock')).json();
  }

  /** Sets the clock to a given instant (ms since the epoch). */
  setClock(at: number): Promise<{ now: string; offsetMs: number }> {
    return this.clock({ offsetMs: Math.round(at - Date.now()) });
  }

  /** An admin webhook (signed with `secret`, as Jira Cloud's admin webhooks are). */
  async addWebhook(hook: { url: string; secret?: string; events?: string[] }): Promise<number> {
    return (await this.http.ok('POST', '/_fake/webhooks', hook)).json<{ id: number }>().id;
  }

  async issues(): Promise<Array<{ key: string; id: string; fields: { labels?: string[]; status: { name: string } } }>> {
    return (await this.http.ok('GET', '/_fake/issues')).json();
  }

  async fault(f: Record<string, unknown>): Promise<void> {
    await this.http.ok('POST', '/_fake/faults', f);
  }

  close(): void {
    this.http.close();
    this.api.close();
  }
}

/** Consecutive keys `first` … (`count` of them): bulk seeding numbers them in a row. */
export function keyRange(first: string, count: number): string[] {
  const m = /^([A-Z][A-Z0-9_]*)-(\d+)$/.exec(first);
  if (!m) throw new Error(`${first} is not an issue key`);
  const start = Number(m[2]);
  return Array.from({ length: count }, (_, i) => `${m[1]}-${start + i}`);
}

/**
 * Runs `work` alone against the fake and returns what Jira counted for it: the counters are reset before and
 * read after, so nothing else may call the fake meanwhile (the benchmarks run the product and its baseline apart).
 */
export async function countCalls<T>(fake: FakeJiraAdmin, work: () => Promise<T>): Promise<{ result: T; stats: FakeStats; seconds: number }> {
  await fake.resetStats();
  const t0 = performance.now();
  const result = await work();
  const seconds = (performance.now() - t0) / 1000;
  return { result, stats: await fake.stats(), seconds };
}
