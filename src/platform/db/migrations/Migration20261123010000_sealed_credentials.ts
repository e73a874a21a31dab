import { Migration } from '@mikro-orm/migrations';

/** Credentials move to a sealed column; rows written before are re-sealed at start (see resealConnections). */
export class Migration20261123010000_sealed_credentials extends Migration {
  override up(): void {
    this.addSql('alter table "connection" add column "credentials" jsonb null');
  }

  override down(): void {
    this.addSql('alter table "connection" drop column "credentials"');
  }
}
