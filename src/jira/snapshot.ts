import { JiraApiError, namedIssueKeys } from './errors.js';
import { statusCategoryOf, type JiraClient, type RawIssue, type StatusCategory } from './client.js';

/** What tracking needs of an issue: enough for privacy-request instances and anomaly links alike. */
export interface IssueSnapshot {
  id: string;
  key: string;
  status: string;
  /** Jira's status id, which a connection's status mapping names (absent where Jira did not say) */
  statusId?: string;
  statusCategory: StatusCategory;
  resolution: string | null;
  assignee: string | null;
  updated: string | null;
}

/** The only fields tracking asks for: Jira's points are per issue object, but smaller answers are faster. */
export const SNAPSHOT_FIELDS = ['status', 'resolution', 'assignee', 'updated'];
const MAX_BULK = 100;

export function toSnapshot(issue: RawIssue): IssueSnapshot {
  return {
    id: issue.id,
    key: issue.key,
    status: issue.fields?.status?.name ?? 'Unknown',
    ...(issue.fields?.status?.id ? { statusId: issue.fields.status.id } : {}),
    statusCategory: statusCategoryOf(issue),
    resolution: issue.fields?.resolution?.name ?? null,
    assignee: issue.fields?.assignee?.displayName ?? null,
    updated: issue.fields?.updated ?? null,
  };
}

/** One issue, read directly; null when Jira says it does not exist (deleted, or no longer visible to us). */
export async function readSnapshot(client: JiraClient, key: string): Promise<IssueSnapshot | null> {
  const issue = await client.getIssue(key, SNAPSHOT_FIELDS);
  return issue ? toSnapshot(issue) : null;
}

interface Waiter {
  resolve(snapshot: IssueSnapshot | null): void;
  reject(err: unknown): void;
}

/**
 * Direct reads of single issues that share a connection's budget: while one read of a connection is waiting for
 * its window or in flight, the keys asked for meanwhile are gathered, and the next call reads them together (a
 * bulk read, up to 100). A burst of refreshes then costs one call per budget window, instead of queueing
 * behind a window each (at 10 calls a second, ten refreshes a second would wait ever longer). One per process.
 */
export class SnapshotReads {
  private readonly lanes = new Map<string, { asked: Map<string, Waiter[]>; busy: boolean }>();

  /** `lane` names the budget the read spends (the connection); `client` is one of that connection's clients. */
  read(lane: string, client: JiraClient, key: string): Promise<IssueSnapshot | null> {
    let l = this.lanes.get(lane);
    if (!l) this.lanes.set(lane, (l = { asked: new Map(), busy: false }));
    const answer = new Promise<IssueSnapshot | null>((resolve, reject) => {
      const waiting = l.asked.get(key);
      if (waiting) waiting.push({ resolve, reject });
      else l.asked.set(key, [{ resolve, reject }]);
    });
    if (!l.busy) void this.drain(lane, l, client);
    return answer;
  }

  private async drain(lane: string, l: { asked: Map<string, Waiter[]>; busy: boolean }, client: JiraClient): Promise<void> {
    l.busy = true;
    try {
      while (l.asked.size) {
        const batch = [...l.asked].slice(0, MAX_BULK);
        for (const [key] of batch) l.asked.delete(key);
        const keys = batch.map(([key]) => key);
        try {
          const read = keys.length === 1 ? new Map([[keys[0]!, await readSnapshot(client, keys[0]!)]]) : await readSnapshots(client, keys);
          for (const [key, waiters] of batch) for (const w of waiters) w.resolve(read.get(key) ?? null);
        } catch (err) {
          for (const [, waiters] of batch) for (const w of waiters) w.reject(err);
        }
      }
    } finally {
      l.busy = false;
      this.lanes.delete(lane);
    }
  }
}

/**
 * Many issues in bulk (100 per call). Bulk reads leave out issues that are gone without saying so, so each
 * one missing is confirmed by a direct read before it is reported gone (null); a moved issue answers under
 * its new key and is found by its old key or id. Returns a snapshot (or null) for each key asked.
 */
export async function readSnapshots(client: JiraClient, keys: string[], count?: (issuesReturned: number) => void): Promise<Map<string, IssueSnapshot | null>> {
  const out = new Map<string, IssueSnapshot | null>();
  for (let i = 0; i < keys.length; i += MAX_BULK) {
    const chunk = keys.slice(i, i + MAX_BULK);
    const found = new Map<string, IssueSnapshot>();
    const issues = await client.readIssues(chunk, SNAPSHOT_FIELDS);
    count?.(issues.length);
    for (const issue of issues) {
      const snap = toSnapshot(issue);
      found.set(snap.key.toUpperCase(), snap);
      found.set(snap.id, snap);
    }
    for (const key of chunk) {
      const hit = found.get(key.toUpperCase()) ?? found.get(key);
      if (hit) out.set(key, hit);
      else {
        const confirmed = await readSnapshot(client, key);
        count?.(confirmed ? 1 : 0);
        out.set(key, confirmed);
      }
    }
  }
  return out;
}

/**
 * Which of `keys` no longer exist (or are no longer visible), at the cost of one count per 100 keys and no
 * issue objects: Jira answers a JQL `key in (…)` that names a missing issue with a 400 naming it, and
 * otherwise counts the matches. A count short of the keys with no 400 (the search index lags, or an issue is
 * hidden some other way) falls back to a bulk read of those keys. `count` is told of each call's issue objects.
 */
export async function missingIssues(client: JiraClient, keys: string[], count?: (issuesReturned: number) => void): Promise<string[]> {
  const missing: string[] = [];
  for (let i = 0; i < keys.length; i += MAX_BULK) {
    const chunk = keys.slice(i, i + MAX_BULK);
    /** the keys Jira said are missing; null when it only counted fewer than asked */
    let named: string[] | null = null;
    try {
      const n = await client.countIssues(`key in (${chunk.map((k) => `"${k}"`).join(', ')})`);
      count?.(0);
      if (n >= chunk.length) continue;
    } catch (err) {
      if (!(err instanceof JiraApiError) || err.status !== 400) throw err;
      count?.(0);
      const said = new Set(namedIssueKeys(err.messages));
      named = chunk.filter((k) => said.has(k.toUpperCase()));
      if (named.length === 0) named = null;
    }
    if (named) {
      // Each one Jira named is confirmed by a direct read (a moved issue answers under its new key).
      for (const key of named) {
        const snap = await readSnapshot(client, key);
        count?.(snap ? 1 : 0);
        if (!snap) missing.push(key);
      }
    } else {
      const read = await readSnapshots(client, chunk, count);
      missing.push(...chunk.filter((k) => !read.get(k)));
    }
  }
  return missing;
}
