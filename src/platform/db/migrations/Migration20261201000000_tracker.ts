import { Migration } from '@mikro-orm/migrations';

/**
 * One tracker per connection reads what changed in Jira and tells only the workflows whose ticket changed.
 * It compares with what the read model holds, so the read model keeps Jira's `updated` of each ticket, and
 * whether the workflow has seen the submitted data (a lost submitData signal is sent again by the tracker).
 * Webhook deliveries for an issue no workflow tracks yet are parked for a while instead of dropped, and a
 * creation retried after a lost reply is checked for a duplicate once Jira's search has caught up.
 */
export class Migration20261201000000_tracker extends Migration {
  override up(): void {
    this.addSql(`alter table "jira_ticket_instance"
      add column "jira_updated" text null,
      add column "data_seen" boolean not null default false,
      add column "duplicate_check_after" timestamptz null`);
    this.addSql(`update "jira_ticket_instance" set "data_seen" = "data_submitted"`);
    this.addSql(`create index "jira_ticket_instance_duplicate_check_index" on "jira_ticket_instance" ("connection_key", "duplicate_check_after") where "duplicate_check_after" is not null`);
    this.addSql(`create index "jira_ticket_instance_tracked_index" on "jira_ticket_instance" ("connection_key") where "ticket_key" is not null and "task_state" not in ('completed', 'canceled')`);
    this.addSql(`alter table "anomaly_ticket_link" add column "jira_updated" text null`);
    this.addSql(`create index "anomaly_ticket_link_tracked_index" on "anomaly_ticket_link" ("connection_key") where "state" = 'active'`);
    this.addSql(`create table "webhook_parked" (
      "id" bigserial primary key,
      "connection_key" text not null,
      "issue_key" text not null,
      "issue_id" text null,
      "change" jsonb not null,
      "received_at" timestamptz not null default now())`);
    this.addSql(`create index "webhook_parked_issue_index" on "webhook_parked" ("connection_key", "issue_key")`);
    this.addSql(`create table "jira_tracker" (
      "connection_key" text primary key,
      "cycle" integer not null default 0,
      "last_cycle_at" timestamptz null,
      "next_cycle_at" timestamptz null,
      "last_reconcile_at" timestamptz null,
      "tracked" integer not null default 0,
      "changed" integer not null default 0,
      "calls" integer not null default 0,
      "points" integer not null default 0,
      "last_error" text null,
      "updated_at" timestamptz not null default now())`);
  }

  override down(): void {
    this.addSql('drop table if exists "jira_tracker"');
    this.addSql('drop table if exists "webhook_parked"');
    this.addSql('drop index if exists "anomaly_ticket_link_tracked_index"');
    this.addSql('alter table "anomaly_ticket_link" drop column "jira_updated"');
    this.addSql('drop index if exists "jira_ticket_instance_tracked_index"');
    this.addSql('drop index if exists "jira_ticket_instance_duplicate_check_index"');
    this.addSql('alter table "jira_ticket_instance" drop column "jira_updated", drop column "data_seen", drop column "duplicate_check_after"');
  }
}
