import { Migration } from '@mikro-orm/migrations';

/**
 * Personal data sealed at rest, kept only as long as needed, erasable, and every action audited.
 *
 * - `privacy_request.identity` and `submitted_data.sealed` hold the data subject's identity and the manual
 *   task's data as sealed boxes (SECRET_KEYS, see personal-data/sealing.ts). SQL cannot seal, so rows written
 *   before this migration keep their plain `email`, `phone` and `data` until the first process starts with
 *   this version: it seals them and empties the plain columns (personal-data/eraser.ts, sealLegacyRows), and
 *   every retention run does so again for rows an older process wrote during a rolling upgrade. The plain
 *   columns stay, always null, until a later migration drops them.
 * - `closed_at` (canceled or denied) and `manual_tasks_completed_at` start the retention period;
 *   `personal_data_erased_at` and `submitted_data.erased_at` keep the fact that data was erased.
 * - Ticket instances remember the ticket ticketflow rendered and which of its fields used personal variables,
 *   and the state of its redaction in Jira.
 * - `audit_log` is append-only for the application's role: a trigger refuses every UPDATE and TRUNCATE and
 *   every DELETE of an entry younger than 30 days (the shortest AUDIT_LOG_RETENTION_DAYS), whoever runs it;
 *   inserts get the server's time, so an entry cannot be back-dated. Only the table's owner or a superuser can
 *   get round it, by DDL (docs/personal-data.md says how to keep even that away from the application).
 */
export class Migration20261210000000_personal_data extends Migration {
  override up(): void {
    this.addSql(`alter table "privacy_request"
      add column "identity" jsonb null,
      add column "closed_at" timestamptz null,
      add column "personal_data_erased_at" timestamptz null`);
    this.addSql(`update "privacy_request" set "closed_at" = "updated_at" where "status" in ('canceled', 'denied')`);
    this.addSql(`create index "privacy_request_done_index" on "privacy_request" (least("manual_tasks_completed_at", "closed_at"))`);
    this.addSql(`alter table "submitted_data"
      alter column "data" drop not null,
      add column "sealed" jsonb null,
      add column "erased_at" timestamptz null`);
    this.addSql(`alter table "jira_ticket_instance"
      add column "rendered_ticket_key" text null,
      add column "personal_fields" text[] null,
      add column "jira_redaction" text null,
      add column "jira_redacted_at" timestamptz null`);
    // Before this, a ticket key was either the one ticketflow created or one linked in its place; the erasure
    // names it either way (personal_fields null: worked out from the connection's templates then).
    this.addSql(`update "jira_ticket_instance" set "rendered_ticket_key" = "ticket_key" where "ticket_key" is not null`);
    this.addSql(`create index "jira_ticket_instance_redaction_index" on "jira_ticket_instance" ("privacy_request_id") where "jira_redaction" = 'pending'`);

    this.addSql(`create table "audit_log" (
      "id" bigserial primary key,
      "at" timestamptz not null default now(),
      "actor" text not null,
      "token_id" text null,
      "token_name" text null,
      "method" text null,
      "route" text not null,
      "targets" jsonb not null default '{}',
      "target_ids" text[] not null default '{}',
      "status" integer null,
      "temporal" text null,
      "request_id" text null)`);
    this.addSql(`create index "audit_log_at_index" on "audit_log" ("at")`);
    this.addSql(`create index "audit_log_target_ids_index" on "audit_log" using gin ("target_ids")`);
    this.addSql(`create function "audit_log_guard"() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          new.at := now();
          return new;
        elsif tg_op = 'DELETE' and old.at < now() - interval '30 days' then
          return old;
        elsif tg_op = 'DELETE' then
          raise exception 'audit_log is append-only: entry % is younger than 30 days and cannot be deleted', old.id using errcode = '42501';
        end if;
        raise exception 'audit_log is append-only: % is refused', tg_op using errcode = '42501';
      end $$`);
    this.addSql(`create trigger "audit_log_append_only" before insert or update or delete on "audit_log" for each row execute function "audit_log_guard"()`);
    this.addSql(`create trigger "audit_log_no_truncate" before truncate on "audit_log" for each statement execute function "audit_log_guard"()`);
  }

  override down(): void {
    this.addSql('drop table if exists "audit_log"');
    this.addSql('drop function if exists "audit_log_guard"()');
    this.addSql('drop index if exists "jira_ticket_instance_redaction_index"');
    this.addSql('alter table "jira_ticket_instance" drop column "rendered_ticket_key", drop column "personal_fields", drop column "jira_redaction", drop column "jira_redacted_at"');
    this.addSql('alter table "submitted_data" drop column "sealed", drop column "erased_at"');
    this.addSql('drop index if exists "privacy_request_done_index"');
    this.addSql('alter table "privacy_request" drop column "identity", drop column "closed_at", drop column "personal_data_erased_at"');
  }
}
