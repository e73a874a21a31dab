import { Migration } from '@mikro-orm/migrations';

/**
 * Ticket workflows still to be started. An approval commits its instances with start_pending and answers;
 * the API starts their workflows right after, and again after a failure (start_after), so a 2xx never
 * depends on Temporal being reachable at that moment. workflow_started_at tells a cancel whether there is a
 * workflow to tell.
 */
export class Migration20261123060000_workflow_starts extends Migration {
  override up(): void {
    this.addSql(`alter table "jira_ticket_instance"
      add column "start_pending" boolean not null default false,
      add column "start_attempts" integer not null default 0,
      add column "start_after" timestamptz null,
      add column "workflow_started_at" timestamptz null`);
    // Before this, an instance was written just before its workflow was started.
    this.addSql(`update "jira_ticket_instance" set "workflow_started_at" = "created_at"`);
    this.addSql(`create index "jira_ticket_instance_start_pending_index" on "jira_ticket_instance" ("created_at") where "start_pending"`);
  }

  override down(): void {
    this.addSql('drop index if exists "jira_ticket_instance_start_pending_index"');
    this.addSql('alter table "jira_ticket_instance" drop column "start_pending", drop column "start_attempts", drop column "start_after", drop column "workflow_started_at"');
  }
}
