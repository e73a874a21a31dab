import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { withJiraFailures } from '../jira/activity-failures.js';
import { jiraFor } from '../connections/service.js';
import type { ConnectionKit } from '../connections/kit.js';
import type { Orm } from '../platform/db/orm.js';
import { Connection, JiraTracker, WebhookParked } from '../platform/db/entities.js';
import { missingIssues, readSnapshots, SNAPSHOT_FIELDS, toSnapshot, type IssueSnapshot } from '../jira/snapshot.js';
import { hasWebhooks } from '../jira-webhooks/settings.js';
import { log } from '../platform/log.js';
import { metrics } from '../platform/metrics.js';
import { newsOf, pruneParked, tell, unpark, watchersOf, PARK_MINUTES, type TicketNews, type TicketWatcher } from './watchers.js';
import { Tally, type TrackerChore } from './chores.js';
import type { CycleReport, ReconcileReport, TrackerState } from './messages.js';

export interface TrackerDeps {
  orm: Orm;
  kit: ConnectionKit;
  /** signals the workflows whose ticket changed */
  temporal: Client;
  /** what the features have the tracker do each cycle besides reading changes (lost wake-ups, duplicates) */
  chores: TrackerChore[];
}

/** A ticket a running workflow tracks, with what its workflow last recorded of it. */
interface Tracked {
  workflow_id: string;
  ticket_key: string;
  ticket_id: string | null;
  jira_updated: string | null;
  status: string | null;
  status_category: string | null;
}

/** Activities of the connection trackers: delta reads, reconciles, and the read model of their cycles. */
export function createTrackerActivities(deps: TrackerDeps) {
  const { orm, kit, temporal, chores } = deps;
  const db = () => orm.em.getConnection();

  /** The tickets the connection's running workflows track (deleted ones wait for a link or data, not for Jira). */
  // SQL: one read across both features' tables
  const trackedOf = (connectionKey: string): Promise<Tracked[]> =>
    db().execute<Tracked[]>(
      `select workflow_id, ticket_key, ticket_id, jira_updated, status, status_category from jira_ticket_instance
         where connection_key = ? and ticket_key is not null and task_state in ('open', 'waiting_for_data')
       union all
       select workflow_id, ticket_key, ticket_id, jira_updated, status, status_category from anomaly_ticket_link
         where connection_key = ? and state = 'active'`,
      [connectionKey, connectionKey],
    );

  /** Groups watchers by the issue's key and id, so a moved issue (new key, same id) still finds them. */
  function index(tracked: Tracked[]) {
    const byKey = new Map<string, Tracked[]>();
    const byId = new Map<string, Tracked[]>();
    for (const t of tracked) {
      byKey.set(t.ticket_key.toUpperCase(), [...(byKey.get(t.ticket_key.toUpperCase()) ?? []), t]);
      if (t.ticket_id) byId.set(t.ticket_id, [...(byId.get(t.ticket_id) ?? []), t]);
    }
    return (snap: { key: string; id: string }) => byKey.get(snap.key.toUpperCase()) ?? byId.get(snap.id) ?? [];
  }

  /** Jira holds something newer than the workflow recorded (or, without Jira's `updated` on record, something else). */
  function changed(t: Tracked, snap: IssueSnapshot): boolean {
    if (snap.updated && t.jira_updated) {
      const [seen, held] = [Date.parse(snap.updated), Date.parse(t.jira_updated)];
      if (Number.isFinite(seen) && Number.isFinite(held)) return seen > held;
    }
    return snap.status !== t.status || snap.statusCategory !== t.status_category;
  }

  const asWatchers = (ts: Tracked[]): TicketWatcher[] => ts.map((t) => ({ workflowId: t.workflow_id, ticketKey: t.ticket_key }));

  /** News parked because no workflow knew its issue yet, which one now does (the record that should have claimed it ran just before it was parked). */
  async function applyParked(connectionKey: string): Promise<number> {
    const parked = await orm.em
      .fork()
      .find(WebhookParked, { connectionKey, receivedAt: { $gt: new Date(Date.now() - PARK_MINUTES * 60_000) } }, { orderBy: { id: 'asc' } });
    let told = 0;
    for (const p of parked) {
      const watchers = await watchersOf(db(), connectionKey, { key: p.issueKey, id: p.issueId });
      if (!watchers.length) continue;
      told += await tell(temporal, watchers, p.change as TicketNews);
      await unpark(db(), String(p.id));
    }
    await pruneParked(db());
    return told;
  }

  return {
    /**
     * One cycle: the tracked tickets that changed since `cursor` (minus the overlap), read with one JQL search
     * over the projects they are in, asking only for the fields tracking needs; only their workflows are told.
     * Without a cursor (a new tracker) every tracked ticket is read in bulk once. `now` is when the cycle was
     * due (the workflow's time); the next cycle reads from it, so a cycle that started late only reads more.
     */
    async syncChanges({ connectionKey, cursor, overlapMinutes, now }: { connectionKey: string; cursor: string | null; overlapMinutes: number; now?: string }): Promise<CycleReport> {
      const startedAt = now ? new Date(now) : new Date();
      const timer = metrics.trackerCycleSeconds.startTimer({ connection: connectionKey });
      const em = orm.em.fork();
      const connection = await em.findOne(Connection, { key: connectionKey });
      const idle = { tracked: 0, changed: 0, signalled: 0, calls: 0, points: 0, healed: 0, duplicatesClosed: 0, cursor: startedAt.toISOString(), webhooks: false };
      if (!connection) return { ...idle, cursor: cursor ?? idle.cursor, stop: `connection ${connectionKey} was removed` };
      if (connection.disabled) return { ...idle, cursor: cursor ?? idle.cursor, stop: `connection ${connectionKey} is disabled` };
      const tracked = await trackedOf(connectionKey);
      const stored = kit.secrets.read(connection);
      const webhooks = hasWebhooks(stored);
      const mapping = (stored.done_status_ids as string[] | null | undefined) ?? null;
      // An explicit scope bounds the delta read; without one, the projects of the tracked tickets (the default scope's project, and any linked).
      const scope = typeof stored.jql_scope === 'string' && stored.jql_scope.trim() ? stored.jql_scope.trim() : null;
      let healed = await applyParked(connectionKey);
      if (tracked.length === 0 && !chores.length) {
        timer();
        return { ...idle, healed, webhooks };
      }
      const { client } = await jiraFor(em, kit, connectionKey);
      const watchersOfIssue = index(tracked);
      const tally = new Tally();
      let changedCount = 0;
      let signalled = 0;
      const consider = async (snap: IssueSnapshot) => {
        const news = watchersOfIssue(snap).filter((t) => changed(t, snap));
        if (!news.length) return;
        changedCount += 1;
        signalled += await tell(temporal, asWatchers(news), newsOf(snap, mapping));
      };

      await withJiraFailures(async () => {
        if (tracked.length === 0) return;
        if (cursor === null) {
          const keys = [...new Set(tracked.map((t) => t.ticket_key.toUpperCase()))];
          const read = await readSnapshots(client, keys, tally.count);
          for (const [key, snap] of read) {
            Context.current().heartbeat();
            if (snap) await consider(snap);
            else {
              const gone = tracked.filter((t) => t.ticket_key.toUpperCase() === key);
              changedCount += 1;
              signalled += await tell(temporal, asWatchers(gone), newsOf(null));
            }
          }
          return;
        }
        // Relative dates need no time zone: JQL reads absolute ones in the Jira user's zone, at minute precision.
        const minutes = Math.max(1, Math.ceil((startedAt.getTime() - Date.parse(cursor)) / 60_000)) + overlapMinutes;
        const projects = [...new Set(tracked.map((t) => t.ticket_key.split('-')[0]!.toUpperCase()))].sort();
        const jql = `${scope ? `(${scope})` : `project in (${projects.map((p) => `"${p}"`).join(', ')})`} AND updated >= -${minutes}m ORDER BY updated ASC`;
        let token: string | undefined;
        do {
          Context.current().heartbeat();
          const page = await client.search(jql, SNAPSHOT_FIELDS, 1000, token);
          tally.count(page.issues.length);
          for (const issue of page.issues) await consider(toSnapshot(issue));
          token = page.nextPageToken;
        } while (token);
      });
      let duplicatesClosed = 0;
      for (const chore of chores) {
        const done = await withJiraFailures(() => chore.run({ connectionKey, client, tally, doneStatusIds: mapping }));
        healed += done.healed ?? 0;
        duplicatesClosed += done.duplicatesClosed ?? 0;
      }
      if (healed) log.info('sent lost wake-ups again', { connection: connectionKey, healed });
      metrics.trackerChanges.inc({ connection: connectionKey }, changedCount);
      timer();
      return { tracked: tracked.length, changed: changedCount, signalled, calls: tally.calls, points: tally.points, healed, duplicatesClosed, cursor: startedAt.toISOString(), webhooks };
    },

    /** Finds tracked tickets that no longer exist (deleted, or no longer visible), for about 1 point per 100 tickets. */
    async reconcileTickets({ connectionKey }: { connectionKey: string }): Promise<ReconcileReport> {
      const em = orm.em.fork();
      const tracked = await trackedOf(connectionKey);
      if (!tracked.length) return { checked: 0, deleted: 0, calls: 0, points: 0 };
      const { client } = await jiraFor(em, kit, connectionKey);
      const tally = new Tally();
      const keys = [...new Set(tracked.map((t) => t.ticket_key.toUpperCase()))];
      const missing = await withJiraFailures(() => missingIssues(client, keys, tally.count));
      for (const key of missing) {
        log.warn('tracked ticket no longer exists in Jira', { connection: connectionKey, ticketKey: key });
        await tell(temporal, asWatchers(tracked.filter((t) => t.ticket_key.toUpperCase() === key)), newsOf(null));
      }
      return { checked: keys.length, deleted: missing.length, calls: tally.calls, points: tally.points };
    },

    /** The cycle as the API and console show it. */
    async recordTrackerState({ connectionKey, state, nextCycleAt }: { connectionKey: string; state: TrackerState; nextCycleAt: string }): Promise<void> {
      const last = state.last;
      const em = orm.em.fork();
      await em.upsert(JiraTracker, {
        connectionKey,
        cycle: state.cycle,
        lastCycleAt: new Date(),
        nextCycleAt: new Date(nextCycleAt),
        lastReconcileAt: state.lastReconcileAt ? new Date(state.lastReconcileAt) : null,
        tracked: last?.tracked ?? 0,
        changed: last?.changed ?? 0,
        calls: last?.calls ?? 0,
        points: last?.points ?? 0,
        lastError: state.lastError,
        updatedAt: new Date(),
      });
      metrics.trackerCycles.inc({ connection: connectionKey, outcome: state.lastError ? 'failed' : 'ok' });
    },
  };
}

export type TrackerActivities = ReturnType<typeof createTrackerActivities>;
