import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { entities } from './entities.js';
import { Migration20261123000000_initial } from './migrations/Migration20261123000000_initial.js';
import { Migration20261123010000_sealed_credentials } from './migrations/Migration20261123010000_sealed_credentials.js';
import { Migration20261123020000_oauth_state } from './migrations/Migration20261123020000_oauth_state.js';
import { Migration20261123030000_anomalies } from './migrations/Migration20261123030000_anomalies.js';
import { Migration20261123040000_webhooks } from './migrations/Migration20261123040000_webhooks.js';
import { Migration20261123050000_api_tokens } from './migrations/Migration20261123050000_api_tokens.js';
import { Migration20261123060000_workflow_starts } from './migrations/Migration20261123060000_workflow_starts.js';
import { Migration20261201000000_tracker } from './migrations/Migration20261201000000_tracker.js';
import { Migration20261201020000_jira_budget } from './migrations/Migration20261201020000_jira_budget.js';
import { Migration20261202000000_integration_ids } from './migrations/Migration20261202000000_integration_ids.js';
import { Migration20261202010000_oauth_return } from './migrations/Migration20261202010000_oauth_return.js';
import { Migration20261210000000_personal_data } from './migrations/Migration20261210000000_personal_data.js';
import { Migration20261205000000_jira_setups } from './migrations/Migration20261205000000_jira_setups.js';

export type Orm = MikroORM;

/** The dev stack's PostgreSQL (`npm start`): the token command reaches it when DATABASE_URL is unset. */
export const DEV_DATABASE = { user: 'ticketflow', password: 'ticketflow', name: 'ticketflow' } as const;
export const devDatabaseUrl = (port: number) => `postgres://${DEV_DATABASE.user}:${DEV_DATABASE.password}@127.0.0.1:${port}/${DEV_DATABASE.name}`;

/** Connects to PostgreSQL and applies every pending migration (the committed SQL is the schema of record). */
export async function openDatabase(databaseUrl: string, options: { poolMax?: number } = {}): Promise<Orm> {
  const orm = await MikroORM.init({
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    // A burst of approvals and the starts of their workflows (which hold a connection each) run at once.
    pool: { min: 0, max: options.poolMax ?? 20 },
    migrations: {
      migrationsList: [
        { name: 'Migration20261123000000_initial', class: Migration20261123000000_initial },
        { name: 'Migration20261123010000_sealed_credentials', class: Migration20261123010000_sealed_credentials },
        { name: 'Migration20261123020000_oauth_state', class: Migration20261123020000_oauth_state },
        { name: 'Migration20261123030000_anomalies', class: Migration20261123030000_anomalies },
        { name: 'Migration20261123040000_webhooks', class: Migration20261123040000_webhooks },
        { name: 'Migration20261123050000_api_tokens', class: Migration20261123050000_api_tokens },
        { name: 'Migration20261123060000_workflow_starts', class: Migration20261123060000_workflow_starts },
        { name: 'Migration20261201000000_tracker', class: Migration20261201000000_tracker },
        { name: 'Migration20261201020000_jira_budget', class: Migration20261201020000_jira_budget },
        { name: 'Migration20261202000000_integration_ids', class: Migration20261202000000_integration_ids },
        { name: 'Migration20261202010000_oauth_return', class: Migration20261202010000_oauth_return },
        { name: 'Migration20261210000000_personal_data', class: Migration20261210000000_personal_data },
        { name: 'Migration20261205000000_jira_setups', class: Migration20261205000000_jira_setups },
      ],
      transactional: true,
      // Migrations are written by hand; a snapshot file per database would only litter the working directory.
      snapshot: false,
      allOrNothing: true,
    },
    debug: false,
  });
  await orm.migrator.up();
  return orm;
}
