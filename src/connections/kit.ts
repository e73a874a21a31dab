import type { Orm } from '../platform/db/orm.js';
import { JiraBudget } from '../jira/budget.js';
import { Keyring } from '../platform/keyring.js';
import { JiraConnector } from './connector.js';
import type { HostPolicy } from '../jira/host-policy.js';
import { JiraOAuth, type OAuthConfig } from './oauth.js';
import { ConnectionSecrets } from './secrets.js';

/** Everything that turns a stored connection into authenticated Jira calls, built once per process. */
export interface ConnectionKit {
  secrets: ConnectionSecrets;
  connector: JiraConnector;
  hostPolicy: HostPolicy;
  /** browser authorizations: Cloud OAuth 2.0 (when JIRA_OAUTH_* names an app), Data Center OAuth 2.0, OAuth 1.0a */
  oauth: JiraOAuth;
  /** Ends the pool of the Jira budget (rate limits shared through PostgreSQL); the process's entry point calls it before closing the ORM. */
  close(): Promise<void>;
}

export function connectionKit(
  orm: Orm,
  opts: {
    secretKeys: string;
    jiraTimeoutMs: number;
    allowHttpHosts: string[];
    gatewayUrl: string;
    oauth?: Omit<OAuthConfig, 'gatewayUrl'>;
    /** where Data Center authorizations come back when a connection names no redirect_uri (from JIRA_OAUTH_REDIRECT_URI or WEBHOOK_BASE_URL) */
    callbackUrl?: string;
    /** Default per-connection budget (a connection's `rate_limit_per_second` overrides it); null: none. */
    rateLimitPerSecond?: number | null;
    /** The OAuth app's Jira points per hour (JIRA_APP_POINTS_PER_HOUR), default 65,000. */
    appPointsPerHour?: number;
  },
): ConnectionKit {
  const secrets = new ConnectionSecrets(new Keyring(opts.secretKeys));
  const oauth = new JiraOAuth(orm, secrets, opts.oauth ? { ...opts.oauth, gatewayUrl: opts.gatewayUrl } : undefined, opts.jiraTimeoutMs, opts.callbackUrl);
  // A pool of its own: a call waiting for its budget must not wait for one of the ORM's connections too.
  const budget = JiraBudget.open(orm.config.get('clientUrl')!, {
    defaultPerSecond: opts.rateLimitPerSecond ?? null,
    appPointsPerHour: opts.appPointsPerHour ?? 65_000,
  });
  return {
    secrets,
    oauth,
    hostPolicy: { allowHttpHosts: opts.allowHttpHosts },
    connector: new JiraConnector({ gatewayUrl: opts.gatewayUrl, timeoutMs: opts.jiraTimeoutMs, oauth, budget }),
    close: () => budget.close(),
  };
}
