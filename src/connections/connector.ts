import got from 'got';
import type { Connection } from '../db/entities.js';
import { JiraClient, type JiraTarget } from '../jira/client.js';
import type { RateGates } from '../jira/rate-gate.js';
import type { JiraOAuth } from './oauth.js';
import type { TicketSettings } from './settings.js';

/** Builds the right Jira client for a connection's auth method and deployment. */
export class JiraConnector {
  constructor(
    private readonly opts: { gatewayUrl: string; timeoutMs: number; oauth?: JiraOAuth; gates: RateGates },
  ) {}

  client(connection: Pick<Connection, 'key'>, s: TicketSettings): JiraClient {
    const viaGateway = `${this.opts.gatewayUrl.replace(/\/+$/, '')}/ex/jira/${s.cloudId}`;
    const basic = { kind: 'basic' as const, username: s.username ?? '', password: s.apiKey ?? '' };
    let target: JiraTarget;
    switch (s.authMethod) {
      case 'api_token':
        target = { siteUrl: s.siteUrl, apiBaseUrl: s.siteUrl, flavor: 'cloud', auth: basic };
        break;
      case 'scoped_api_token':
        target = { siteUrl: s.siteUrl, apiBaseUrl: viaGateway, flavor: 'cloud', auth: basic };
        break;
      case 'oauth2': {
        const oauth = this.opts.oauth;
        if (!oauth) throw new Error('OAuth is not configured: set JIRA_OAUTH_CLIENT_ID, JIRA_OAUTH_CLIENT_SECRET and JIRA_OAUTH_REDIRECT_URI');
        target = {
          siteUrl: s.siteUrl,
          apiBaseUrl: viaGateway,
          flavor: 'cloud',
          auth: {
            kind: 'bearer',
            token: () => oauth.accessToken(connection.key),
            onUnauthorized: async (rejected) => void (await oauth.refresh(connection.key, rejected)),
          },
        };
        break;
      }
      case 'pat':
        target = { siteUrl: s.siteUrl, apiBaseUrl: s.siteUrl, flavor: 'datacenter', auth: { kind: 'bearer', token: async () => s.apiKey ?? '' } };
        break;
      case 'basic':
        target = { siteUrl: s.siteUrl, apiBaseUrl: s.siteUrl, flavor: 'datacenter', auth: basic };
        break;
    }
    return new JiraClient(target, this.opts.timeoutMs, { gate: this.opts.gates.for(connection.key, s.rateLimitPerSecond), connectionKey: connection.key });
  }

  /** Scoped API tokens only work through the gateway, addressed by the site's cloud id. */
  async resolveCloudId(siteUrl: string): Promise<string> {
    const info = await got
      .get(new URL('/_edge/tenant_info', siteUrl), { timeout: { request: this.opts.timeoutMs }, retry: { limit: 0 } })
      .json<{ cloudId?: string }>();
    if (!info.cloudId) throw new Error(`${siteUrl}/_edge/tenant_info did not name a cloudId`);
    return info.cloudId;
  }
}
