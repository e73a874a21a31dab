import { Migration } from '@mikro-orm/migrations';

/** Jira webhook deliveries already applied (Jira retries with the same identifier), and lookups by ticket for fan-out. */
export class Migration20261123040000_webhooks extends Migration {
  override up(): void {
    this.addSql(`create table "webhook_delivery" (
      "id" text primary key,
      "connection_key" text not null,
      "received_at" timestamptz not null default now())`);
    this.addSql(`create index "webhook_delivery_received_at_index" on "webhook_delivery" ("received_at")`);
    this.addSql(`create index "jira_ticket_instance_ticket_id_index" on "jira_ticket_instance" ("ticket_id")`);
    this.addSql(`create index "anomaly_ticket_link_ticket_key_index" on "anomaly_ticket_link" ("ticket_key")`);
    this.addSql(`create index "anomaly_ticket_link_ticket_id_index" on "anomaly_ticket_link" ("ticket_id")`);
  }

  override down(): void {
    this.addSql('drop index if exists "anomaly_ticket_link_ticket_id_index"');
    this.addSql('drop index if exists "anomaly_ticket_link_ticket_key_index"');
    this.addSql('drop index if exists "jira_ticket_instance_ticket_id_index"');
    this.addSql('drop table if exists "webhook_delivery"');
  }
}
