import { metrics } from '../metrics.js';
import { statusCategoryOf, type JiraClient, type RawIssue, type StatusCategory } from './client.js';

/** What tracking needs of an issue: enough for privacy-request instances and anomaly links alike. */
export interface IssueSnapshot {
  id: string;
  key: string;
  status: string;
  statusCategory: StatusCategory;
  resolution: string | null;
  assignee: string | null;
  updated: string | null;
}

export const SNAPSHOT_FIELDS = ['status', 'resolution', 'assignee', 'updated'];
const MAX_BATCH = 100;

export function toSnapshot(issue: RawIssue): IssueSnapshot {
  return {
    id: issue.id,
    key: issue.key,
    status: issue.fields?.status?.name ?? 'Unknown',
    statusCategory: statusCategoryOf(issue),
    resolution: issue.fields?.resolution?.name ?? null,
    assignee: issue.fields?.assignee?.displayName ?? null,
    updated: issue.fields?.updated ?? null,
  };
}

interface Waiter {
  resolve: (s: IssueSnapshot | null) => void;
  reject: (e: unknown) => void;
}

interface Batch {
  client: JiraClient;
  waiters: Map<string, Waiter[]>;
  startedAt: number;
  timer?: NodeJS.Timeout;
}

/**
 * Coalesces single-issue reads on one connection into bulk reads: every read that arrives while a batch is
 * open (until `windowMs` pass without a new one, `maxWaitMs` at most, or 100 issues) shares one Jira call.
 * Poll timers fire on aligned boundaries, so a cycle's reads arrive together and N tickets cost ⌈N/100⌉
 * calls. An issue missing from a bulk answer is confirmed gone by one GET before it is reported deleted
 * (a moved issue answers under its new key).
 */
export class IssueReads {
  private readonly open = new Map<string, Batch>();

  constructor(private readonly opts: { coalesce: boolean; windowMs: number; maxWaitMs: number }) {}

  read(connectionKey: string, client: JiraClient, key: string): Promise<IssueSnapshot | null> {
    if (!this.opts.coalesce) return readOne(client, key);
    let batch = this.open.get(connectionKey);
    if (!batch) this.open.set(connectionKey, (batch = { client, waiters: new Map(), startedAt: Date.now() }));
    const wanted = key.toUpperCase();
    const result = new Promise<IssueSnapshot | null>((resolve, reject) => {
      const list = batch.waiters.get(wanted) ?? [];
      list.push({ resolve, reject });
      batch.waiters.set(wanted, list);
    });
    clearTimeout(batch.timer);
    if (batch.waiters.size >= MAX_BATCH) {
      void this.flush(connectionKey, batch);
    } else {
      const wait = Math.max(0, Math.min(this.opts.windowMs, batch.startedAt + this.opts.maxWaitMs - Date.now()));
      batch.timer = setTimeout(() => void this.flush(connectionKey, batch), wait);
    }
    return result;
  }

  private async flush(connectionKey: string, batch: Batch): Promise<void> {
    if (this.open.get(connectionKey) === batch) this.open.delete(connectionKey);
    const keys = [...batch.waiters.keys()];
    metrics.statusReadBatches.observe({ connection: connectionKey }, keys.length);
    const timer = metrics.statusReadSeconds.startTimer({ connection: connectionKey });
    try {
      const found = new Map<string, IssueSnapshot>();
      for (const issue of await batch.client.readIssues(keys, SNAPSHOT_FIELDS)) {
        const snap = toSnapshot(issue);
        found.set(snap.key.toUpperCase(), snap);
        found.set(snap.id, snap);
      }
      const missing = keys.filter((k) => !found.has(k));
      await Promise.all(
        missing.map(async (k) => {
          const waiters = batch.waiters.get(k)!;
          batch.waiters.delete(k);
          try {
            const confirmed = await readOne(batch.client, k);
            waiters.forEach((w) => w.resolve(confirmed));
          } catch (err) {
            waiters.forEach((w) => w.reject(err));
          }
        }),
      );
      for (const [k, waiters] of batch.waiters) waiters.forEach((w) => w.resolve(found.get(k)!));
    } catch (err) {
      for (const list of batch.waiters.values()) list.forEach((w) => w.reject(err));
    } finally {
      timer();
    }
  }
}

async function readOne(client: JiraClient, key: string): Promise<IssueSnapshot | null> {
  const issue = await client.getIssue(key, SNAPSHOT_FIELDS);
  return issue ? toSnapshot(issue) : null;
}
