import { Context } from '@temporalio/activity';
import type { ActivityDeps } from '../privacy-requests/activities.js';
import { idempotencyLabel } from '../privacy-requests/activities.js';
import { jiraFor, withJiraFailures } from '../jira/activity-failures.js';
import { Connection } from '../platform/db/entities.js';
import type { JiraClient } from '../jira/client.js';
import { missingIssues, readSnapshots, SNAPSHOT_FIELDS, toSnapshot, type IssueSnapshot } from '../jira/snapshot.js';
import { hasWebhooks } from '../jira-webhooks/settings.js';
import { commentAddedSignal, linkSignal, submitDataSignal } from '../privacy-requests/messages.js';
import { signalIfRunning } from '../platform/temporal/signals.js';
import { log } from '../platform/log.js';
import { metrics } from '../platform/metrics.js';
import { newsOf, pruneParked, tell, unpark, watchersOf, PARK_MINUTES, type TicketNews, type TicketWatcher } from './watchers.js';
import type { CycleReport, ReconcileReport, TrackerState } from './messages.js';

/** A ticket a running workflow tracks, with what its workflow last recorded of it. */
interface Tracked {
  workflow_id: string;
  ticket_key: string;
  ticket_id: string | null;
  jira_updated: string | null;
  status: string | null;
  status_category: string | null;
}

/** Jira's cost of what a cycle did: calls, and points (1 per call plus 1 per issue object returned). */
class Tally {
  calls = 0;
  points = 0;
  readonly count = (issuesReturned: number) => {
    this.calls += 1;
    this.points += 1 + issuesReturned;
  };
}

/** A lost wake-up is only sent again once it is clearly lost, not while its workflow is taking it in. */
const HEAL_AFTER_SECONDS = 30;

/** Activities of the connection trackers: delta reads, reconciles, and the read model of their cycles. */
export function createTrackerActivities(deps: ActivityDeps) {
  const { orm, kit, temporal } = deps;
  const db = () => orm.em.getConnection();

  /** The tickets the connection's running workflows track (deleted ones wait for a link or data, not for Jira). */
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

  /** Sends again what a workflow should have heard: data stored but unseen, comments queued but undelivered, parked news. */
  async function heal(connectionKey: string): Promise<number> {
    const lostData = await db().execute<Array<{ workflow_id: string }>>(
      `select i.workflow_id from jira_ticket_instance i join submitted_data d on d.instance_id = i.instance_id
       where i.connection_key = ? and i.data_submitted and not i.data_seen and i.task_state in ('open', 'waiting_for_data', 'failed')
         and d.submitted_at < now() - make_interval(secs => ?)`,
      [connectionKey, HEAL_AFTER_SECONDS],
    );
    const lostComments = await db().execute<Array<{ workflow_id: string }>>(
      `select distinct l.workflow_id from anomaly_ticket_link l join anomaly_comment c on c.link_id = l.link_id
       where l.connection_key = ? and l.state = 'active' and c.delivered_at is null and c.accepted_at < now() - make_interval(secs => ?)`,
      [connectionKey, HEAL_AFTER_SECONDS],
    );
    let healed = 0;
    for (const { workflow_id } of lostData) healed += Number(await signalIfRunning(temporal, workflow_id, submitDataSignal));
    for (const { workflow_id } of lostComments) healed += Number(await signalIfRunning(temporal, workflow_id, commentAddedSignal));
    // A delivery parked because no workflow knew its issue yet, which one now does (the record that should
    // have claimed it ran just before the delivery was parked).
    const parked = await db().execute<Array<{ id: string; issue_key: string; issue_id: string | null; change: TicketNews }>>(
      'select id, issue_key, issue_id, change from webhook_parked where connection_key = ? and received_at > now() - make_interval(mins => ?) order by id',
      [connectionKey, PARK_MINUTES],
    );
    for (const p of parked) {
      const watchers = await watchersOf(db(), connectionKey, { key: p.issue_key, id: p.issue_id });
      if (!watchers.length) continue;
      healed += await tell(temporal, watchers, p.change);
      await unpark(db(), String(p.id));
    }
    await pruneParked(db());
    if (healed) log.info('sent lost wake-ups again', { connection: connectionKey, healed });
    return healed;
  }

  /**
   * Creations retried after a lost reply may have made a second ticket, found only once Jira's search caught
   * up: the first one stays, the others are closed with a comment naming it, and a workflow that tracks one of
   * the others is pointed at the first. One search covers up to 100 such creations.
   */
  async function sweepDuplicates(client: JiraClient, connectionKey: string, tally: Tally): Promise<number> {
    const due = await db().execute<Array<{ instance_id: string; workflow_id: string; ticket_key: string }>>(
      `select instance_id, workflow_id, ticket_key from jira_ticket_instance
       where connection_key = ? and duplicate_check_after <= now() and ticket_key is not null order by duplicate_check_after limit 100`,
      [connectionKey],
    );
    if (!due.length) return 0;
    const labels = due.map((d) => idempotencyLabel(d.instance_id));
    const found: Array<{ key: string; id: string; labels: string[]; created: string; done: boolean; snapshot: IssueSnapshot }> = [];
    let token: string | undefined;
    do {
      const page = await client.search(`labels in (${labels.map((l) => `"${l}"`).join(', ')}) ORDER BY created ASC`, [...SNAPSHOT_FIELDS, 'labels', 'created'], 1000, token);
      tally.count(page.issues.length);
      for (const issue of page.issues) {
        found.push({ key: issue.key, id: issue.id, labels: issue.fields?.labels ?? [], created: issue.fields?.created ?? '', done: issue.fields?.status?.statusCategory?.key === 'done', snapshot: toSnapshot(issue) });
      }
      token = page.nextPageToken;
    } while (token);
    let closed = 0;
    for (const d of due) {
      const label = idempotencyLabel(d.instance_id);
      const same = found.filter((f) => f.labels.includes(label)).sort((a, b) => Date.parse(a.created) - Date.parse(b.created) || Number(a.id) - Number(b.id));
      const [survivor, ...others] = same;
      if (survivor && others.length) {
        if (survivor.key.toUpperCase() !== d.ticket_key.toUpperCase()) {
          const seen = { ...newsOf(survivor.snapshot), ticketKey: survivor.key, id: survivor.id, url: client.browseUrl(survivor.key) };
          await signalIfRunning(temporal, d.workflow_id, linkSignal, { ticketKey: survivor.key, seen });
        }
        for (const other of others) {
          await client.addComment(other.key, `Duplicate of ${survivor.key}: ticketflow created this ticket when a retried request could not yet find ${survivor.key} in Jira's search. It is closed; follow ${survivor.key}.`);
          if (!other.done) {
            const toDone = (await client.transitions(other.key)).find((t) => t.toCategory === 'done');
            if (toDone) await client.transition(other.key, toDone.id);
          }
          tally.calls += 3;
          tally.points += 3;
          closed += 1;
          metrics.duplicatesClosed.inc({ connection: connectionKey });
          log.warn('closed a duplicate ticket left by a retried creation', { connection: connectionKey, duplicate: other.key, survivor: survivor.key });
        }
      }
      // Nothing found means the search has not caught up even now: look again next cycle, for a day at most.
      await db().execute("update jira_ticket_instance set duplicate_check_after = null where instance_id = ? and (? or duplicate_check_after < now() - interval '1 day')", [
        d.instance_id,
        same.length > 0,
      ]);
    }
    return closed;
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
      const webhooks = hasWebhooks(kit.secrets.read(connection));
      const healed = await heal(connectionKey);
      if (tracked.length === 0) {
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
        signalled += await tell(temporal, asWatchers(news), newsOf(snap));
      };

      await withJiraFailures(async () => {
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
        const jql = `project in (${projects.map((p) => `"${p}"`).join(', ')}) AND updated >= -${minutes}m ORDER BY updated ASC`;
        let token: string | undefined;
        do {
          Context.current().heartbeat();
          const page = await client.search(jql, SNAPSHOT_FIELDS, 1000, token);
          tally.count(page.issues.length);
          for (const issue of page.issues) await consider(toSnapshot(issue));
          token = page.nextPageToken;
        } while (token);
      });
      const duplicatesClosed = await withJiraFailures(() => sweepDuplicates(client, connectionKey, tally));
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
      await db().execute(
        `insert into jira_tracker (connection_key, cycle, last_cycle_at, next_cycle_at, last_reconcile_at, tracked, changed, calls, points, last_error, updated_at)
         values (?, ?, now(), ?, ?, ?, ?, ?, ?, ?, now())
         on conflict (connection_key) do update set cycle = excluded.cycle, last_cycle_at = excluded.last_cycle_at, next_cycle_at = excluded.next_cycle_at,
           last_reconcile_at = excluded.last_reconcile_at, tracked = excluded.tracked, changed = excluded.changed, calls = excluded.calls,
           points = excluded.points, last_error = excluded.last_error, updated_at = now()`,
        [connectionKey, state.cycle, nextCycleAt, state.lastReconcileAt, last?.tracked ?? 0, last?.changed ?? 0, last?.calls ?? 0, last?.points ?? 0, state.lastError],
      );
      metrics.trackerCycles.inc({ connection: connectionKey, outcome: state.lastError ? 'failed' : 'ok' });
    },
  };
}

export type TrackerActivities = ReturnType<typeof createTrackerActivities>;
