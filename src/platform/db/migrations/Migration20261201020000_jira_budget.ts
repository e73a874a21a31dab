import { Migration } from '@mikro-orm/migrations';

/**
 * The shared Jira budget (src/jira/budget.ts): rate-limiter-flexible's Postgres table, as the library would
 * create it, made here so that the schema stays in the migrations (the limiters are told it exists). One row
 * per key: a connection's current one-call window or pause, an OAuth app's points in one UTC hour, an
 * issue's writes; `expire` is epoch milliseconds.
 */
export class Migration20261201020000_jira_budget extends Migration {
  override up(): void {
    this.addSql(`create table "jira_budget" ("key" varchar(255) primary key, "points" integer not null default 0, "expire" bigint)`);
  }

  override down(): void {
    this.addSql('drop table if exists "jira_budget"');
  }
}
