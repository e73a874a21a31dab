import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkTimeZone } from './jql.js';
import { JiraContract } from './openapi.js';
import { DEFAULT_POINTS_PER_HOUR, createFakeJira, listen } from './server.js';
import { FakeJiraStore } from './store.js';

/**
 * The fake Jira as its own process. FAKE_JIRA_PORT (0 = any free port), FAKE_JIRA_STATE_FILE (keep issues
 * across restarts), FAKE_JIRA_VALIDATE=1 (check every exchange against Atlassian's OpenAPI file, which the
 * repository keeps in test/fixtures; JIRA_OPENAPI_SPEC names another copy, plain JSON or .gz), FAKE_JIRA_USERNAME and
 * FAKE_JIRA_API_TOKEN (accept only these Basic credentials; by default any pass), FAKE_JIRA_PAT (a Data Center
 * personal access token), FAKE_JIRA_TOKEN_TTL_SECONDS (OAuth access token lifetime), FAKE_JIRA_OAUTH_CLIENT_SECRET
 * (sign dynamic webhook deliveries with the OAuth app's secret; unset: they carry no Authorization header),
 * FAKE_JIRA_WEBHOOK_RETRIES and FAKE_JIRA_WEBHOOK_BACKOFF_MS (retries of a failed delivery, default 3, and the
 * first wait, default 200 ms, doubling), FAKE_JIRA_POINTS_PER_HOUR (each OAuth app's hourly points quota, default
 * 65000; 0 = none), FAKE_JIRA_BURST_PER_SECOND (calls per endpoint and method in any second, default 100; 0 = no
 * burst limit), FAKE_JIRA_SEARCH_LAG_MS (how far searches lag behind changes, default 0) and FAKE_JIRA_TIME_ZONE
 * (the Jira user's time zone, in which absolute JQL dates are read; IANA name, default UTC).
 */
const here = dirname(fileURLToPath(import.meta.url));
// dist/tools/fake-jira → the repository's root
const specPath = process.env.JIRA_OPENAPI_SPEC ?? resolve(here, '../../../test/fixtures/jira-cloud-platform-v3.openapi.json.gz');
if (process.env.FAKE_JIRA_VALIDATE === '1' && !existsSync(specPath)) {
  process.stderr.write(
    `fake Jira: the Jira OpenAPI file is missing: ${specPath}. It is part of the repository (git checkout -- test/fixtures), or set JIRA_OPENAPI_SPEC to a copy, or unset FAKE_JIRA_VALIDATE\n`,
  );
  process.exit(2);
}
function numberFrom(name: string): number | undefined {
  const v = process.env[name];
  if (!v) return undefined;
  if (!Number.isFinite(Number(v)) || Number(v) < 0) {
    process.stderr.write(`fake Jira: ${name} must be a non-negative number, not ${v}\n`);
    process.exit(2);
  }
  return Number(v);
}
const timeZone = process.env.FAKE_JIRA_TIME_ZONE || 'UTC';
try {
  checkTimeZone(timeZone);
} catch {
  process.stderr.write(`fake Jira: FAKE_JIRA_TIME_ZONE must be an IANA time zone such as Europe/Berlin, not ${timeZone}\n`);
  process.exit(2);
}
/** A limit from the environment: unset is the default, 0 is none. */
const limitFrom = (name: string, fallback: number) => {
  const v = numberFrom(name);
  return v === undefined ? fallback : v || null;
};
const contract = process.env.FAKE_JIRA_VALIDATE === '1' ? new JiraContract(specPath) : undefined;
const store = new FakeJiraStore(process.env.FAKE_JIRA_STATE_FILE || undefined);
const credentials = process.env.FAKE_JIRA_USERNAME
  ? { username: process.env.FAKE_JIRA_USERNAME, apiToken: process.env.FAKE_JIRA_API_TOKEN ?? '' }
  : undefined;
const { app } = createFakeJira({
  store,
  contract,
  credentials,
  pat: process.env.FAKE_JIRA_PAT || undefined,
  forbiddenUser: process.env.FAKE_JIRA_FORBIDDEN_USER || undefined,
  tokenTtlSeconds: numberFrom('FAKE_JIRA_TOKEN_TTL_SECONDS'),
  webhooks: {
    retries: numberFrom('FAKE_JIRA_WEBHOOK_RETRIES'),
    backoffMs: numberFrom('FAKE_JIRA_WEBHOOK_BACKOFF_MS'),
    clientSecret: process.env.FAKE_JIRA_OAUTH_CLIENT_SECRET || undefined,
  },
  pointsPerHour: limitFrom('FAKE_JIRA_POINTS_PER_HOUR', DEFAULT_POINTS_PER_HOUR),
  burstPerSecond: limitFrom('FAKE_JIRA_BURST_PER_SECOND', 100),
  searchLagMs: numberFrom('FAKE_JIRA_SEARCH_LAG_MS'),
  timeZone,
});
const { server, url } = await listen(app, Number(process.env.FAKE_JIRA_PORT ?? 8089));
// Parents read this line to learn the address.
process.stdout.write(`fake Jira listening on ${url}\n`);
// State-file writes are debounced: the last changes are written on the way out.
process.on('exit', () => store.flush());
const stop = () => server.close(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
