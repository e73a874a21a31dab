import { parseArgs } from 'node:util';
import { configOrExit } from './processes.js';
import { devDatabaseUrl, openDatabase } from '../platform/db/orm.js';
import { ApiTokens, SCOPES, type Scope } from '../http/tokens.js';
import { AuditLog } from '../audit/log.js';

/**
 * `npm run token -- create --scope write --name fides` | `list` | `revoke <id>`. Uses DATABASE_URL, or the
 * PostgreSQL of a running `npm start`.
 */
const usage = 'usage: npm run token -- create --scope read|write|admin --name <who>  |  list  |  revoke <id>';
const say = (msg: string) => process.stderr.write(`${msg}\n`);

const { positionals, values } = parseArgs({ options: { scope: { type: 'string', multiple: true }, name: { type: 'string' } }, allowPositionals: true });
const [command, ...rest] = positionals;
const config = configOrExit();
const url = config.DATABASE_URL ?? devDatabaseUrl(config.EMBEDDED_POSTGRES_PORT);
const orm = await openDatabase(url, { poolMax: 1 }).catch((err: Error) => {
  say(`cannot reach PostgreSQL at ${config.DATABASE_URL ? 'DATABASE_URL' : `127.0.0.1:${config.EMBEDDED_POSTGRES_PORT}`}: ${err.message}`);
  say('what to do: set DATABASE_URL, or run `npm start` in another terminal first');
  process.exit(2);
});
const tokens = new ApiTokens(orm);
// Creating and revoking tokens changes who may act: recorded in the audit log like any API call (actor cli,
// whoever ran the command on the host; the status is the command's exit code).
const audit = new AuditLog(orm);
let code = 0;
try {
  if (command === 'create') {
    const scopes = (values.scope ?? []) as Scope[];
    const bad = scopes.filter((s) => !SCOPES.includes(s));
    if (!values.name || scopes.length === 0 || bad.length) {
      say(bad.length ? `unknown scope ${bad.join(', ')}; scopes: ${SCOPES.join(', ')}` : usage);
      code = 2;
    } else {
      const { id, token } = await tokens.create(values.name, scopes);
      await audit.record({ actor: 'cli', route: 'token create', targets: { token: id }, status: 0 });
      say(`created token ${id} for "${values.name}" with scope ${scopes.join(', ')}; it is shown only now:`);
      process.stdout.write(`${token}\n`);
    }
  } else if (command === 'list') {
    for (const t of await tokens.list()) {
      process.stdout.write(`${t.id}  ${t.name}  ${t.scopes.join(',')}  created ${t.created_at.toISOString()}  ${t.revoked_at ? `revoked ${t.revoked_at.toISOString()}` : `last used ${t.last_used_at?.toISOString() ?? 'never'}`}\n`);
    }
  } else if (command === 'revoke' && rest[0]) {
    const done = await tokens.revoke(rest[0]);
    await audit.record({ actor: 'cli', route: 'token revoke', targets: { token: rest[0] }, status: done ? 0 : 1 });
    say(done ? `revoked ${rest[0]} (servers stop accepting it within 10 seconds)` : `no active token ${rest[0]}`);
    code = done ? 0 : 1;
  } else {
    say(usage);
    code = 2;
  }
} finally {
  await orm.close();
}
process.exit(code);
