import type { Client } from '@temporalio/client';
import { refreshSignal, ticketChangedSignal, type TicketChange, type TrackedStatusCategory } from './news.js';
import { signalIfRunning } from '../platform/temporal/signals.js';
import type { IssueSnapshot } from '../jira/snapshot.js';
import { countsAsDone } from '../jira/status.js';

// SQL rather than entities here: the watchers of an issue are read across both features' tables in one query,
// and parked news is claimed by a delete … returning, so that two claims cannot both take it.

/** Runs SQL with positional `?` parameters: an EntityManager, or its connection, inside a transaction or not. */
export interface Sql {
  // MikroORM's own signature types results by its entity data; these queries shape their rows themselves.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  execute(sql: string, params?: any[]): Promise<any>;
}

/** A workflow that tracks an issue, and the key it knows the issue by (a moved issue gets a new key, keeps its id). */
export interface TicketWatcher {
  workflowId: string;
  ticketKey: string;
}

/** News of a ticket without the key, which each watcher gets in the form it knows; null: "it changed, read it". */
export type TicketNews = Omit<TicketChange, 'ticketKey'> | null;

/** How long a delivery about an issue nobody tracks yet is kept for the workflow that may start tracking it. */
export const PARK_MINUTES = 15;

/** News of a snapshot; with the connection's status mapping, whether its status counts as done. */
export function newsOf(snapshot: IssueSnapshot | null, doneStatusIds?: readonly string[] | null): Omit<TicketChange, 'ticketKey'> {
  if (!snapshot) return { status: null, statusCategory: 'deleted', updated: null };
  return {
    status: snapshot.status,
    statusCategory: snapshot.statusCategory,
    resolution: snapshot.resolution,
    assignee: snapshot.assignee,
    updated: snapshot.updated,
    ...(doneStatusIds?.length ? { statusId: snapshot.statusId, done: countsAsDone(doneStatusIds, snapshot.statusId, snapshot.statusCategory) } : {}),
  };
}

/** The running workflows (privacy-request instances, anomaly links) that track the issue on the connection. */
export function watchersOf(sql: Sql, connectionKey: string, issue: { key: string; id?: string | null }): Promise<TicketWatcher[]> {
  return sql.execute(
    `select workflow_id as "workflowId", ticket_key as "ticketKey" from jira_ticket_instance
       where connection_key = ? and (ticket_key = ? or ticket_id = ?) and task_state not in ('completed', 'canceled')
     union all
     select workflow_id, ticket_key from anomaly_ticket_link
       where connection_key = ? and (ticket_key = ? or ticket_id = ?) and state = 'active'`,
    [connectionKey, issue.key, issue.id ?? '', connectionKey, issue.key, issue.id ?? ''],
  );
}

/** Tells each watcher the news; returns how many were still running to hear it. */
export async function tell(temporal: Client, watchers: TicketWatcher[], news: TicketNews): Promise<number> {
  const told = await Promise.all(
    watchers.map((w) =>
      news ? signalIfRunning(temporal, w.workflowId, ticketChangedSignal, { ...news, ticketKey: w.ticketKey }) : signalIfRunning(temporal, w.workflowId, refreshSignal),
    ),
  );
  return told.filter(Boolean).length;
}

/** Keeps news of an issue nobody tracks yet; returns its id, to take it back if a watcher turns up. */
export async function park(sql: Sql, connectionKey: string, issue: { key: string; id?: string | null }, news: TicketNews): Promise<string> {
  const [row] = (await sql.execute(
    'insert into webhook_parked (connection_key, issue_key, issue_id, change) values (?, ?, ?, ?::jsonb) returning id',
    [connectionKey, issue.key.toUpperCase(), issue.id ?? null, JSON.stringify(news)],
  )) as Array<{ id: string }>;
  return String(row!.id);
}

export async function unpark(sql: Sql, id: string): Promise<void> {
  await sql.execute('delete from webhook_parked where id = ?', [id]);
}

/**
 * Takes the parked news of an issue that a workflow now tracks: the newest change (by Jira's `updated`), with
 * the key the workflow knows. Parked "read it" notes carry nothing the workflow's own read lacks.
 */
export async function claimParked(sql: Sql, connectionKey: string, issue: { key: string; id?: string | null }): Promise<TicketChange | undefined> {
  const rows: Array<{ change: TicketNews }> = await sql.execute(
    `delete from webhook_parked where connection_key = ? and (issue_key = ? or (issue_id is not null and issue_id = ?))
       and received_at > now() - make_interval(mins => ?) returning change`,
    [connectionKey, issue.key.toUpperCase(), issue.id ?? '', PARK_MINUTES],
  );
  const changes = rows.map((r) => r.change).filter((c): c is NonNullable<TicketNews> => !!c);
  changes.sort((a, b) => Date.parse(b.updated ?? '') - Date.parse(a.updated ?? '') || 0);
  return changes[0] ? { ...changes[0], ticketKey: issue.key } : undefined;
}

export async function pruneParked(sql: Sql): Promise<void> {
  await sql.execute('delete from webhook_parked where received_at < now() - make_interval(mins => ?)', [PARK_MINUTES]);
}
