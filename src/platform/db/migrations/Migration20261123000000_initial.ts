import { Migration } from '@mikro-orm/migrations';

export class Migration20261123000000_initial extends Migration {
  override up(): void {
    this.addSql(`create table "connection" (
      "key" text primary key,
      "name" text not null,
      "connection_type" text not null,
      "access" text not null,
      "disabled" boolean not null default false,
      "secrets" jsonb not null default '{}',
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now())`);
    this.addSql(`create table "privacy_request" (
      "id" text primary key,
      "request_type" text not null,
      "status" text not null,
      "submitted_at" timestamptz null,
      "approved_at" timestamptz null,
      "due_date" timestamptz null,
      "policy_name" text null,
      "email" text null,
      "phone" text null,
      "request_url" text null,
      "manual_tasks_completed_at" timestamptz null,
      "manual_tasks_completed_by" text null,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now())`);
    this.addSql(`create table "jira_ticket_instance" (
      "instance_id" text primary key,
      "privacy_request_id" text not null references "privacy_request" ("id") on delete cascade,
      "connection_key" text not null,
      "workflow_id" text not null unique,
      "ticket_id" text null,
      "ticket_key" text null,
      "ticket_url" text null,
      "status" text null,
      "status_category" text null,
      "task_state" text not null,
      "data_submitted" boolean not null default false,
      "last_error" text null,
      "state_seq" integer not null default 0,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      unique ("privacy_request_id", "connection_key"))`);
    this.addSql(`create index "jira_ticket_instance_privacy_request_id_index" on "jira_ticket_instance" ("privacy_request_id")`);
    this.addSql(`create index "jira_ticket_instance_ticket_key_index" on "jira_ticket_instance" ("ticket_key")`);
    this.addSql(`create table "submitted_data" (
      "instance_id" text primary key references "jira_ticket_instance" ("instance_id") on delete cascade,
      "data" jsonb not null,
      "submitted_at" timestamptz not null)`);
  }

  override down(): void {
    this.addSql('drop table if exists "submitted_data"');
    this.addSql('drop table if exists "jira_ticket_instance"');
    this.addSql('drop table if exists "privacy_request"');
    this.addSql('drop table if exists "connection"');
  }
}
