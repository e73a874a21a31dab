import { Migration } from '@mikro-orm/migrations';

/** Anomalies as the upstream knows them, their ticket links, and each link's outbox of comments to deliver in order. */
export class Migration20261123030000_anomalies extends Migration {
  override up(): void {
    this.addSql(`create table "anomaly" (
      "id" text primary key,
      "datastore_id" text null,
      "type" text not null,
      "status" text not null,
      "detected_at" timestamptz null,
      "failed_checks" jsonb not null default '[]',
      "url" text null,
      "connection_key" text null,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now())`);
    this.addSql(`create table "anomaly_ticket_link" (
      "link_id" text primary key,
      "anomaly_id" text not null references "anomaly" ("id") on delete cascade,
      "connection_key" text not null,
      "workflow_id" text not null unique,
      "origin" text not null,
      "ticket_id" text null,
      "ticket_key" text not null,
      "ticket_url" text null,
      "status" text null,
      "status_category" text null,
      "resolution" text null,
      "assignee" text null,
      "state" text not null,
      "last_error" text null,
      "last_synced_at" timestamptz null,
      "comment_seq" integer not null default 0,
      "state_seq" integer not null default 0,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      unique ("anomaly_id", "ticket_key"))`);
    this.addSql(`create table "anomaly_comment" (
      "link_id" text not null references "anomaly_ticket_link" ("link_id") on delete cascade,
      "seq" integer not null,
      "body" text not null,
      "accepted_at" timestamptz not null default now(),
      "delivered_at" timestamptz null,
      "jira_comment_id" text null,
      primary key ("link_id", "seq"))`);
  }

  override down(): void {
    this.addSql('drop table if exists "anomaly_comment"');
    this.addSql('drop table if exists "anomaly_ticket_link"');
    this.addSql('drop table if exists "anomaly"');
  }
}
