import { Migration } from '@mikro-orm/migrations';

/**
 * Every Jira setup (issue 15): a pending authorization keeps what its callback needs besides the state, sealed
 * (the PKCE verifier of Data Center OAuth 2.0, the request token's secret of OAuth 1.0a); ticket instances
 * keep the resolution Jira reports, which the API shows so that a status mapping can leave "Won't Do" out.
 */
export class Migration20261205000000_jira_setups extends Migration {
  override up(): void {
    this.addSql('alter table "oauth_state" add column "secret" jsonb null');
    this.addSql('alter table "jira_ticket_instance" add column "resolution" text null');
  }

  override down(): void {
    this.addSql('alter table "oauth_state" drop column if exists "secret"');
    this.addSql('alter table "jira_ticket_instance" drop column if exists "resolution"');
  }
}
