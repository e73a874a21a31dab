import got, { type Got, type Method, RequestError } from 'got';
import { lookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { textToAdf } from './adf.js';
import { isForbiddenAddress } from '../connections/host-policy.js';
import { JiraApiError, JiraUnreachableError, jiraFieldErrors, jiraMessages, parseRetryAfter } from './errors.js';

export interface JiraSite {
  /** e.g. https://acme.atlassian.net (no trailing slash, no /rest suffix) */
  baseUrl: string;
  username: string;
  apiToken: string;
}

export type StatusCategory = 'new' | 'indeterminate' | 'done';

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
  /** Further fields by Jira field id, sent as they are (custom fields, components, …). */
  extraFields?: Record<string, unknown>;
}

export interface CreatedIssue {
  id: string;
  key: string;
  url: string;
}

interface RawIssue {
  id: string;
  key: string;
  fields?: { status?: { name?: string; statusCategory?: { key?: string } } };
}

/** Turns "acme.atlassian.net", "https://acme.atlassian.net/" or a full URL into a base URL. */
export function normaliseBaseUrl(domainOrUrl: string): string {
  const withScheme = /^https?:\/\//i.test(domainOrUrl) ? domainOrUrl : `https://${domainOrUrl}`;
  const url = new URL(withScheme);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * Jira Cloud REST v3, through got. Each call is a single attempt: retries belong to the caller (Temporal's
 * activity retry policy), which is durable and visible to operators, so got's own retries are switched off.
 */
export class JiraClient {
  private readonly http: Got;

  constructor(
    readonly site: JiraSite,
    timeoutMs = 30_000,
  ) {
    this.http = got.extend({
      prefixUrl: `${site.baseUrl}/rest/api/3`,
      timeout: { request: timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      username: site.username,
      password: site.apiToken,
      headers: { accept: 'application/json', 'user-agent': 'ticketflow' },
      dnsLookup: guardedLookup as never,
    });
  }

  browseUrl(key: string): string {
    return `${this.site.baseUrl}/browse/${encodeURIComponent(key)}`;
  }

  private async call<T>(method: Method, path: string, json?: unknown, searchParams?: Record<string, string>): Promise<T> {
    const endpoint = `${method} /rest/api/3/${path.replace(/\/[A-Z][A-Z0-9_]+-\d+/g, '/{issueIdOrKey}')}`;
    const host = new URL(this.site.baseUrl).hostname.replace(/^\[|\]$/g, '');
    // An address literal is never looked up, so the DNS guard cannot see it: check it here, before any socket.
    if (isIP(host) && isForbiddenAddress(host)) {
      throw new JiraUnreachableError(endpoint, `${host} is a link-local or cloud metadata address`, 'EFORBIDDENHOST');
    }
    let res;
    try {
      res = await this.http(path, { method, json, searchParams, responseType: 'text' });
    } catch (err) {
      const code = err instanceof RequestError ? err.code : undefined;
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
    if (res.statusCode >= 400) {
      throw new JiraApiError(res.statusCode, endpoint, jiraMessages(body), parseRetryAfter(res.headers), jiraFieldErrors(body));
    }
    return body as T;
  }

  async createIssue(input: CreateIssueInput): Promise<CreatedIssue> {
    const fields: Record<string, unknown> = {
      project: { key: input.projectKey },
      issuetype: { name: input.issueType },
      summary: input.summary,
    };
    if (input.description) fields.description = textToAdf(input.description);
    if (input.dueDate) fields.duedate = input.dueDate;
    if (input.labels?.length) fields.labels = input.labels;
    if (input.priority) fields.priority = { name: input.priority };
    if (input.assigneeAccountId) fields.assignee = { accountId: input.assigneeAccountId };
    for (const [id, value] of Object.entries(input.extraFields ?? {})) fields[id] ??= value;
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

  /** Issues matching a JQL query, oldest first (enhanced search: POST /search/jql). */
  async searchIssues(jql: string, maxResults = 50): Promise<JiraIssueStatus[]> {
    const res = await this.call<{ issues?: RawIssue[] }>('POST', 'search/jql', { jql, maxResults, fields: ['status'] });
    return (res.issues ?? []).map(toStatus);
  }

  async myself(): Promise<{ accountId: string; displayName?: string; emailAddress?: string }> {
    return this.call('GET', 'myself');
  }

  /** Projects the credentials can create issues in. */
  async projects(): Promise<Array<{ id: string; key: string; name: string }>> {
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
    const types = await this.call<Array<{ id: string; name: string; description?: string; subtask?: boolean }>>('GET', 'issuetype/project', undefined, { projectId });
    return types.filter((t) => !t.subtask).map((t) => ({ id: t.id, name: t.name, description: t.description ?? '' }));
  }

  async statusCategories(): Promise<Array<{ id: number; key: string; name: string; colorName: string }>> {
    const cats = await this.call<Array<{ id: number; key: string; name: string; colorName: string }>>('GET', 'statuscategory');
    return cats.map(({ id, key, name, colorName }) => ({ id, key, name, colorName }));
  }
}

function toStatus(issue: RawIssue): JiraIssueStatus {
  const category = issue.fields?.status?.statusCategory?.key;
  return {
    id: issue.id,
    key: issue.key,
    status: issue.fields?.status?.name ?? 'Unknown',
    // Jira's "undefined" category (no category) is treated as not started.
    statusCategory: category === 'done' || category === 'indeterminate' ? category : 'new',
  };
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
