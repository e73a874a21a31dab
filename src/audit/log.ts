import type { Orm } from '../platform/db/orm.js';
import { AuditEntry } from '../platform/db/entities.js';
import { log } from '../platform/log.js';
import { metrics } from '../platform/metrics.js';

export type AuditActor = 'api_token' | 'jira_webhook' | 'oauth_redirect' | 'temporal_console' | 'cli' | 'anonymous';

/** One entry to record: who, what, on which ids, with what outcome. Nothing here may carry a body or personal data. */
export interface NewAuditEntry {
  actor: AuditActor;
  tokenId?: string | null;
  tokenName?: string | null;
  method?: string | null;
  route: string;
  targets: Record<string, string | string[]>;
  status?: number | null;
  temporal?: string | null;
  requestId?: string | null;
}

export interface AuditQuery {
  /** any id the entry names (a request, instance, connection, anomaly, ticket key, workflow id) */
  target?: string;
  since?: Date;
  until?: Date;
  /** the last id of the previous page */
  after?: number;
  limit: number;
}

/**
 * The audit log in PostgreSQL (`audit_log`): written once per action, read by admins, purged past its own
 * retention. The table refuses updates, and deletes of entries younger than 30 days, for every role that does
 * not change its definition (see the migration): this class only ever inserts, reads and purges.
 */
export class AuditLog {
  constructor(private readonly orm: Orm) {}

  /**
   * Writes the entry. An entry that cannot be written (PostgreSQL away just after the action) is logged as an
   * error line with every field instead, and counted, so it is not lost without a trace; the action's answer
   * stands, since what it changed is committed.
   */
  async record(e: NewAuditEntry): Promise<void> {
    const targetIds = [...new Set(Object.values(e.targets).flat())];
    try {
      await this.orm.em.fork().insert(AuditEntry, {
        actor: e.actor,
        tokenId: e.tokenId ?? null,
        tokenName: e.tokenName ?? null,
        method: e.method ?? null,
        route: e.route,
        targets: e.targets,
        targetIds,
        status: e.status ?? null,
        temporal: e.temporal ?? null,
        requestId: e.requestId ?? null,
      });
      metrics.auditEntries.inc({ actor: e.actor, outcome: 'written' });
    } catch (err) {
      metrics.auditEntries.inc({ actor: e.actor, outcome: 'failed' });
      log.error('audit entry could not be written; it is this log line', { audit: { ...e, targetIds }, err });
    }
  }

  async list(q: AuditQuery): Promise<{ items: AuditEntry[]; more: boolean }> {
    const where: Record<string, unknown> = {};
    if (q.target) where.targetIds = { $contains: [q.target] };
    if (q.since || q.until) where.at = { ...(q.since ? { $gte: q.since } : {}), ...(q.until ? { $lt: q.until } : {}) };
    if (q.after !== undefined) where.id = { $gt: q.after };
    const rows = await this.orm.em.fork().find(AuditEntry, where, { orderBy: { id: 'asc' }, limit: q.limit + 1 });
    return { items: rows.slice(0, q.limit), more: rows.length > q.limit };
  }

  /** Deletes entries older than `retentionDays` (at least 30: the table itself refuses younger ones). */
  async purge(retentionDays: number): Promise<number> {
    // SQL: a bulk delete by age, which the table's trigger checks row by row
    const res = await this.orm.em.getConnection().execute<{ affectedRows: number }>(
      'delete from audit_log where at < now() - make_interval(days => ?)',
      [Math.max(30, retentionDays)],
      'run',
    );
    return res.affectedRows ?? 0;
  }
}

/**
 * The ids a workflow id names, by kind: `privacy-request/pri_1/jira/jira` → privacy_request pri_1 and connection
 * jira, so that `target=pri_1` finds what operators did to that request's workflows too.
 */
export function targetsOfWorkflowId(workflowId: string): Record<string, string> {
  const kinds: Record<string, string> = { 'privacy-request': 'privacy_request', jira: 'connection', anomaly: 'anomaly', ticket: 'ticket', 'jira-tracker': 'connection', 'jira-webhooks': 'connection' };
  const parts = workflowId.split('/');
  const out: Record<string, string> = { workflow: workflowId };
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const kind = kinds[parts[i]!];
    if (kind && parts[i + 1]) out[kind] = parts[i + 1]!;
  }
  return out;
}
