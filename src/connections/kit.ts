import type { Orm } from '../db/orm.js';
import { RateGates } from '../jira/rate-gate.js';
import { Keyring } from '../secrets/keyring.js';
import { JiraConnector } from './connector.js';
import type { HostPolicy } from './host-policy.js';
import { JiraOAuth, type OAuthConfig } from './oauth.js';
import { ConnectionSecrets } from './secrets.js';

/** Everything that turns a stored connection into authenticated Jira calls, built once per process. */
export interface ConnectionKit {
  secrets: ConnectionSecrets;
  connector: JiraConnector;
  hostPolicy: HostPolicy;
  /** absent when no OAuth app is configured */
  oauth?: JiraOAuth;
}

export function connectionKit(
  orm: Orm,
  opts: {
    secretKeys: string;
    jiraTimeoutMs: number;
    allowHttpHosts: string[];
    gatewayUrl: string;
    oauth?: Omit<OAuthConfig, 'gatewayUrl'>;
    /** Default per-connection budget (a connection's `rate_limit_per_second` overrides it); null: unlimited. */
    rateLimitPerSecond?: number | null;
  },
): ConnectionKit {
  const secrets = new ConnectionSecrets(new Keyring(opts.secretKeys));
  const oauth = opts.oauth ? new JiraOAuth(orm, secrets, { ...opts.oauth, gatewayUrl: opts.gatewayUrl }, opts.jiraTimeoutMs) : undefined;
  return {
    secrets,
    oauth,
    hostPolicy: { allowHttpHosts: opts.allowHttpHosts },
    connector: new JiraConnector({ gatewayUrl: opts.gatewayUrl, timeoutMs: opts.jiraTimeoutMs, oauth, gates: new RateGates(opts.rateLimitPerSecond ?? null) }),
  };
}
