import { Migration } from '@mikro-orm/migrations';

/**
 * Where the OAuth callback sends the browser once it has stored the tokens: null answers JSON (an API
 * caller), 'console' redirects to the console's connection page. Only named places, never a URL, so the
 * callback cannot be made an open redirect.
 */
export class Migration20261202010000_oauth_return extends Migration {
  override up(): void {
    this.addSql('alter table "oauth_state" add column "return_to" text null');
  }

  override down(): void {
    this.addSql('alter table "oauth_state" drop column if exists "return_to"');
  }
}
