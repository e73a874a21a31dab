import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../platform/db/orm.js';
import { Connection, JiraTicketInstance } from '../platform/db/entities.js';
import type { SealedBox } from '../platform/keyring.js';
import { notFound } from '../platform/errors.js';
import { personalFieldsOf } from '../templates/render.js';
import { log } from '../platform/log.js';
import { metrics } from '../platform/metrics.js';
import type { PersonalDataSeal } from './sealing.js';

/** Where a ticket stands with its redaction in Jira: asked for and to do, done, its ticket gone, or not wanted by its connection. */
export type RedactionState = 'pending' | 'done' | 'ticket_gone' | 'not_enabled';

/** A ticket whose fields were rendered from personal variables: it holds the data subject's email or phone in Jira. */
export interface PersonalTicket {
  instance_id: string;
  connection_key: string;
  ticket_key: string;
  /** `summary`, `description`, `labels`, custom field ids */
  personal_fields: string[];
  jira_redaction: RedactionState;
}

/** What an erasure did: field names and ids only, never the values. */
export interface ErasureReport {
  privacy_request_id: string;
  /** when this request's personal data was last erased (now, or by an earlier erasure); null: there never was any */
  erased_at: Date | null;
  /** what this erasure removed; empty when it had been erased already (erasure is idempotent) */
  erased: { identity: Array<'email' | 'phone'>; submitted_data: string[] };
  tickets: PersonalTicket[];
}

/** Fields a ticket edit can put back without the personal values (labels cannot be rewritten safely: they are shared words). */
export const REDACTABLE = (field: string) => field === 'summary' || field === 'description' || field.startsWith('customfield_');

/** A day's worth of due requests is erased in batches of this many, each request in its own transaction. */
const BATCH = 200;

/**
 * Erases a privacy request's personal data (its identity and every submitted data of its tickets) and keeps
 * everything else: the ids, the states, the ticket keys, the timestamps, and the fact that data was submitted
 * and erased. Used by the API (on demand), the retention schedule, and completion when the retention is 0.
 */
export class PersonalDataEraser {
  constructor(
    private readonly orm: Orm,
    private readonly seal: PersonalDataSeal,
  ) {}

  /** Erases now; repeating it changes nothing more and answers the same tickets. */
  async erase(requestId: string, reason: 'on_demand' | 'retention'): Promise<ErasureReport> {
    const report = await this.orm.em.fork().transactional(async (em) => {
      // SQL: the legacy plain columns are not in the entity; the row is locked so two erasures do not interleave
      const [row] = await em.execute<Array<{ id: string; identity: SealedBox | null; email: string | null; phone: string | null; personal_data_erased_at: Date | null }>>(
        'select id, identity, email, phone, personal_data_erased_at from privacy_request where id = ? for update',
        [requestId],
      );
      if (!row) throw notFound('privacy request', requestId);
      const opened = this.seal.openIdentity(row);
      const identity = (['email', 'phone'] as const).filter((f) => opened[f] || row[f]);
      // SQL: which rows held data is what the answer names; one statement finds and empties them
      const submitted = await em.execute<Array<{ instance_id: string }>>(
        `update submitted_data d set sealed = null, data = null, erased_at = now()
         from jira_ticket_instance i
         where i.instance_id = d.instance_id and i.privacy_request_id = ? and (d.sealed is not null or d.data is not null)
         returning d.instance_id`,
        [requestId],
      );
      const erasedNow = identity.length > 0 || submitted.length > 0;
      const [after] = await em.execute<Array<{ personal_data_erased_at: string | Date | null }>>(
        `update privacy_request set identity = null, email = null, phone = null,
           personal_data_erased_at = case when ? then now() else personal_data_erased_at end
         where id = ? returning personal_data_erased_at`,
        [erasedNow, requestId],
      );
      const tickets = await this.personalTickets(em, requestId);
      return {
        privacy_request_id: requestId,
        // raw rows carry PostgreSQL's text for a timestamptz
        erased_at: after?.personal_data_erased_at ? new Date(after.personal_data_erased_at) : null,
        erased: { identity, submitted_data: submitted.map((s) => s.instance_id).sort() },
        tickets,
      } satisfies ErasureReport;
    });
    if (report.erased.identity.length || report.erased.submitted_data.length) {
      metrics.personalDataErasures.inc({ reason });
      log.info('personal data erased', { privacyRequestId: requestId, reason, fields: report.erased.identity, submittedData: report.erased.submitted_data.length, tickets: report.tickets.length });
    }
    return report;
  }

  /**
   * The request's tickets whose fields were rendered from personal variables, and their redaction: marked
   * pending here (in the erasure's transaction) when the connection asks for it, so a redaction that cannot
   * start now is started by the next retention run.
   */
  private async personalTickets(em: EntityManager, requestId: string): Promise<PersonalTicket[]> {
    const instances = await em.find(JiraTicketInstance, { privacyRequestId: requestId, renderedTicketKey: { $ne: null } }, { orderBy: { connectionKey: 'asc' } });
    const connections = new Map((await em.find(Connection, { key: { $in: [...new Set(instances.map((i) => i.connectionKey))] } })).map((c) => [c.key, c]));
    const tickets: PersonalTicket[] = [];
    for (const i of instances) {
      // Templates are the readable part of a connection's settings; credentials are not needed to know them.
      const s = (connections.get(i.connectionKey)?.secrets ?? {}) as Record<string, any>;
      const settings = { summaryTemplate: s.summary_template ?? '', descriptionTemplate: s.description_template ?? null, labels: s.labels ?? null, customFields: s.custom_fields ?? null };
      // Instances from before the fields were recorded: the connection's templates as they are now tell.
      const fields = (i.personalFields as string[] | null | undefined) ?? personalFieldsOf(settings);
      if (!fields.length) continue;
      let state = (i.jiraRedaction as RedactionState | null | undefined) ?? null;
      if (!state && s.redact_personal_data_in_jira === true && fields.some(REDACTABLE)) {
        state = 'pending';
        await em.nativeUpdate(JiraTicketInstance, { instanceId: i.instanceId }, { jiraRedaction: 'pending' });
      }
      tickets.push({ instance_id: i.instanceId, connection_key: i.connectionKey, ticket_key: i.renderedTicketKey!, personal_fields: fields, jira_redaction: state ?? 'not_enabled' });
    }
    return tickets;
  }

  /**
   * Erases the requests whose retention ran out by `asOf`: manual tasks complete, or canceled or denied, more
   * than `retentionDays` before, with personal data still held. At most `limit` requests; `more` when others wait.
   */
  async eraseDue(asOf: Date, retentionDays: number, limit = BATCH): Promise<{ reports: ErasureReport[]; more: boolean }> {
    const cutoff = new Date(asOf.getTime() - retentionDays * 86_400_000);
    // SQL: "holds personal data" spans the request's legacy columns and its instances' submitted data
    const due = await this.orm.em.getConnection().execute<Array<{ id: string }>>(
      `select r.id from privacy_request r
       where least(r.manual_tasks_completed_at, r.closed_at) <= ?
         and (r.identity is not null or r.email is not null or r.phone is not null
              or exists (select 1 from jira_ticket_instance i join submitted_data d on d.instance_id = i.instance_id
                         where i.privacy_request_id = r.id and (d.sealed is not null or d.data is not null)))
       order by least(r.manual_tasks_completed_at, r.closed_at), r.id
       limit ?`,
      [cutoff, limit + 1],
    );
    const reports: ErasureReport[] = [];
    for (const { id } of due.slice(0, limit)) reports.push(await this.erase(id, 'retention'));
    return { reports, more: due.length > limit };
  }

  /** Requests with a redaction still to do (one that could not start, or stopped on a failure). */
  async pendingRedactions(limit = 1000): Promise<string[]> {
    // SQL: distinct over a partial index
    const rows = await this.orm.em.getConnection().execute<Array<{ privacy_request_id: string }>>(
      "select distinct privacy_request_id from jira_ticket_instance where jira_redaction = 'pending' order by privacy_request_id limit ?",
      [limit],
    );
    return rows.map((r) => r.privacy_request_id);
  }

  /**
   * Seals what is still in plain text (rows written before sealing existed, or by an older process during a
   * rolling upgrade) and re-seals boxes of a retired key, so rotating SECRET_KEYS is a restart. Runs at every
   * process start and every retention run. After plain text was sealed, VACUUM FULL rewrites the two tables so
   * their files no longer hold the old row versions.
   */
  async sealLegacyRows(): Promise<{ sealed: number; resealed: number }> {
    const db = this.orm.em.getConnection();
    const kid = this.seal.keyring.activeKid;
    let sealed = 0;
    let resealed = 0;
    for (;;) {
      // SQL: the legacy plain columns are not part of the entity
      const rows = await db.execute<Array<{ id: string; identity: SealedBox | null; email: string | null; phone: string | null }>>(
        `select id, identity, email, phone from privacy_request
         where email is not null or phone is not null or (identity is not null and identity->>'kid' <> ?) limit ?`,
        [kid, BATCH],
      );
      if (!rows.length) break;
      for (const r of rows) {
        const opened = this.seal.openIdentity(r);
        const box = this.seal.sealIdentity(r.id, { email: r.email ?? opened.email, phone: r.phone ?? opened.phone });
        await db.execute('update privacy_request set identity = ?::jsonb, email = null, phone = null where id = ?', [box ? JSON.stringify(box) : null, r.id]);
        if (r.email !== null || r.phone !== null) sealed++;
        else resealed++;
      }
    }
    for (;;) {
      const rows = await db.execute<Array<{ instance_id: string; data: Record<string, unknown> | null; sealed: SealedBox | null }>>(
        `select instance_id, data, sealed from submitted_data where data is not null or (sealed is not null and sealed->>'kid' <> ?) limit ?`,
        [kid, BATCH],
      );
      if (!rows.length) break;
      for (const r of rows) {
        const data = r.data ?? this.seal.openSubmitted({ instanceId: r.instance_id, sealed: r.sealed }) ?? {};
        await db.execute('update submitted_data set sealed = ?::jsonb, data = null where instance_id = ?', [JSON.stringify(this.seal.sealSubmitted(r.instance_id, data)), r.instance_id]);
        if (r.data !== null) sealed++;
        else resealed++;
      }
    }
    if (sealed) {
      // Plain text is still in the dead row versions of the table files until they are rewritten.
      await db.execute('vacuum (full) privacy_request, submitted_data');
      log.info('sealed personal data stored in plain text by an earlier version, and rewrote the tables', { rows: sealed, kid });
    }
    if (resealed) log.info('re-sealed personal data with the active key', { rows: resealed, kid });
    return { sealed, resealed };
  }
}
