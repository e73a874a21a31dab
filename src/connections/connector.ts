import got from 'got';
import type { Connection } from '../platform/db/entities.js';
import { JiraClient, type JiraAuth, type JiraTarget } from '../jira/client.js';
import { oauth1Header } from './oauth1.js';
import type { JiraBudget } from '../jira/budget.js';
import type { JiraOAuth } from './oauth.js';
import type { TicketSettings } from './settings.js';

/** Builds the right Jira client for a connection's auth method and deployment. */
export class JiraConnector {
  constructor(
    private readonly opts: { gatewayUrl: string; timeoutMs: number; oauth: JiraOAuth; budget: JiraBudget },
  ) {}

  client(connection: Pick<Connection, 'key'>, s: TicketSettings): JiraClient {
    const viaGateway = `${this.opts.gatewayUrl.replace(/\/+$/, '')}/ex/jira/${s.cloudId}`;
    const basic = { kind: 'basic' as const, username: s.username ?? '', password: s.apiKey ?? '' };
    const oauth = this.opts.oauth;
    const refreshing: JiraAuth = {
      kind: 'bearer',
      token: () => oauth.accessToken(connection.key),
      onUnauthorized: async (rejected) => void (await oauth.refresh(connection.key, rejected)),
    };
    let target: JiraTarget;
    switch (s.authMethod) {
      case 'api_token':
        target = { siteUrl: s.siteUrl, apiBaseUrl: s.siteUrl, flavor: 'cloud', auth: basic };
        break;
      case 'scoped_api_token':
        target = { siteUrl: s.siteUrl, apiBaseUrl: viaGateway, flavor: 'cloud', auth: basic };
        break;
      case 'oauth2': {
        if (!oauth.cloud) throw new Error('OAuth is not configured: set JIRA_OAUTH_CLIENT_ID, JIRA_OAUTH_CLIENT_SECRET and JIRA_OAUTH_REDIRECT_URI');
        target = { siteUrl: s.siteUrl, apiBaseUrl: viaGateway, flavor: 'cloud', auth: refreshing };
        break;
      }
      case 'dc_oauth2':
        // The site is its own authorization server; tokens rotate as Cloud's do.
        target = { siteUrl: s.siteUrl, apiBaseUrl: s.siteUrl, flavor: 'datacenter', auth: refreshing };
        break;
      case 'oauth1': {
        const creds = { consumerKey: s.oauth1!.consumerKey, privateKey: s.oauth1!.privateKey, token: { key: s.oauth1!.token, secret: s.oauth1!.tokenSecret } };
        target = { siteUrl: s.siteUrl, apiBaseUrl: s.siteUrl, flavor: 'datacenter', auth: { kind: 'signed', header: (method, url) => oauth1Header(creds, method, url) } };
        break;
      }
      case 'pat':
        target = { siteUrl: s.siteUrl, apiBaseUrl: s.siteUrl, flavor: 'datacenter', auth: { kind: 'bearer', token: async () => s.apiKey ?? '' } };
        break;
      case 'basic':
        target = { siteUrl: s.siteUrl, apiBaseUrl: s.siteUrl, flavor: 'datacenter', auth: basic };
        break;
    }
    // Only OAuth apps pay Jira's points, all their connections (tenants) from one quota; the others are held
    // to requests per second and bursts.
    const app = s.authMethod === 'oauth2' ? this.opts.oauth.cloud?.clientId : undefined;
    const budget = this.opts.budget.connection({ connection: connection.key, perSecond: s.rateLimitPerSecond, app });
    return new JiraClient(target, this.opts.timeoutMs, { budget, connectionKey: connection.key });
  }

  /** The OAuth app's Jira points this hour, which all its connections share; null without an OAuth app. */
  async appQuota(): Promise<{ app: string; used: number; limit: number; resetsAt: Date } | null> {
    const app = this.opts.oauth.cloud?.clientId;
    return app ? { app, ...(await this.opts.budget.pointsThisHour(app)) } : null;
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
