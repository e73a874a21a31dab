import { Migration } from '@mikro-orm/migrations';

/** Pending OAuth authorizations: a state is single-use (deleted when used) and expires. Only its hash is kept. */
export class Migration20261123020000_oauth_state extends Migration {
  override up(): void {
    this.addSql(`create table "oauth_state" (
      "state_hash" text primary key,
      "connection_key" text not null references "connection" ("key") on delete cascade,
      "expires_at" timestamptz not null)`);
  }

  override down(): void {
    this.addSql('drop table if exists "oauth_state"');
  }
}
