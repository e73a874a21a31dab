import { Migration } from '@mikro-orm/migrations';

/** API tokens: only a hash of each secret is kept; the token itself is shown once, when it is created. */
export class Migration20261123050000_api_tokens extends Migration {
  override up(): void {
    this.addSql(`create table "api_token" (
      "id" text primary key,
      "name" text not null,
      "scopes" text[] not null,
      "secret_hash" text not null,
      "created_at" timestamptz not null default now(),
      "last_used_at" timestamptz null,
      "revoked_at" timestamptz null)`);
  }

  override down(): void {
    this.addSql('drop table if exists "api_token"');
  }
}
