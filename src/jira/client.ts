import got, { type Got, type Method, RequestError } from 'got';
import { lookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { textToAdf } from './adf.js';
import { isForbiddenAddress } from './host-policy.js';
import { JiraApiError, JiraUnreachableError, jiraFieldErrors, jiraMessages } from './errors.js';
import type { BudgetCall, ConnectionBudget } from './budget.js';
import { parseRateLimitHeaders, rateLimitEnd } from './rate-limit-headers.js';
import { metrics } from '../platform/metrics.js';
import { categoryOf, type StatusCategory } from './status.js';

/** How requests authenticate: Basic (API token, DC password) or Bearer (OAuth access token, DC personal access token). */
export type JiraAuth =
  | { kind: 'basic'; username: string; password: string }
  | {
      kind: 'bearer';
      token: () => Promise<string>;
      /** Called once when Jira answers 401 to a token, before one more attempt (OAuth refresh). */
      onUnauthorized?: (rejectedToken: string) => Promise<void>;
    }
  /** Each request signed on its own (OAuth 1.0a): the Authorization header for this method and full URL. */
  | { kind: 'signed'; header: (method: string, url: string) => string };

export interface JiraTarget {
  /** The site, e.g. https://acme.atlassian.net (no trailing slash): browse links point here. */
  siteUrl: string;
  /** Where REST calls go: the site, or https://api.atlassian.com/ex/jira/{cloudId} for OAuth and scoped tokens. */
  apiBaseUrl: string;
  /** Cloud speaks REST v3 with ADF; Server/Data Center speaks REST v2 with wiki markup. */
  flavor: 'cloud' | 'datacenter';
  auth: JiraAuth;
}

export type { StatusCategory } from './status.js';

export interface JiraIssueStatus {
  id: string;
  key: string;
  status: string;
  statusCategory: StatusCategory;
}

export interface CreateIssueInput {
  projectKey: string;
  issueType: string;
  summary: string;
  description?: string;
  dueDate?: string;
  labels?: string[];
  priority?: string;
  assigneeAccountId?: string;
  /** Further fields by Jira field id (custom fields, components, …): rendered text, or values sent as they are. */
  extraFields?: Record<string, unknown>;
  /** The fields' types from Jira's create metadata: text is turned into the value each type takes. */
  fieldMeta?: Record<string, FieldMeta>;
}

/** What ticketflow learnt of a field from Jira's create metadata when the ticket settings were saved. */
export interface FieldMeta {
  name: string;
  /** Jira's schema type: string, number, date, datetime, option, array, user, priority, … */
  type: string;
  /** for arrays: the items' type (option, string, user, …) */
  items?: string;
  /** custom fields: the custom type's key, e.g. com.atlassian.jira.plugin.system.customfieldtypes:textarea */
  custom?: string;
}

/** A field of Jira's create metadata for one project and issue type (createmeta). */
export interface CreateMetaField {
  fieldId: string;
  name: string;
  required: boolean;
  hasDefaultValue: boolean;
  schema: { type: string; items?: string; custom?: string; system?: string };
  /** options, priorities, versions…: each with an id and a name or value */
  allowedValues?: Array<{ id?: string; name?: string; value?: string }>;
}

/** A status as a project's workflows use it, per issue type. */
export interface ProjectStatus {
  id: string;
  name: string;
  category: StatusCategory;
}

export interface CreatedIssue {
  id: string;
  key: string;
  url: string;
}

export const TICKET_FIELDS = ['summary', 'description', 'status', 'priority', 'issuetype', 'project', 'created', 'updated', 'resolutiondate', 'resolution', 'assignee', 'reporter', 'comment'];

export interface RawIssue {
  id: string;
  key: string;
  fields?: {
    status?: { id?: string; name?: string; statusCategory?: { key?: string } };
    summary?: string;
    description?: unknown;
    labels?: string[];
    priority?: { name?: string } | null;
    issuetype?: { name?: string };
    project?: { key?: string };
    created?: string;
    updated?: string;
    resolutiondate?: string | null;
    resolution?: { name?: string } | null;
    assignee?: { displayName?: string; accountId?: string } | null;
    reporter?: { displayName?: string } | null;
    comment?: { total?: number };
  };
}

/**
 * Turns "acme.atlassian.net", "https://acme.atlassian.net/" or a full URL into a base URL. Anything that is not
 * a host name (or address) with an optional port and path, over http or https, throws: `file:///etc/passwd`
 * would otherwise become the host "file".
 *
 * People paste what their browser or an older integration showed them, so the URL is cut back to the site:
 * a REST suffix (`…/rest/api/2/`, as older integrations asked for), a page of Jira's UI (`/secure/Dashboard.jspa`,
 * `/browse/PRIV-1`, `/login.jsp`, `/plugins/servlet/…`), a query or fragment. A Data Center context path such as
 * `/jira` stays: the REST API lives under it. Atlassian Cloud sites have no context path, so theirs is dropped.
 */
export function normaliseBaseUrl(domainOrUrl: string): string {
  const text = domainOrUrl.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):(?!\d)/i.exec(text)?.[1];
  if (scheme && !/^https?$/i.test(scheme)) throw new Error(`${scheme}: URLs are not Jira sites; give a host name or an http(s) URL`);
  const url = new URL(scheme ? text : `https://${text}`);
  if (url.username || url.password) throw new Error('credentials do not belong in the URL; send them as username and api_key');
  if (!isHostName(url.hostname)) throw new Error(`${url.hostname || '(empty)'} is not a host name`);
  if (/\.(atlassian\.net|jira\.com)$/i.test(url.hostname)) return url.origin;
  const path = url.pathname
    .replace(/\/(rest\/api\/(2|3|latest)|secure|browse|plugins\/servlet|projects)(\/.*)?$/i, '')
    .replace(/\/(login\.jsp|default\.jsp|secure\/[^/]*\.jspa)$/i, '')
    .replace(/\/+$/, '');
  return `${url.origin}${path}`;
}

/** A DNS name (letters, digits, hyphens and underscores in dot-separated labels), an IPv4 address, or a bracketed IPv6 one. */
function isHostName(host: string): boolean {
  if (/^\[[0-9a-f:.]+\]$/i.test(host)) return true;
  if (host.length > 253) return false;
  return host.split('.').every((label) => /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i.test(label));
}

/**
 * Jira Cloud (REST v3) and Server/Data Center (REST v2), through got. Each call is a single attempt: retries
 * belong to the caller (Temporal's activity retry policy), which is durable and visible to operators, so
 * got's own retries are switched off.
 */
export class JiraClient {
  private readonly http: Got;
  private readonly version: '2' | '3';

  constructor(
    readonly target: JiraTarget,
    timeoutMs = 30_000,
    private readonly opts: {
      /** The connection's share of Jira's rate limits, held in PostgreSQL for every process; each request waits for it. */
      budget?: ConnectionBudget;
      /** names the connection in metrics */
      connectionKey?: string;
    } = {},
  ) {
    this.version = target.flavor === 'cloud' ? '3' : '2';
    this.http = got.extend({
      prefixUrl: target.apiBaseUrl,
      timeout: { request: timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      ...(target.auth.kind === 'basic' ? { username: target.auth.username, password: target.auth.password } : {}),
      headers: { accept: 'application/json', 'user-agent': 'ticketflow' },
      dnsLookup: guardedLookup as never,
    });
  }

  /** Basic-auth Jira Cloud at its site URL: the most common set-up, and the tests' shorthand. */
  static basic(site: { baseUrl: string; username: string; apiToken: string }, timeoutMs?: number): JiraClient {
    return new JiraClient(
      { siteUrl: site.baseUrl, apiBaseUrl: site.baseUrl, flavor: 'cloud', auth: { kind: 'basic', username: site.username, password: site.apiToken } },
      timeoutMs,
    );
  }

  get isCloud(): boolean {
    return this.target.flavor === 'cloud';
  }

  browseUrl(key: string): string {
    return `${this.target.siteUrl}/browse/${encodeURIComponent(key)}`;
  }

  /** Text as the deployment wants rich text: ADF text nodes on Cloud, escaped wiki markup on Data Center. */
  richText(text: string): unknown {
    return this.isCloud ? textToAdf(text) : escapeWiki(text);
  }

  /**
   * One request. `path` is under the REST API (`issue/PRIV-1`), or from the site's root when it starts with a
   * slash (`/rest/webhooks/1.0/webhook`). The query is written into the path, percent-encoded as OAuth 1.0a
   * signs it, so that the URL signed is the URL sent.
   */
  private async call<T>(method: Method, path: string, json?: unknown, searchParams?: Record<string, string>): Promise<T> {
    const rel = path.startsWith('/') ? path.slice(1) : `rest/api/${this.version}/${path}`;
    const query = searchParams ? new URLSearchParams(searchParams).toString().replace(/\+/g, '%20') : '';
    const target = query ? `${rel}${rel.includes('?') ? '&' : '?'}${query}` : rel;
    const endpoint = `${method} /${rel.split('?')[0]!.replace(/\/[A-Z][A-Z0-9_]+-\d+/g, '/{issueIdOrKey}').replace(/\/webhook\/\d+$/, '/webhook/{id}')}`;
    const host = new URL(this.target.apiBaseUrl).hostname.replace(/^\[|\]$/g, '');
    // An address literal is never looked up, so the DNS guard cannot see it: check it here, before any socket.
    if (isIP(host) && isForbiddenAddress(host)) {
      throw new JiraUnreachableError(endpoint, `${host} is a link-local or cloud metadata address`, 'EFORBIDDENHOST');
    }
    const call: BudgetCall = { endpoint, issueWrite: issueWriteOf(method, path) };
    const auth = this.target.auth;
    const send = async () => {
      const token = auth.kind === 'bearer' ? await auth.token() : undefined;
      await this.opts.budget?.take(call);
      const headers = token
        ? { authorization: `Bearer ${token}` }
        : auth.kind === 'signed'
          ? { authorization: auth.header(method, `${this.target.apiBaseUrl.replace(/\/+$/, '')}/${target}`) }
          : {};
      return { token, res: await this.http(target, { method, json, headers, responseType: 'text' }) };
    };
    let res;
    try {
      let sent = await send();
      if (sent.res.statusCode === 401 && auth.kind === 'bearer' && auth.onUnauthorized && sent.token) {
        await auth.onUnauthorized(sent.token);
        sent = await send();
      }
      res = sent.res;
    } catch (err) {
      if (err instanceof JiraApiError) throw err;
      const code = err instanceof RequestError ? err.code : undefined;
      metrics.jiraCalls.inc({ connection: this.opts.connectionKey ?? 'none', endpoint, status: 0 });
      throw new JiraUnreachableError(endpoint, code ? `${code}: ${(err as Error).message}` : String(err), code);
    }
    let body: unknown = undefined;
    if (res.body) {
      try {
        body = JSON.parse(res.body);
      } catch {
        body = res.body;
      }
    }
    const connection = this.opts.connectionKey ?? 'none';
    metrics.jiraCalls.inc({ connection, endpoint, status: res.statusCode });
    if (res.statusCode === 429) metrics.jiraRateLimited.inc({ connection });
    const limits = parseRateLimitHeaders(res.headers);
    const paused = await this.opts.budget?.settle(call, { status: res.statusCode, limits, issues: issuesIn(body) });
    if (res.statusCode >= 400) {
      const end = rateLimitEnd(limits);
      const retryAfter = paused ?? (end === undefined ? undefined : Math.max(0, Math.ceil((end - Date.now()) / 1000)));
      throw new JiraApiError(res.statusCode, endpoint, jiraMessages(body), retryAfter, jiraFieldErrors(body));
    }
    return body as T;
  }

  async createIssue(input: CreateIssueInput): Promise<CreatedIssue> {
    const fields: Record<string, unknown> = {
      project: { key: input.projectKey },
      issuetype: { name: input.issueType },
      summary: input.summary,
    };
    if (input.description) fields.description = this.richText(input.description);
    if (input.dueDate) fields.duedate = input.dueDate;
    if (input.labels?.length) fields.labels = input.labels;
    if (input.priority) fields.priority = { name: input.priority };
    if (input.assigneeAccountId) fields.assignee = this.isCloud ? { accountId: input.assigneeAccountId } : { name: input.assigneeAccountId };
    for (const [id, value] of Object.entries(input.extraFields ?? {})) fields[id] ??= typedValue(input.fieldMeta?.[id], value, this.isCloud, (t) => this.richText(t));
    const created = await this.call<{ id: string; key: string }>('POST', 'issue', { fields });
    return { id: created.id, key: created.key, url: this.browseUrl(created.key) };
  }

  /** The issue's status, or null when Jira says it does not exist (deleted, or never visible to us). */
  async getIssueStatus(key: string): Promise<JiraIssueStatus | null> {
    try {
      const issue = await this.call<RawIssue>('GET', `issue/${encodeURIComponent(key)}`, undefined, { fields: 'status' });
      return toStatus(issue);
    } catch (err) {
      if (err instanceof JiraApiError && err.status === 404) return null;
      throw err;
    }
  }

  /**
   * Up to 100 issues by key or id in one call, with the given fields. Issues that are gone or not visible
   * are simply absent (Cloud's bulk fetch leaves them out; on Data Center the JQL search is told not to
   * fail on unknown keys).
   */
  async readIssues(keys: string[], fields: string[]): Promise<RawIssue[]> {
    if (keys.length === 0) return [];
    if (keys.length > 100) throw new RangeError('at most 100 issues per read');
    if (this.isCloud) {
      const res = await this.call<{ issues?: RawIssue[] }>('POST', 'issue/bulkfetch', { issueIdsOrKeys: keys, fields });
      return res.issues ?? [];
    }
    const jql = `key in (${keys.map((k) => `"${k.replace(/["\\]/g, '')}"`).join(', ')})`;
    const res = await this.call<{ issues?: RawIssue[] }>('POST', 'search', { jql, maxResults: keys.length, fields, validateQuery: false });
    return res.issues ?? [];
  }

  /** Issues matching a JQL query (Cloud: enhanced search POST /search/jql; Data Center: POST /search). */
  async searchIssues(jql: string, maxResults = 50): Promise<JiraIssueStatus[]> {
    return (await this.search(jql, ['status'], maxResults)).issues.map(toStatus);
  }

  /** One page of a JQL search; Cloud pages with a token, Data Center with startAt (passed as the token). */
  async search(jql: string, fields: string[], maxResults: number, pageToken?: string): Promise<{ issues: RawIssue[]; nextPageToken?: string }> {
    if (this.isCloud) {
      const res = await this.call<{ issues?: RawIssue[]; nextPageToken?: string }>('POST', 'search/jql', { jql, maxResults, fields, ...(pageToken ? { nextPageToken: pageToken } : {}) });
      return { issues: res.issues ?? [], nextPageToken: res.nextPageToken };
    }
    const startAt = Number(pageToken ?? 0);
    const res = await this.call<{ issues?: RawIssue[]; total?: number }>('POST', 'search', { jql, maxResults, fields, startAt });
    const next = startAt + (res.issues?.length ?? 0);
    return { issues: res.issues ?? [], nextPageToken: res.total !== undefined && next < res.total ? String(next) : undefined };
  }

  /**
   * How many issues match (Cloud: the approximate count, which returns no issue objects and so costs one
   * point; Data Center: a search for no rows). A JQL naming a missing issue key is a 400 (JiraApiError).
   */
  async countIssues(jql: string): Promise<number> {
    if (this.isCloud) return (await this.call<{ count?: number }>('POST', 'search/approximate-count', { jql })).count ?? 0;
    return (await this.call<{ total?: number }>('POST', 'search', { jql, maxResults: 0, fields: ['id'] })).total ?? 0;
  }

  /** The issue with the fields a ticket view shows, or null when it does not exist (or is not visible). */
  async getIssue(key: string, fields = TICKET_FIELDS): Promise<RawIssue | null> {
    try {
      return await this.call<RawIssue>('GET', `issue/${encodeURIComponent(key)}`, undefined, { fields: fields.join(',') });
    } catch (err) {
      if (err instanceof JiraApiError && err.status === 404) return null;
      throw err;
    }
  }

  /**
   * Edits an issue's summary, description (as rich text) and other fields, and sets entity properties in the
   * same request: Jira applies both or neither, so a property can mark the edit as done (a retried attempt
   * after a lost reply reads it back instead of editing twice).
   */
  async editIssue(key: string, edit: { summary?: string; description?: string | null; fields?: Record<string, unknown>; properties?: Array<{ key: string; value: unknown }> }): Promise<void> {
    const fields: Record<string, unknown> = { ...edit.fields };
    if (edit.summary !== undefined) fields.summary = edit.summary;
    if (edit.description !== undefined) fields.description = edit.description ? this.richText(edit.description) : null;
    await this.call('PUT', `issue/${encodeURIComponent(key)}`, { fields, ...(edit.properties?.length ? { properties: edit.properties } : {}) });
  }

  /** One entity property of an issue: null when the issue has none by that key, undefined when the issue does not exist. */
  async issueProperty(key: string, propertyKey: string): Promise<unknown> {
    const issue = await this.call<RawIssue & { properties?: Record<string, unknown> }>('GET', `issue/${encodeURIComponent(key)}`, undefined, { fields: 'summary', properties: propertyKey }).catch((err: unknown) => {
      if (err instanceof JiraApiError && err.status === 404) return undefined;
      throw err;
    });
    if (!issue) return undefined;
    return issue.properties?.[propertyKey] ?? null;
  }

  /** Comments with their entity properties (ticketflow marks each comment it posts with one). */
  async comments(key: string): Promise<Array<{ id: string; properties: Record<string, unknown> }>> {
    const out: Array<{ id: string; properties: Record<string, unknown> }> = [];
    for (let startAt = 0; ; ) {
      const page = await this.call<{ comments?: Array<{ id: string; properties?: Array<{ key: string; value: unknown }> }>; total?: number }>(
        'GET',
        `issue/${encodeURIComponent(key)}/comment`,
        undefined,
        { expand: 'properties', startAt: String(startAt), maxResults: '5000' },
      );
      const comments = page.comments ?? [];
      out.push(...comments.map((c) => ({ id: c.id, properties: Object.fromEntries((c.properties ?? []).map((p) => [p.key, p.value])) })));
      startAt += comments.length;
      if (comments.length === 0 || startAt >= (page.total ?? 0)) return out;
    }
  }

  async addComment(key: string, text: string, property?: { key: string; value: unknown }): Promise<string> {
    const body: Record<string, unknown> = { body: this.richText(text) };
    if (property) body.properties = [property];
    return (await this.call<{ id: string }>('POST', `issue/${encodeURIComponent(key)}/comment`, body)).id;
  }

  async transitions(key: string): Promise<Array<{ id: string; name: string; toCategory: string }>> {
    const res = await this.call<{ transitions?: Array<{ id: string; name: string; to?: { statusCategory?: { key?: string } } }> }>(
      'GET',
      `issue/${encodeURIComponent(key)}/transitions`,
    );
    return (res.transitions ?? []).map((t) => ({ id: t.id, name: t.name, toCategory: t.to?.statusCategory?.key ?? 'undefined' }));
  }

  async transition(key: string, transitionId: string): Promise<void> {
    await this.call('POST', `issue/${encodeURIComponent(key)}/transitions`, { transition: { id: transitionId } });
  }

  /** Dynamic webhooks (OAuth apps only); Jira expires them after 30 days unless refreshed. */
  async registerWebhooks(url: string, jqlFilter: string, events: string[]): Promise<number[]> {
    const res = await this.call<{ webhookRegistrationResult?: Array<{ createdWebhookId?: number; errors?: string[] }> }>('POST', 'webhook', {
      url,
      webhooks: [{ events, jqlFilter }],
    });
    const results = res.webhookRegistrationResult ?? [];
    const errors = results.flatMap((r) => r.errors ?? []);
    if (errors.length) throw new JiraApiError(400, `POST /rest/api/${this.version}/webhook`, errors, undefined, {});
    return results.flatMap((r) => (r.createdWebhookId === undefined ? [] : [r.createdWebhookId]));
  }

  /** The ids of the calling app's live dynamic webhooks (Jira forgets expired ones). */
  async webhookIds(): Promise<number[]> {
    const ids: number[] = [];
    for (let startAt = 0; ; ) {
      const page = await this.call<{ values?: Array<{ id: number }>; isLast?: boolean; maxResults?: number }>('GET', `webhook?startAt=${startAt}&maxResults=100`);
      const values = page.values ?? [];
      ids.push(...values.map((w) => w.id));
      if (page.isLast !== false || values.length === 0) return ids;
      startAt += values.length;
    }
  }

  /** Extends the webhooks' life; returns their new expiry. Ids Jira does not know are ignored, not refused. */
  async refreshWebhooks(ids: number[]): Promise<string> {
    // Jira answers epoch milliseconds (int64); a date-time string is read too.
    const res = await this.call<{ expirationDate?: number | string }>('PUT', 'webhook/refresh', { webhookIds: ids });
    const at = res.expirationDate === undefined ? NaN : new Date(res.expirationDate).getTime();
    return new Date(Number.isFinite(at) ? at : Date.now() + 30 * 86_400_000).toISOString();
  }

  /**
   * The fields Jira asks for when creating an issue of this type in this project, with whether each is required
   * and its allowed values (Cloud: GET /rest/api/3/issue/createmeta/{project}/issuetypes/{id}; Data Center 8.4+:
   * the same path under /rest/api/2, paged as `values`).
   */
  async createMeta(projectKey: string, issueTypeId: string): Promise<CreateMetaField[]> {
    const out: CreateMetaField[] = [];
    for (let startAt = 0; ; ) {
      const page = await this.call<{ fields?: CreateMetaField[]; values?: CreateMetaField[]; results?: CreateMetaField[]; total?: number; isLast?: boolean }>(
        'GET',
        `issue/createmeta/${encodeURIComponent(projectKey)}/issuetypes/${encodeURIComponent(issueTypeId)}`,
        undefined,
        { startAt: String(startAt), maxResults: '200' },
      );
      const fields = page.fields ?? page.values ?? page.results ?? [];
      out.push(...fields.map((f) => ({ ...f, fieldId: f.fieldId ?? (f as { key?: string }).key ?? '', hasDefaultValue: !!f.hasDefaultValue, required: !!f.required })));
      startAt += fields.length;
      if (fields.length === 0 || page.isLast === true || startAt >= (page.total ?? 0)) return out;
    }
  }

  /** The statuses of each of a project's issue types, across the project's workflows (GET project/{key}/statuses). */
  async projectStatuses(projectKey: string): Promise<Array<{ id: string; name: string; subtask: boolean; statuses: ProjectStatus[] }>> {
    type S = { id: string; name: string; statusCategory?: { key?: string } };
    const types = await this.call<Array<{ id: string; name: string; subtask?: boolean; statuses?: S[] }>>('GET', `project/${encodeURIComponent(projectKey)}/statuses`);
    return types.map((t) => ({
      id: t.id,
      name: t.name,
      subtask: !!t.subtask,
      statuses: (t.statuses ?? []).map((st) => ({ id: st.id, name: st.name, category: categoryOf(st.statusCategory?.key) })),
    }));
  }

  /** The issue's status id and name (for a transition that must not fight a status already reached), or null when gone. */
  async issueStatusId(key: string): Promise<{ id: string; name: string } | null> {
    const issue = await this.getIssue(key, ['status']);
    const st = issue?.fields?.status;
    return issue ? { id: st?.id ?? '', name: st?.name ?? '' } : null;
  }

  /** Transitions available from the issue's status, with the status each leads to. */
  async transitionsTo(key: string): Promise<Array<{ id: string; name: string; toId: string }>> {
    const res = await this.call<{ transitions?: Array<{ id: string; name: string; to?: { id?: string } }> }>('GET', `issue/${encodeURIComponent(key)}/transitions`);
    return (res.transitions ?? []).map((t) => ({ id: t.id, name: t.name, toId: t.to?.id ?? '' }));
  }

  /** Whether the credentials are a Jira administrator's (Data Center webhooks need one). */
  async isAdministrator(): Promise<boolean> {
    const res = await this.call<{ permissions?: Record<string, { havePermission?: boolean }> }>('GET', 'mypermissions', undefined, { permissions: 'ADMINISTER' });
    return res.permissions?.ADMINISTER?.havePermission === true;
  }

  /**
   * Registers a Data Center webhook (REST webhooks plugin, /rest/webhooks/1.0/webhook; administrators only),
   * filtered by JQL; `secret` makes Jira 10+ sign each delivery (X-Hub-Signature). Returns its id.
   */
  async registerServerWebhook(hook: { name: string; url: string; events: string[]; jql: string; secret?: string }): Promise<string> {
    const res = await this.call<{ self?: string; id?: number | string }>('POST', '/rest/webhooks/1.0/webhook', {
      name: hook.name,
      url: hook.url,
      events: hook.events,
      filters: { 'issue-related-events-section': hook.jql },
      excludeBody: false,
      ...(hook.secret ? { secret: hook.secret } : {}),
    });
    const id = res.id !== undefined ? String(res.id) : /\/webhook\/(\d+)$/.exec(res.self ?? '')?.[1];
    if (!id) throw new JiraApiError(502, 'POST /rest/webhooks/1.0/webhook', ['Jira did not say which webhook it registered'], undefined, {});
    return id;
  }

  /** Whether a Data Center webhook still exists (an administrator may have deleted it). */
  async serverWebhookExists(id: string): Promise<boolean> {
    try {
      await this.call('GET', `/rest/webhooks/1.0/webhook/${encodeURIComponent(id)}`);
      return true;
    } catch (err) {
      if (err instanceof JiraApiError && err.status === 404) return false;
      throw err;
    }
  }

  /** Deletes a Data Center webhook; one already gone counts as deleted. */
  async deleteServerWebhook(id: string): Promise<void> {
    try {
      await this.call('DELETE', `/rest/webhooks/1.0/webhook/${encodeURIComponent(id)}`);
    } catch (err) {
      if (!(err instanceof JiraApiError && err.status === 404)) throw err;
    }
  }

  /** Deletes the app's dynamic webhooks (Cloud, OAuth apps). */
  async deleteWebhooks(ids: number[]): Promise<void> {
    if (ids.length) await this.call('DELETE', 'webhook', { webhookIds: ids });
  }

  async priorities(): Promise<Array<{ id: string; name: string }>> {
    return (await this.call<Array<{ id: string; name: string }>>('GET', 'priority')).map(({ id, name }) => ({ id, name }));
  }

  async myself(): Promise<{ accountId: string; displayName?: string; emailAddress?: string }> {
    return this.call('GET', 'myself');
  }

  /** Projects the credentials can create issues in. */
  async projects(): Promise<Array<{ id: string; key: string; name: string }>> {
    if (!this.isCloud) {
      const all = await this.call<Array<{ id: string; key: string; name: string }>>('GET', 'project');
      return all.map(({ id, key, name }) => ({ id, key, name }));
    }
    const out: Array<{ id: string; key: string; name: string }> = [];
    for (let startAt = 0; ; ) {
      const page = await this.call<{ values?: Array<{ id: string; key: string; name: string }>; isLast?: boolean; total?: number }>(
        'GET',
        'project/search',
        undefined,
        { action: 'create', startAt: String(startAt), maxResults: '50' },
      );
      const values = page.values ?? [];
      out.push(...values.map(({ id, key, name }) => ({ id, key, name })));
      startAt += values.length;
      if (page.isLast !== false || values.length === 0) return out;
    }
  }

  /** Issue types of a project, subtask types excluded (a ticket cannot be a subtask of nothing). */
  async issueTypes(projectId: string): Promise<Array<{ id: string; name: string; description: string }>> {
    type T = { id: string; name: string; description?: string; subtask?: boolean };
    const types = this.isCloud
      ? await this.call<T[]>('GET', 'issuetype/project', undefined, { projectId })
      : ((await this.call<{ values?: T[] }>('GET', `issue/createmeta/${encodeURIComponent(projectId)}/issuetypes`)).values ?? []);
    return types.filter((t) => !t.subtask).map((t) => ({ id: t.id, name: t.name, description: t.description ?? '' }));
  }

  async statusCategories(): Promise<Array<{ id: number; key: string; name: string; colorName: string }>> {
    const cats = await this.call<Array<{ id: number; key: string; name: string; colorName: string }>>('GET', 'statuscategory');
    return cats.map(({ id, key, name, colorName }) => ({ id, key, name, colorName }));
  }
}

/** Jira labels are single words: runs of white space become underscores. */
const asLabel = (v: string) => v.trim().replace(/\s+/g, '_').slice(0, 255);

/**
 * A rendered template as the value its field's type takes (Jira's create metadata `schema`): an option by its
 * value, a multi-select as a list of them, a user by account id (Cloud) or user name (Data Center), a number,
 * a date, labels, rich text for a multi-line text field. Without metadata the text is sent as it is.
 */
export function typedValue(meta: FieldMeta | undefined, value: unknown, cloud: boolean, rich: (text: string) => unknown): unknown {
  if (!meta || (typeof value !== 'string' && !Array.isArray(value))) return value;
  const list = [value].flat().map(String);
  const one = list.join(', ').trim();
  const user = (v: string) => (cloud ? { accountId: v.trim() } : { name: v.trim() });
  switch (meta.type) {
    case 'option':
      return { value: list[0] ?? '' };
    case 'number': {
      const n = Number(one);
      return one !== '' && Number.isFinite(n) ? n : one; // Jira names the field when it is not a number
    }
    case 'date':
      return one.slice(0, 10);
    case 'user':
      return user(list[0] ?? '');
    case 'array':
      if (meta.items === 'option') return list.map((v) => ({ value: v }));
      if (meta.items === 'user') return list.map(user);
      if (meta.items === 'component' || meta.items === 'version') return list.map((v) => ({ name: v }));
      if (meta.items === 'string' && (meta.custom?.endsWith(':labels') || meta.custom === undefined)) return list.map(asLabel).filter(Boolean);
      return list;
    case 'string':
      return meta.custom?.endsWith(':textarea') ? rich(list.join('\n')) : list.join(', ');
    default:
      return value;
  }
}

/**
 * The issue a request writes to, for Jira's per-issue write limits: a comment or transition posted, the issue
 * or its assignee put.
 */
function issueWriteOf(method: Method, path: string): string | undefined {
  const m = /^issue\/([^/]+)(\/comment|\/transitions|\/assignee)?$/.exec(path);
  if (!m) return undefined;
  const writes = method === 'POST' ? ['/comment', '/transitions'] : method === 'PUT' ? ['', '/assignee'] : [];
  return writes.includes(m[2] ?? '') ? decodeURIComponent(m[1]!) : undefined;
}

/** Issue objects in an answer, each a point of the app's quota: a search's or bulk fetch's list, or the one issue of GET issue. */
function issuesIn(body: unknown): number {
  if (!body || typeof body !== 'object') return 0;
  const b = body as { issues?: unknown; key?: unknown; fields?: unknown };
  return Array.isArray(b.issues) ? b.issues.length : b.key !== undefined && b.fields !== undefined ? 1 : 0;
}

export function statusCategoryOf(issue: RawIssue): StatusCategory {
  return categoryOf(issue.fields?.status?.statusCategory?.key);
}

function toStatus(issue: RawIssue): JiraIssueStatus {
  return { id: issue.id, key: issue.key, status: issue.fields?.status?.name ?? 'Unknown', statusCategory: statusCategoryOf(issue) };
}

/** DNS resolution that refuses link-local and metadata addresses at connect time (a name may change after it was saved). */
function guardedLookup(hostname: string, options: object, callback: (err: Error | null, address?: string | LookupAddress[], family?: number) => void): void {
  lookup(hostname, options as never, (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => {
    if (err) return callback(err);
    const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
    const bad = addresses.find(isForbiddenAddress);
    if (bad) {
      const refused = Object.assign(new Error(`${hostname} resolves to ${bad}, a link-local or cloud metadata address`), { code: 'EFORBIDDENHOST' });
      return callback(refused);
    }
    callback(null, address, family);
  });
}

/**
 * Jira wiki markup treats many characters as formatting ([links], {code}, *bold*, |tables|…). A backslash
 * makes each of them literal, so user values stay text on Server/Data Center as they do in ADF.
 */
export function escapeWiki(text: string): string {
  return text.replace(/[\\[\]{}*_+^~?|!#\-]/g, (c) => `\\${c}`);
}
