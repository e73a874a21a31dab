import { z } from 'zod';
import { Keyring } from './keyring.js';
import { KeySet } from './crypto.js';

/** A variable that is unset and a variable set to the empty string mean the same thing: "use the default". */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const port = z.coerce.number().int().min(1).max(65535);
const url = z.url({ protocol: /^https?$/ });

export const envSchema = z.object({
  PORT: optional(port).default(3000),
  /** The address the API (and a standalone worker's /metrics) listens on. `npm start` defaults it to loopback. */
  HOST: optional(z.string().min(1)).default('0.0.0.0'),
  DATA_DIR: optional(z.string()).default('.data'),
  DATABASE_URL: optional(z.url({ protocol: /^postgres(ql)?$/ })),
  EMBEDDED_POSTGRES_PORT: optional(port).default(54329),
  TEMPORAL_ADDRESS: optional(z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port')),
  TEMPORAL_NAMESPACE: optional(z.string()).default('default'),
  TEMPORAL_TASK_QUEUE: optional(z.string()).default('ticketflow'),
  TEMPORAL_PORT: optional(port).default(7233),
  /**
   * Worker versioning (docs/operators.md, "Rolling out a new version"): the worker joins this worker deployment
   * as version TEMPORAL_BUILD_ID. Always on: the workflow types declare their versioning behaviour
   * (src/workflows.ts), which the server refuses from an unversioned worker.
   */
  TEMPORAL_DEPLOYMENT_NAME: optional(z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'letters, digits, _ and - only')).default('ticketflow'),
  /** Default: from the workflow bundle's content, so that a version changes exactly when the workflow code does. */
  TEMPORAL_BUILD_ID: optional(z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'letters, digits, ., _ and - only')),
  TEMPORAL_UI_PORT: optional(port).default(8233),
  TEMPORAL_CLI_PATH: optional(z.string()),
  /** Minutes between a connection tracker's delta reads (what changed in Jira since the last one). */
  JIRA_POLLING_INTERVAL_MINUTES: optional(z.coerce.number().positive().max(7 * 24 * 60)).default(10),
  /** The same, as a safety net, on connections whose webhooks are set up (a webhook secret, or OAuth with WEBHOOK_BASE_URL). */
  JIRA_WEBHOOK_POLLING_INTERVAL_MINUTES: optional(z.coerce.number().positive().max(7 * 24 * 60)).default(60),
  /** Each delta read reaches back this much further than the last one: Jira's search is eventually consistent. */
  JIRA_DELTA_OVERLAP_MINUTES: optional(z.coerce.number().int().min(0).max(24 * 60)).default(5),
  /** Minutes between reconciles, which find deleted tickets (a delta cannot show them) at about 1 point per 100 tickets. */
  JIRA_RECONCILE_INTERVAL_MINUTES: optional(z.coerce.number().int().min(1).max(30 * 24 * 60)).default(360),
  /**
   * How long a new ticket may take to show in Jira's search. A creation retried after a lost reply waits this
   * long before looking for the ticket the lost attempt made (JIRA_RETRY_WAITS_FOR_SEARCH), and is checked for a
   * duplicate this long after it.
   */
  JIRA_SEARCH_LAG_SECONDS: optional(z.coerce.number().int().min(0).max(60)).default(30),
  JIRA_RETRY_WAITS_FOR_SEARCH: optional(z.enum(['true', 'false'])).default('true').transform((v) => v === 'true'),
  /**
   * Per-connection request budget, shared by every worker and API process through PostgreSQL; a connection's
   * rate_limit_per_second overrides it.
   */
  JIRA_RATE_LIMIT_PER_SECOND: optional(z.coerce.number().positive().max(1000)).default(10),
  /**
   * The OAuth app's Jira Cloud points per UTC hour (1 a request plus 1 an issue returned), shared by all its
   * connections and processes; Jira's default tier is 65,000. API-token and Data Center connections pay none.
   */
  JIRA_APP_POINTS_PER_HOUR: optional(z.coerce.number().int().min(1)).default(65_000),
  /** The public base URL of this API, for dynamic webhooks registered by OAuth connections (e.g. https://ticketflow.example.com). */
  WEBHOOK_BASE_URL: optional(url),
  /**
   * Sized for 10,000 open workflows under 1.5 GB: most sleep between polls and need not stay cached, and each
   * cached one holds about 0.3 MB (bench open-10k, one workflow thread: RSS 1.7 GB with 2,000, 1.4 GB with 1,000).
   */
  WORKER_MAX_CACHED_WORKFLOWS: optional(z.coerce.number().int().min(0).max(100_000)).default(1_000),
  /** Room for a whole bulk read (100 polls wait together, as local activities) and a burst of creations. */
  WORKER_MAX_CONCURRENT_ACTIVITIES: optional(z.coerce.number().int().min(1).max(10_000)).default(400),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: optional(z.coerce.number().int().min(2).max(10_000)).default(100),
  /**
   * Threads that run workflow tasks. A poll cycle replays every workflow not in the cache, which is CPU work a
   * second thread can share (bench poll-10k, 2,000 tickets: 49 s with 2 threads, 101 s with 1 under a profiler),
   * but each thread holds its own heap (open-10k: 1.55 GB with 2 threads, 1.38 GB with 1).
   */
  WORKER_WORKFLOW_THREADS: optional(z.coerce.number().int().min(1).max(16)).default(1),
  JIRA_CREATE_MAX_ATTEMPTS: optional(z.coerce.number().int().min(1).max(20)).default(3),
  JIRA_REQUEST_TIMEOUT_SECONDS: optional(z.coerce.number().positive().max(300)).default(30),
  UPSTREAM_CALLBACK_URL: optional(url),
  UPSTREAM_CALLBACK_SECRET: optional(z.string().min(16, 'must be at least 16 characters')),
  /** "kid:base64key[,kid:base64key…]"; the first key seals, all open (rotation). `npm start` makes one if unset. */
  SECRET_KEYS: optional(z.string().superRefine((v, ctx) => {
    try {
      new Keyring(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  })),
  /**
   * "kid:base64key[,kid:base64key…]": encrypts every Temporal payload (AES-256-GCM), a key set separate from
   * SECRET_KEYS. The first key encrypts, all decrypt (rotation). Worker and API need the same set. `npm start` makes one if unset.
   */
  PAYLOAD_KEYS: optional(z.string().superRefine((v, ctx) => {
    try {
      new KeySet(v, 'PAYLOAD_KEYS');
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  })),
  /** Origins of the Temporal UI allowed to call the codec endpoint (/codec), comma-separated; default: the dev server UI on TEMPORAL_UI_PORT. */
  /** token: the codec endpoint needs an API token with scope read; none: open (only where the API is not reachable by others) */
  /** /metrics: open (scrapers reach it without a token), token (scope read), or off */
  METRICS: optional(z.enum(['open', 'token', 'off'])).default('open'),
  /** A standalone worker serves /metrics (its own and the Temporal SDK's) on this port; 0: none */
  WORKER_METRICS_PORT: optional(z.coerce.number().int().min(0).max(65535)).default(9464),
  CODEC_AUTH: optional(z.enum(['token', 'none'])).default('token'),
  TEMPORAL_UI_ORIGIN: optional(z.string())
    .transform((v) => (v ?? '').split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean))
    .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'each origin must be scheme://host[:port], e.g. http://localhost:8233'))),
  /** Hosts a connection may reach over plain http (loopback always may), comma-separated. */
  JIRA_HTTP_HOST_ALLOWLIST: optional(z.string()).transform((v) => (v ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)),
  JIRA_OAUTH_CLIENT_ID: optional(z.string()),
  JIRA_OAUTH_CLIENT_SECRET: optional(z.string()),
  JIRA_OAUTH_REDIRECT_URI: optional(url),
  /** Atlassian's authorization server and API gateway; tests point them at the fake Jira. */
  JIRA_OAUTH_AUTH_URL: optional(url).default('https://auth.atlassian.com'),
  JIRA_API_GATEWAY_URL: optional(url).default('https://api.atlassian.com'),
  FAKE_JIRA: optional(z.enum(['auto', 'on', 'off'])).default('auto'),
  FAKE_JIRA_PORT: optional(port).default(8089),
  LOG_LEVEL: optional(z.enum(['debug', 'info', 'warn', 'error'])).default('info'),
});

export type Config = z.infer<typeof envSchema>;

const SECRET_VARIABLES = new Set(['SECRET_KEYS', 'PAYLOAD_KEYS', 'UPSTREAM_CALLBACK_SECRET', 'JIRA_OAUTH_CLIENT_SECRET']);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads configuration from the environment. Every problem names the variable at fault, so that a
 * misconfigured deployment fails at start with a message an operator can act on.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      // Key material is never echoed: a half-right key set would otherwise end up in the logs.
      const got = SECRET_VARIABLES.has(name) ? 'value not shown' : `got ${JSON.stringify(env[name])}`;
      return `  ${i.path.join('.')}: ${i.message} (${got})`;
    });
    throw new ConfigError(`Invalid configuration; fix these environment variables:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  if (config.UPSTREAM_CALLBACK_URL && !config.UPSTREAM_CALLBACK_SECRET) {
    throw new ConfigError(
      'Invalid configuration; fix these environment variables:\n  UPSTREAM_CALLBACK_SECRET: required when UPSTREAM_CALLBACK_URL is set (callbacks are signed with it)',
    );
  }
  const oauthVars = ['JIRA_OAUTH_CLIENT_ID', 'JIRA_OAUTH_CLIENT_SECRET', 'JIRA_OAUTH_REDIRECT_URI'] as const;
  const setOauth = oauthVars.filter((v) => config[v]);
  if (setOauth.length && setOauth.length < oauthVars.length) {
    throw new ConfigError(
      `Invalid configuration; fix these environment variables:\n  ${oauthVars.filter((v) => !config[v]).join(', ')}: required with ${setOauth.join(', ')} (OAuth needs all three)`,
    );
  }
  return config;
}

/** The origins allowed to call the codec endpoint from the Temporal UI. */
export function temporalUiOrigins(config: Config): string[] {
  return config.TEMPORAL_UI_ORIGIN.length
    ? config.TEMPORAL_UI_ORIGIN
    : [`http://localhost:${config.TEMPORAL_UI_PORT}`, `http://127.0.0.1:${config.TEMPORAL_UI_PORT}`];
}

/** The OAuth app settings, when all three variables are set. */
export function oauthApp(config: Config) {
  return config.JIRA_OAUTH_CLIENT_ID && config.JIRA_OAUTH_CLIENT_SECRET && config.JIRA_OAUTH_REDIRECT_URI
    ? { clientId: config.JIRA_OAUTH_CLIENT_ID, clientSecret: config.JIRA_OAUTH_CLIENT_SECRET, redirectUri: config.JIRA_OAUTH_REDIRECT_URI, authUrl: config.JIRA_OAUTH_AUTH_URL }
    : undefined;
}
