import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { compileJql } from './jql.js';
import type { JiraContract } from './openapi.js';
import { PointsQuota, isRead, pointsOf } from './points.js';
import { FakeJiraStore, ISSUE_TYPES, STATUSES, STATUS_CATEGORIES, type FakeComment, type FakeIssue, type CategoryKey } from './store.js';
import { JiraTraffic, endpointOf } from './traffic.js';
import { FakeWebhooks, JIRA_WEBHOOK_EVENTS, type FiredEvent, type WebhookOptions } from './webhooks.js';
import { createMetaOf, fieldById, invalidValue, PRIORITIES, REQUIRED_BY_TYPE } from './fields.js';
import { DataCenterBucket, fakeDataCenterOAuth, fakeOAuth1, oauthHeaderParams } from './datacenter.js';

const FAULT_KINDS = ['429', '500', '503', 'slow', 'lost_reply', 'drop', 'near_limit'] as const;

/** A fault an admin queues; it applies to the next `times` matching requests. */
export interface Fault {
  /** near_limit: the request goes through, its answer marked X-RateLimit-NearLimit */
  kind: (typeof FAULT_KINDS)[number];
  method?: string;
  /** substring of the request path */
  path?: string;
  times?: number;
  /** 429: Retry-After, and X-RateLimit-Reset that far from now (default 1) */
  retryAfterSeconds?: number;
  delayMs?: number;
  /**
   * 429: the RateLimit-Reason to send, as Jira names them (jira-quota-global-based, jira-quota-tenant-based,
   * jira-burst-based, jira-per-issue-on-write); any other string is sent as it is; none: no reason header.
   */
  reason?: string;
  /** The rate-limit headers in the forms Atlassian sent during the 2026 beta: Beta-Retry-After, X-Beta-RateLimit-…. */
  beta?: boolean;
  /** Any kind: the answer carries X-RateLimit-NearLimit: true (without being refused for it). */
  nearLimit?: boolean;
}

export interface LoggedRequest {
  seq: number;
  at: string;
  method: string;
  path: string;
  status: number;
  body?: unknown;
  fault?: Fault['kind'];
  /** refused by one of the fake's limits (quota, burst, per-issue writes, the rate limit switch): its RateLimit-Reason */
  rateLimited?: string;
  /** what the call cost in Jira's points (answered calls only) */
  points?: number;
  violations: string[];
}

export interface FakeJiraOptions {
  store?: FakeJiraStore;
  contract?: JiraContract;
  /** When set, requests must carry Basic credentials for this user and token; otherwise any Basic credentials pass. */
  credentials?: { username: string; apiToken: string };
  /** A Data Center personal access token accepted as Bearer */
  pat?: string;
  /** Lifetime of OAuth access tokens */
  tokenTtlSeconds?: number;
  /** A user whose valid credentials get 403 everywhere (an account without permissions) */
  forbiddenUser?: string;
  /** Outgoing webhook deliveries: retries, backoff, timeout, and the OAuth app's client secret to sign dynamic ones */
  webhooks?: WebhookOptions;
  /** Each OAuth app's hourly points quota (default 65,000; null: none) */
  pointsPerHour?: number | null;
  /** Calls per endpoint and method in any second of real time (default 100; null: no burst limit) */
  burstPerSecond?: number | null;
  /** How far searches lag behind changes, on the fake's clock (default 0) */
  searchLagMs?: number;
  /** The Jira user's time zone (IANA, default UTC): GET myself says it, and absolute JQL dates are read in it */
  timeZone?: string;
}

export const FAKE_CLOUD_ID = 'fake-cloud-id';
const GATEWAY_PREFIX = new RegExp(`^/ex/jira/[^/]+(?=/rest/api/3/)`);


const notFound = { errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} };

const MAX_BULK_FETCH = 100;

interface FakeUser {
  accountId: string;
  displayName: string;
}
/** Whoever calls the REST API (the product) acts as this account, */
const API_USER: FakeUser = { accountId: 'fake-account', displayName: 'ticketflow (fake Jira)' };
/** and the admin API stands for a person working in Jira's UI, so webhook receivers can tell the two apart. */
const UI_USER: FakeUser = { accountId: 'fake-human', displayName: 'Jira User' };

interface ChangeItem {
  field: string;
  fieldtype: 'jira';
  fieldId: string;
  from: string | null;
  fromString: string | null;
  to: string | null;
  toString: string | null;
}
const change = (field: string, from: { id: string; name: string } | null, to: { id: string; name: string } | null): ChangeItem => ({
  field,
  fieldtype: 'jira',
  fieldId: field,
  from: from?.id ?? null,
  fromString: from?.name ?? null,
  to: to?.id ?? null,
  toString: to?.name ?? null,
});

/** Jira's `fields` list: names to include, `*all` or `*navigable` for every field, `-name` to leave one out. */
function selectFields<T extends { fields: Record<string, unknown> }>(issue: T, wanted: string[] | undefined): T {
  const names = (wanted ?? []).flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean);
  const include = new Set(names.filter((f) => !/^[-*]/.test(f)));
  const exclude = new Set(names.filter((f) => f.startsWith('-')).map((f) => f.slice(1)));
  const every = !include.size || names.includes('*all') || names.includes('*navigable');
  return { ...issue, fields: Object.fromEntries(Object.entries(issue.fields).filter(([k]) => (every || include.has(k)) && !exclude.has(k))) };
}

/** The log keeps bodies for tests and benchmarks to read (a bulk fetch's keys included); longer lists are cut so 50,000 entries stay small. */
function loggable(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, Array.isArray(v) && v.length > 100 ? [...v.slice(0, 100), `… ${v.length - 100} more`] : v]));
}

const jiraError = (res: Response, status: number, message: string) => res.status(status).json({ errorMessages: [message], errors: {} });

/** Jira Cloud's points per hour for an app when nothing else is set (Atlassian's 2026 default tier). */
export const DEFAULT_POINTS_PER_HOUR = 65_000;
/** Faults that answer in place of Jira: the call did no work, costs nothing, and its answer is outside the contract. */
const ANSWERING_FAULTS: Array<Fault['kind'] | undefined> = ['429', '500', '503', 'drop'];
const MAX_BULK_CREATE = 500_000;

/** A rate-limit header's name, or (beta) the one Atlassian used during the 2026 beta. */
const limitHeader = (name: 'Retry-After' | 'X-RateLimit-Reset' | 'RateLimit-Reason' | 'X-RateLimit-NearLimit', beta = false) =>
  !beta ? name : name === 'Retry-After' ? 'Beta-Retry-After' : `X-Beta-${name.replace(/^X-/, '')}`;
const statusNamed = (name: string) => STATUSES.find((s) => s.name.toLowerCase() === name.toLowerCase());
const noRoute = (req: Request, res: Response) => void jiraError(res, 404, `No fake Jira route for ${req.method} ${req.path}`);

/**
 * A small Jira Cloud (REST v3) for tests and demos: the calls the product makes, plus an admin API under
 * /_fake to move issues, delete them, inject faults and read the request log.
 */
export function createFakeJira(opts: FakeJiraOptions = {}) {
  const store = opts.store ?? new FakeJiraStore();
  const clock = store.clock;
  const timeZone = opts.timeZone ?? 'UTC';
  const defaults = {
    pointsPerHour: opts.pointsPerHour === undefined ? DEFAULT_POINTS_PER_HOUR : opts.pointsPerHour,
    searchLagMs: opts.searchLagMs ?? 0,
  };
  store.searchLagMs = defaults.searchLagMs;
  const faults: Array<Fault & { left: number }> = [];
  const requests: LoggedRequest[] = [];
  let seq = 0;
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '5mb' }));
  // OAuth's token endpoints and OAuth 1.0a's signed form bodies
  app.use(express.urlencoded({ extended: false }));

  const base = (req: Request) => `${req.protocol}://${req.get('host')}`;
  /** Data Center answers (REST v2) point at v2, Cloud's at v3. */
  const apiOf = (req: Request) => (req.originalUrl.includes('/rest/api/2/') ? '/rest/api/2' : '/rest/api/3');
  const resolutionOf = (i: FakeIssue) => (i.resolutiondate ? (STATUSES.find((x) => x.id === i.statusId)?.resolution ?? { id: '10000', name: 'Done' }) : null);
  const statusOf = (i: FakeIssue) => {
    const s = STATUSES.find((x) => x.id === i.statusId)!;
    const cat = STATUS_CATEGORIES[s.category];
    return {
      self: '',
      id: s.id,
      name: s.name,
      description: '',
      iconUrl: '',
      statusCategory: { ...cat, self: '' },
    };
  };
  const issueJson = (req: Request, i: FakeIssue) => {
    const project = store.projects.find((p) => p.key === i.projectKey)!;
    const issuetype = ISSUE_TYPES.find((t) => t.id === i.issueTypeId)!;
    const status = statusOf(i);
    const api = `${base(req)}${apiOf(req)}`;
    status.self = `${api}/status/${status.id}`;
    status.statusCategory.self = `${api}/statuscategory/${status.statusCategory.id}`;
    return {
      id: i.id,
      key: i.key,
      self: `${api}/issue/${i.id}`,
      fields: {
        summary: i.summary,
        description: i.description ?? null,
        labels: i.labels,
        duedate: i.duedate,
        created: i.created,
        updated: i.updated,
        resolutiondate: i.resolutiondate,
        resolution: resolutionOf(i),
        status,
        project: { id: project.id, key: project.key, name: project.name, self: `${base(req)}/rest/api/3/project/${project.id}` },
        issuetype: { id: issuetype.id, name: issuetype.name, subtask: issuetype.subtask, self: `${base(req)}/rest/api/3/issuetype/${issuetype.id}` },
        reporter: { ...API_USER },
        assignee: null,
        comment: { comments: [], startAt: 0, maxResults: 0, total: i.comments.length },
        ...i.extraFields,
      },
    };
  };

  const commentJson = (req: Request, issue: FakeIssue, c: FakeComment) => ({
    id: c.id,
    self: `${base(req)}/rest/api/3/issue/${issue.id}/comment/${c.id}`,
    body: c.body,
    created: c.created,
    updated: c.updated,
    author: { accountId: 'fake-account', displayName: 'ticketflow' },
    properties: Object.entries(c.properties).map(([key, value]) => ({ key, value })),
  });
  const userJson = (req: Request, u: FakeUser) => ({
    self: `${base(req)}/rest/api/3/user?accountId=${u.accountId}`,
    ...u,
    active: true,
    timeZone,
    accountType: 'atlassian',
  });

  const hooks = new FakeWebhooks(opts.webhooks);
  let changelogId = 30_000;
  /** Tells the webhooks, in the shape of Jira Cloud's payload (see port-jira-integration.md in shared/reference). */
  const notify = (req: Request, event: FiredEvent, issue: FakeIssue, by: FakeUser, detail: { typeName?: string; changes?: ChangeItem[]; comment?: FakeComment } = {}) =>
    hooks.dispatch(event, issue, (detail.changes ?? []).map((c) => c.fieldId), () => ({
      timestamp: clock.now(),
      webhookEvent: event,
      ...(detail.typeName ? { issue_event_type_name: detail.typeName } : {}),
      user: userJson(req, by),
      issue: issueJson(req, issue),
      ...(detail.changes ? { changelog: { id: String(changelogId++), items: detail.changes } } : {}),
      ...(detail.comment ? { comment: commentJson(req, issue, detail.comment) } : {}),
    }));

  /** A move into or out of Done changes the resolution too, and Jira's changelog says so. */
  const transition = (req: Request, issue: FakeIssue, statusId: string, by: FakeUser, tell = true) => {
    const resolution = resolutionOf;
    const [fromStatus, fromResolution] = [statusOf(issue), resolution(issue)];
    store.transition(issue, statusId);
    if (!tell || fromStatus.id === issue.statusId) return;
    const changes = [change('status', fromStatus, statusOf(issue))];
    if (fromResolution?.id !== resolution(issue)?.id) changes.push(change('resolution', fromResolution, resolution(issue)));
    notify(req, 'jira:issue_updated', issue, by, { typeName: 'issue_generic', changes });
  };

  /** Jira's create validation, for the REST API and the admin API alike. */
  const createIssue = (req: Request, res: Response, by: FakeUser) => {
    const fields = ((req.body as { fields?: Record<string, unknown> }).fields ?? {}) as Record<string, any>;
    const errors: Record<string, string> = {};
    const project = store.projects.find((p) => p.key === fields.project?.key || p.id === fields.project?.id);
    if (!project) errors.project = 'valid project is required';
    const issueType = ISSUE_TYPES.find((t) => t.name === fields.issuetype?.name || t.id === fields.issuetype?.id);
    if (!issueType) errors.issuetype = 'Specify an issue type';
    if (typeof fields.summary !== 'string' || !fields.summary.trim()) errors.summary = 'You must specify a summary of the issue.';
    else if (fields.summary.length > 255) errors.summary = 'Summary must be less than 255 characters.';
    else if (/[\r\n]/.test(fields.summary)) errors.summary = 'The summary is invalid because it contains newline characters.';
    if (fields.duedate !== undefined && fields.duedate !== null && !/^\d{4}-\d{2}-\d{2}$/.test(String(fields.duedate))) errors.duedate = 'Error parsing date string';
    const labels = (fields.labels ?? []) as unknown[];
    if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string' || /\s/.test(l))) errors.labels = 'Labels cannot contain spaces.';
    if (fields.priority !== undefined && !PRIORITIES.includes(fields.priority?.name)) errors.priority = 'Specify a valid priority';
    // Custom fields by the create screen's metadata (fields.ts): on the screen, of the right type, and every required one given.
    const cloud = !req.originalUrl.includes('/rest/api/2/');
    for (const id of Object.keys(fields).filter((f) => f.startsWith('customfield_'))) {
      const f = fieldById(id);
      if (!f) errors[id] = `Field '${id}' cannot be set. It is not on the appropriate screen, or unknown.`;
      else {
        const bad = invalidValue(f, fields[id], cloud);
        if (bad) errors[id] = bad;
      }
    }
    for (const id of issueType ? (REQUIRED_BY_TYPE[issueType.id] ?? []) : []) {
      if (fields[id] === undefined || fields[id] === null) errors[id] = `${fieldById(id)?.name ?? id} is required.`;
    }
    if (Object.keys(errors).length) return res.status(400).json({ errorMessages: [], errors });
    const { project: _p, issuetype: _t, summary, description, labels: _l, duedate, ...extraFields } = fields;
    const issue = store.createIssue({
      projectKey: project!.key,
      issueTypeId: issueType!.id,
      summary,
      description: description ?? null,
      labels: labels as string[],
      duedate: duedate ?? null,
      extraFields,
    });
    notify(req, 'jira:issue_created', issue, by, { typeName: 'issue_created' });
    res.status(201).json({ id: issue.id, key: issue.key, self: `${base(req)}/rest/api/3/issue/${issue.id}` });
  };

  /**
   * Issues matching JQL over the lagging search index, in the order it asks, and the keys it names that do not
   * exist (now, not in the index: Jira validates the query against the database).
   */
  const runJql = (jql: string) => {
    const q = compileJql(jql, { now: clock.now(), timeZone });
    return { issues: store.search(q), unknownKeys: q.namedKeys.filter((k) => !store.issue(k)) };
  };
  /** Cloud's searches: bad JQL is a 400, and so is a key that does not exist, one message each; undefined once answered. */
  const cloudSearch = (res: Response, jql: string | undefined): FakeIssue[] | undefined => {
    let found;
    try {
      found = runJql(jql ?? '');
    } catch (err) {
      return void jiraError(res, 400, (err as Error).message);
    }
    if (!found.unknownKeys.length) return found.issues;
    res.status(400).json({ errorMessages: found.unknownKeys.map((k) => `The value '${k}' does not exist for the field 'key'.`), errors: {} });
  };

  const traffic = new JiraTraffic(opts.burstPerSecond === undefined ? 100 : opts.burstPerSecond);
  const quota = new PointsQuota(clock, defaults.pointsPerHour);
  /** Every 429 the fake sends, a fault's or a limit's: counted by reason. */
  const refuse = (res: Response, r: { reason?: string; retryAfterSeconds: number; resetAt?: string; beta?: boolean }) => {
    traffic.refused(r.reason);
    res.set(limitHeader('Retry-After', r.beta), String(r.retryAfterSeconds));
    if (r.resetAt) res.set(limitHeader('X-RateLimit-Reset', r.beta), r.resetAt);
    if (r.reason) res.set(limitHeader('RateLimit-Reason', r.beta), r.reason);
    return jiraError(res, 429, 'Rate limit exceeded.');
  };
  // Request log, counting and burst limits, contract checks, faults, auth, the points quota and per-issue write
  // limits, in that order, for every Jira (non-admin) call.
  const oauth = fakeOAuth(opts.tokenTtlSeconds ?? 3600);
  const dcOAuth = fakeDataCenterOAuth(opts.tokenTtlSeconds ?? 7200);
  const oauth1 = fakeOAuth1();
  const dcBucket = new DataCenterBucket();

  app.use((req: Request, res: Response, next: NextFunction) => {
    // Data Center's authorization server is not the REST API: its own routes below answer it.
    if ((!req.path.startsWith('/rest/') && !req.path.startsWith('/ex/jira/')) || req.path.startsWith('/rest/oauth2/')) return next();
    // The gateway (api.atlassian.com/ex/jira/{cloudId}) serves the same v3 API; Data Center's v2 is outside the spec.
    const specPath = req.path.replace(GATEWAY_PREFIX, '');
    const contract = specPath.startsWith('/rest/api/3/') ? opts.contract : undefined;
    const entry: LoggedRequest = { seq: ++seq, at: new Date().toISOString(), method: req.method, path: req.path, status: 0, violations: [] };
    if (req.body !== undefined && Object.keys(req.body as object).length) entry.body = loggable(req.body);
    requests.push(entry);
    if (requests.length > 50_000) requests.splice(0, 10_000);
    if (contract) entry.violations.push(...contract.checkRequest(req.method, specPath, req.body));
    const endpoint = endpointOf(req.method, specPath);
    const read = isRead(req.method, specPath);
    /** The OAuth app whose hourly quota pays for the call; API tokens and PATs are exempt (their points are only counted). */
    let payer: string | undefined;
    /** Counts a call's points, and charges them to the payer, whose quota refuses (false) what would take it over. */
    const charge = (points: number): boolean => {
      if (payer !== undefined && !quota.take(payer, points)) return false;
      entry.points = points;
      traffic.countPoints(endpoint, points, payer !== undefined);
      if (payer !== undefined && quota.nearLimit(payer)) res.set(limitHeader('X-RateLimit-NearLimit'), 'true');
      return true;
    };
    const limited = (reason: string, retryAfterSeconds: number, resetAt?: string) => {
      entry.rateLimited = reason;
      return refuse(res, { reason, retryAfterSeconds, resetAt });
    };
    const overQuota = () => {
      const at = quota.resetsAt();
      return limited('jira-quota-global-based', Math.max(1, Math.ceil((at - clock.now()) / 1000)), `${new Date(at).toISOString().slice(0, 16)}Z`);
    };
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      // Writes pay up front; a read is priced by its answer, and as reads change nothing, one that would take the
      // app over its quota can still be refused here.
      if (entry.points === undefined && !entry.rateLimited && !ANSWERING_FAULTS.includes(entry.fault) && !charge(pointsOf(read, body))) return overQuota();
      // Injected 429s and 5xx are real Jira behaviour that the spec documents globally, not per operation.
      if (contract && !ANSWERING_FAULTS.includes(entry.fault) && !entry.rateLimited) entry.violations.push(...contract.checkResponse(req.method, specPath, res.statusCode, body));
      return json(body);
    };
    res.on('finish', () => void (entry.status = res.statusCode));
    if (!traffic.admit(endpoint)) return limited('jira-burst-based', 1);
    // Data Center's token bucket, when an administrator has turned it on: its headers on every answer, a 429 when empty.
    if (!specPath.startsWith('/rest/api/3/')) {
      const taken = dcBucket.take();
      if (taken) res.set(taken.headers);
      if (taken?.retryAfterSeconds !== undefined) {
        entry.rateLimited = 'datacenter-bucket';
        traffic.refused('datacenter-bucket');
        return jiraError(res, 429, 'Rate limit exceeded.');
      }
    }

    const fault = faults.find((f) => f.left > 0 && (!f.method || f.method === req.method) && (!f.path || req.path.includes(f.path)));
    if (fault) {
      fault.left -= 1;
      entry.fault = fault.kind;
      if (fault.nearLimit || fault.kind === 'near_limit') res.set(limitHeader('X-RateLimit-NearLimit', fault.beta), 'true');
      if (fault.kind === '429') {
        const retryAfterSeconds = fault.retryAfterSeconds ?? 1;
        return refuse(res, { reason: fault.reason, retryAfterSeconds, resetAt: new Date(clock.now() + retryAfterSeconds * 1000).toISOString(), beta: fault.beta });
      }
      if (fault.kind === '500' || fault.kind === '503') {
        return res.status(Number(fault.kind)).json({ errorMessages: ['Internal server error'], errors: {} });
      }
      if (fault.kind === 'drop') return req.socket.destroy();
      if (fault.kind === 'lost_reply') {
        // The work happens; the answer never arrives (a JSON one, or one without a body such as an edit's 204).
        const lose = () => {
          entry.status = -1;
          req.socket.destroy();
          return res;
        };
        res.json = lose;
        res.end = lose as never;
      }
    }

    /** Authentication, the points quota and the per-issue write limits: after a slow fault's delay, as for any call. */
    const authorize = () => {
      const auth = req.get('authorization') ?? '';
      const basic = /^Basic (.+)$/i.exec(auth);
      const bearer = /^Bearer (.+)$/i.exec(auth)?.[1];
      const signed = oauthHeaderParams(auth);
      const [user, token] = basic ? Buffer.from(basic[1]!, 'base64').toString().split(/:(.*)/s) : [];
      const viaGateway = req.path.startsWith('/ex/jira/');
      const dataCenter = !specPath.startsWith('/rest/api/3/');
      if (viaGateway && !req.path.startsWith(`/ex/jira/${FAKE_CLOUD_ID}/`)) return res.status(404).json({ errorMessages: ['Site not found'], errors: {} });
      // OAuth 1.0a and Data Center's OAuth 2.0 tokens are Data Center's (REST v2 and the webhooks plugin), as in Jira.
      const problem = signed && dataCenter ? oauth1.apiCall(req) : signed ? 'signature_method_rejected' : null;
      if (signed && problem) return res.status(401).set('WWW-Authenticate', `OAuth oauth_problem="${problem}"`).json({ errorMessages: [`OAuth 1.0a: ${problem}`], errors: {} });
      const ok = signed
        ? true
        : bearer
          ? viaGateway ? oauth.validAccess(bearer) : (!!opts.pat && bearer === opts.pat) || (dataCenter && dcOAuth.valid(bearer))
          : opts.credentials ? user === opts.credentials.username && token === opts.credentials.apiToken : !!user && !!token;
      if (!ok) return res.status(401).json({ errorMessages: ['You are not authenticated. Authentication required to perform this operation.'], errors: {} });
      // Administrators may manage webhooks; a Data Center OAuth 2.0 token acts only within its scope (WRITE is not ADMIN).
      const scope = bearer && !viaGateway && dcOAuth.valid(bearer) ? dcOAuth.scopeOf(bearer) : undefined;
      res.locals.admin = !(opts.forbiddenUser && user === opts.forbiddenUser) && (scope === undefined || scope === 'ADMIN' || scope === 'SYSTEM_ADMIN');
      if (opts.forbiddenUser && user === opts.forbiddenUser) {
        return res.status(403).json({ errorMessages: ['You do not have the permission to see the specified issue or project.'], errors: {} });
      }
      // Only an OAuth 2.0 app (Bearer through the gateway) may manage dynamic webhooks; they belong to its client id,
      // and so does the quota that pays for its calls.
      if (bearer && viaGateway) payer = res.locals.oauthClientId = oauth.clientOf(bearer);
      if (payer !== undefined && quota.wouldExceed(payer, 1)) return overQuota();
      if (!read) {
        const target = endpoint.includes('/issue/{issueIdOrKey}') ? store.issue(specPath.split('/')[5]!) : undefined;
        const waitSeconds = target && traffic.admitWrite(target.id);
        if (waitSeconds) return limited('jira-per-issue-on-write', waitSeconds);
        charge(1);
      }
      next();
    };
    if (fault?.kind === 'slow') return void setTimeout(authorize, fault.delayMs ?? 5_000);
    authorize();
  });

  const api = express.Router();

  api.post('/issue', (req, res) => void createIssue(req, res, API_USER));

  // Issues that do not exist (or are not visible) are left out silently; issueErrors is for retriable failures only.
  api.post('/issue/bulkfetch', (req, res) => {
    const body = req.body as { issueIdsOrKeys?: unknown; fields?: string[] };
    const ids = body.issueIdsOrKeys;
    if (!Array.isArray(ids) || !ids.length) return jiraError(res, 400, 'At least one issue ID or key must be provided.');
    if (ids.length > MAX_BULK_FETCH) return jiraError(res, 400, `A maximum of ${MAX_BULK_FETCH} issues can be fetched at once; ${ids.length} were requested.`);
    const issues = store.byKeys(ids.map(String));
    res.json({ issues: issues.map((i) => selectFields(issueJson(req, i), body.fields)), issueErrors: [] });
  });

  api.get('/issue/:key', (req, res) => {
    const issue = store.issue(String(req.params.key));
    if (!issue) return res.status(404).json(notFound);
    // `properties`: the entity properties asked for, by key (Jira leaves the others out).
    const wanted = String(req.query.properties ?? '').split(',').map((k) => k.trim()).filter(Boolean);
    const properties = Object.fromEntries(wanted.filter((k) => issue.properties && k in issue.properties).map((k) => [k, issue.properties![k]]));
    res.json({ ...issueJson(req, issue), ...(wanted.length ? { properties } : {}) });
  });

  // Edit: the fields sent replace the issue's (summary, description, due date, custom fields on the screen),
  // and entity properties are set in the same request; webhooks see a jira:issue_updated with the changelog.
  api.put('/issue/:key', (req, res) => {
    const issue = store.issue(String(req.params.key));
    if (!issue) return res.status(404).json(notFound);
    const body = req.body as { fields?: Record<string, unknown>; properties?: Array<{ key?: unknown; value?: unknown }> };
    const fields = body.fields ?? {};
    const errors: Record<string, string> = {};
    if ('summary' in fields) {
      const summary = fields.summary;
      if (typeof summary !== 'string' || !summary.trim()) errors.summary = 'You must specify a summary of the issue.';
      else if (summary.length > 255) errors.summary = 'Summary must be less than 255 characters.';
      else if (/[\r\n]/.test(summary)) errors.summary = 'The summary is invalid because it contains newline characters.';
    }
    const cloud = !req.originalUrl.includes('/rest/api/2/');
    for (const id of Object.keys(fields).filter((f) => !['summary', 'description', 'duedate'].includes(f))) {
      const f = id.startsWith('customfield_') ? fieldById(id) : undefined;
      const bad = f ? invalidValue(f, fields[id], cloud) : `Field '${id}' cannot be set. It is not on the appropriate screen, or unknown.`;
      if (bad) errors[id] = bad;
    }
    const properties = body.properties ?? [];
    if (!Array.isArray(properties) || properties.some((p) => typeof p?.key !== 'string' || !p.key)) return jiraError(res, 400, 'Each property needs a key.');
    if (Object.keys(errors).length) return res.status(400).json({ errorMessages: [], errors });
    const { summary, description, duedate, ...extraFields } = fields as Record<string, any>;
    const before = { summary: issue.summary, description: issue.description };
    store.edit(
      issue,
      { ...(summary !== undefined ? { summary } : {}), ...(description !== undefined ? { description } : {}), ...(duedate !== undefined ? { duedate } : {}), extraFields },
      Object.fromEntries(properties.map((p) => [p.key as string, p.value])),
    );
    const text = (v: unknown) => (v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));
    const changes: ChangeItem[] = [];
    if (summary !== undefined && summary !== before.summary) changes.push({ field: 'summary', fieldtype: 'jira', fieldId: 'summary', from: null, fromString: before.summary, to: null, toString: summary });
    if (description !== undefined && text(description) !== text(before.description)) {
      changes.push({ field: 'description', fieldtype: 'jira', fieldId: 'description', from: null, fromString: text(before.description), to: null, toString: text(description) });
    }
    if (changes.length) notify(req, 'jira:issue_updated', issue, API_USER, { typeName: 'issue_updated', changes });
    res.status(204).end();
  });

  // Searches read the lagging index (see FakeJiraStore); GET issue and bulk fetch above are always current, as in Jira.
  api.post('/search/jql', (req, res) => {
    const body = req.body as { jql?: string; maxResults?: number; nextPageToken?: string; fields?: string[] };
    const all = cloudSearch(res, body.jql);
    if (!all) return;
    const start = Number(body.nextPageToken ?? 0) || 0;
    const max = Math.min(Math.max(body.maxResults ?? 50, 1), 5000);
    const page = all.slice(start, start + max);
    const isLast = start + max >= all.length;
    res.json({ issues: page.map((i) => selectFields(issueJson(req, i), body.fields)), isLast, ...(isLast ? {} : { nextPageToken: String(start + max) }) });
  });

  api.post('/search/approximate-count', (req, res) => {
    const found = cloudSearch(res, (req.body as { jql?: string }).jql);
    if (found) res.json({ count: found.length });
  });

  api.get('/issue/:key/comment', (req, res) => {
    const issue = store.issue(String(req.params.key));
    if (!issue) return res.status(404).json(notFound);
    const comments = issue.comments.map((c) => commentJson(req, issue, c));
    res.json({ comments, startAt: 0, maxResults: comments.length, total: comments.length });
  });

  api.post('/issue/:key/comment', (req, res) => {
    const issue = store.issue(String(req.params.key));
    if (!issue) return res.status(404).json(notFound);
    const body = req.body as { body?: unknown; properties?: Array<{ key: string; value: unknown }> };
    if (!body.body) return res.status(400).json({ errorMessages: [], errors: { comment: 'Comment body can not be empty!' } });
    const props = Object.fromEntries((body.properties ?? []).map((p) => [p.key, p.value]));
    const comment = store.addComment(issue, body.body, props);
    // Jira sends both: the comment event, and an issue update of type issue_commented (no changelog).
    notify(req, 'comment_created', issue, API_USER, { comment });
    notify(req, 'jira:issue_updated', issue, API_USER, { typeName: 'issue_commented', comment });
    res.status(201).json(commentJson(req, issue, comment));
  });

  api.put('/issue/:key/assignee', (req, res) => {
    const issue = store.issue(String(req.params.key));
    if (!issue) return res.status(404).json(notFound);
    const accountId = (req.body as { accountId?: string | null }).accountId ?? null;
    const from = (issue.extraFields.assignee as { accountId?: string } | null | undefined)?.accountId ?? null;
    store.assign(issue, accountId);
    const who = (id: string | null) => (id ? { id, name: [API_USER, UI_USER].find((u) => u.accountId === id)?.displayName ?? id } : null);
    notify(req, 'jira:issue_updated', issue, API_USER, { typeName: 'issue_assigned', changes: [change('assignee', who(from), who(accountId))] });
    res.status(204).end();
  });

  api.get('/priority', (req, res) => {
    res.json(PRIORITIES.map((name, i) => ({ id: String(i + 1), name, self: `${base(req)}/rest/api/3/priority/${i + 1}`, statusColor: '#cccccc', description: name, iconUrl: '' })));
  });

  // Every status is reachable from every other (a permissive workflow), which is what reopening needs.
  api.get('/issue/:key/transitions', (req, res) => {
    const issue = store.issue(String(req.params.key));
    if (!issue) return res.status(404).json(notFound);
    const transitions = STATUSES.filter((st) => st.id !== issue.statusId).map((st) => ({
      id: `t${st.id}`,
      name: `Move to ${st.name}`,
      hasScreen: false,
      isAvailable: true,
      to: { id: st.id, name: st.name, self: `${base(req)}/rest/api/3/status/${st.id}`, statusCategory: { ...STATUS_CATEGORIES[st.category], self: `${base(req)}/rest/api/3/statuscategory/${STATUS_CATEGORIES[st.category].id}` } },
    }));
    res.json({ transitions });
  });

  api.post('/issue/:key/transitions', (req, res) => {
    const issue = store.issue(String(req.params.key));
    if (!issue) return res.status(404).json(notFound);
    const id = String((req.body as { transition?: { id?: string } }).transition?.id ?? '');
    const target = STATUSES.find((st) => `t${st.id}` === id && st.id !== issue.statusId);
    if (!target) return res.status(400).json({ errorMessages: [`Transition id '${id}' is not valid for this issue.`], errors: {} });
    transition(req, issue, target.id, API_USER);
    res.status(204).end();
  });

  api.get('/project/search', (req, res) => {
    const values = store.projects.map((p) => ({ ...p, self: `${base(req)}/rest/api/3/project/${p.id}`, projectTypeKey: 'software', simplified: false, style: 'classic', isPrivate: false }));
    res.json({ self: `${base(req)}${req.originalUrl}`, startAt: 0, maxResults: 50, total: values.length, isLast: true, values });
  });

  api.get('/issuetype/project', (req, res) => {
    const project = store.projects.find((p) => p.id === String(req.query.projectId));
    if (!project) return res.status(404).json({ errorMessages: ['No project could be found with id.'], errors: {} });
    res.json(ISSUE_TYPES.map((t) => ({ ...t, self: `${base(req)}/rest/api/3/issuetype/${t.id}`, iconUrl: '', scope: { type: 'PROJECT', project: { id: project.id } } })));
  });

  api.get('/statuscategory', (req, res) => {
    res.json(Object.values(STATUS_CATEGORIES).map((c) => ({ ...c, self: `${base(req)}/rest/api/3/statuscategory/${c.id}` })));
  });

  api.get('/myself', (req, res) => void res.json(userJson(req, API_USER)));

  // Dynamic webhooks (OAuth 2.0 apps only; Jira answers anyone else 403).
  const callingApp = (res: Response): string | undefined => {
    const clientId = res.locals.oauthClientId as string | undefined;
    if (clientId === undefined) jiraError(res, 403, 'Only Connect and OAuth 2.0 apps can use this operation.');
    return clientId;
  };
  const webhookIds = (req: Request, res: Response): number[] | undefined => {
    const ids = (req.body as { webhookIds?: unknown }).webhookIds;
    if (Array.isArray(ids) && ids.every((id) => Number.isInteger(id))) return ids as number[];
    jiraError(res, 400, 'webhookIds must be a list of webhook IDs.');
  };

  api.post('/webhook', (req, res) => {
    const clientId = callingApp(res);
    if (clientId === undefined) return;
    const body = req.body as { url?: unknown; webhooks?: unknown };
    if (typeof body.url !== 'string' || !/^https?:\/\//.test(body.url)) return jiraError(res, 400, 'A valid webhook URL must be specified.');
    if (!Array.isArray(body.webhooks) || !body.webhooks.length) return jiraError(res, 400, 'At least one webhook must be specified.');
    res.json({ webhookRegistrationResult: hooks.register(clientId, body.url, body.webhooks) });
  });

  api.get('/webhook', (req, res) => {
    const clientId = callingApp(res);
    if (clientId === undefined) return;
    const all = hooks.ownedBy(clientId);
    const startAt = Math.max(Number(req.query.startAt ?? 0) || 0, 0);
    const maxResults = Math.min(Math.max(Number(req.query.maxResults ?? 100) || 100, 1), 100);
    const values = all.slice(startAt, startAt + maxResults);
    const isLast = startAt + maxResults >= all.length;
    const page = (at: number) => `${base(req)}${req.baseUrl}/webhook?startAt=${at}&maxResults=${maxResults}`;
    res.json({ self: page(startAt), ...(isLast ? {} : { nextPage: page(startAt + maxResults) }), startAt, maxResults, total: all.length, isLast, values });
  });

  api.delete('/webhook', (req, res) => {
    const clientId = callingApp(res);
    const ids = clientId === undefined ? undefined : webhookIds(req, res);
    if (!ids) return;
    hooks.remove(clientId!, ids);
    res.status(202).end();
  });

  api.put('/webhook/refresh', (req, res) => {
    const clientId = callingApp(res);
    const ids = clientId === undefined ? undefined : webhookIds(req, res);
    if (!ids) return;
    res.json({ expirationDate: hooks.refresh(clientId!, ids) });
  });

  // Create metadata (createmeta): the fields of one issue type's create screen, required ones and allowed values (fields.ts).
  api.get('/issue/createmeta/:project/issuetypes/:issueTypeId', (req, res) => {
    const project = store.projects.find((p) => p.key === req.params.project || p.id === req.params.project);
    const type = ISSUE_TYPES.find((t) => t.id === req.params.issueTypeId);
    if (!project || !type) return res.status(404).json({ errorMessages: [project ? 'Issue type not found.' : 'No project could be found.'], errors: {} });
    const all = createMetaOf(type.id);
    const startAt = Math.max(Number(req.query.startAt ?? 0) || 0, 0);
    const maxResults = Math.min(Math.max(Number(req.query.maxResults ?? 50) || 50, 1), 200);
    const page = all.slice(startAt, startAt + maxResults);
    // Cloud pages them as `fields`, Data Center as `values`.
    if (apiOf(req) === '/rest/api/2') return res.json({ maxResults, startAt, total: all.length, isLast: startAt + maxResults >= all.length, values: page });
    res.json({ maxResults, startAt, total: all.length, fields: page });
  });

  // Every issue type of a project uses every status (one permissive workflow).
  api.get('/project/:key/statuses', (req, res) => {
    const project = store.projects.find((p) => p.key === req.params.key || p.id === req.params.key);
    if (!project) return res.status(404).json({ errorMessages: ['No project could be found with key.'], errors: {} });
    const api = `${base(req)}${apiOf(req)}`;
    res.json(
      ISSUE_TYPES.map((t) => ({
        id: t.id,
        name: t.name,
        self: `${api}/issueType/${t.id}`,
        subtask: t.subtask,
        statuses: STATUSES.map((st) => ({
          id: st.id,
          name: st.name,
          description: '',
          iconUrl: '',
          self: `${api}/status/${st.id}`,
          statusCategory: { ...STATUS_CATEGORIES[st.category], self: `${api}/statuscategory/${STATUS_CATEGORIES[st.category].id}` },
        })),
      })),
    );
  });

  api.get('/mypermissions', (req, res) => {
    const admin = res.locals.admin === true;
    res.json({ permissions: { ADMINISTER: { id: '0', key: 'ADMINISTER', name: 'Administer Jira', type: 'GLOBAL', description: 'Ability to perform most administration functions.', havePermission: admin } } });
  });

  app.use('/rest/api/3', api);
  app.use(`/ex/jira/${FAKE_CLOUD_ID}/rest/api/3`, api);

  // Data Center's webhooks (the REST webhooks plugin), administrators only; deliveries go out like admin webhooks'.
  const serverHooks = express.Router();
  const requireAdmin = (res: Response) => (res.locals.admin === true ? true : void res.status(403).json({ errorMessages: ['You must be a Jira administrator to manage webhooks.'], errors: {} }));
  const serverHookJson = (req: Request, h: { id: number; url: string; events: string[] | null; jqlFilter: string | null; name?: string }) => ({
    self: `${base(req)}/rest/webhooks/1.0/webhook/${h.id}`,
    name: h.name ?? `webhook ${h.id}`,
    url: h.url,
    events: h.events ?? [],
    filters: { 'issue-related-events-section': h.jqlFilter ?? '' },
    excludeBody: false,
    enabled: true,
  });
  serverHooks.post('/', (req, res) => {
    if (!requireAdmin(res)) return;
    const b = req.body as { name?: unknown; url?: unknown; events?: unknown; filters?: Record<string, unknown>; secret?: unknown };
    if (typeof b.url !== 'string' || !/^https?:\/\//.test(b.url)) return jiraError(res, 400, 'A valid URL is required.');
    const events = Array.isArray(b.events) ? (b.events as string[]).filter((e) => (JIRA_WEBHOOK_EVENTS as readonly string[]).includes(e)) : undefined;
    const jql = typeof b.filters?.['issue-related-events-section'] === 'string' ? (b.filters['issue-related-events-section'] as string) : undefined;
    const id = hooks.addAdmin({ url: b.url, secret: typeof b.secret === 'string' ? b.secret : undefined, events, jqlFilter: jql, name: typeof b.name === 'string' ? b.name : undefined, registered: true });
    res.status(201).json(serverHookJson(req, hooks.list().find((h) => h.id === id)!));
  });
  serverHooks.get('/', (req, res) => {
    if (!requireAdmin(res)) return;
    res.json(hooks.list().filter((h) => h.kind === 'admin').map((h) => serverHookJson(req, h)));
  });
  serverHooks.get('/:id', (req, res) => {
    if (!requireAdmin(res)) return;
    const h = hooks.list().find((x) => x.kind === 'admin' && x.id === Number(req.params.id));
    if (!h) return jiraError(res, 404, 'Webhook not found.');
    res.json(serverHookJson(req, h));
  });
  serverHooks.delete('/:id', (req, res) => {
    if (!requireAdmin(res)) return;
    if (!hooks.removeAdmin(Number(req.params.id))) return jiraError(res, 404, 'Webhook not found.');
    res.status(204).end();
  });
  app.use('/rest/webhooks/1.0/webhook', serverHooks);
  // Server / Data Center: REST v2 with the same issues, plus v2's own search, project list and createmeta.
  const v2 = express.Router();
  // Cloud-only operations: a Data Center client must not get away with calling them.
  v2.use(['/issue/bulkfetch', '/webhook'], noRoute);
  v2.post('/search', (req, res) => {
    const body = req.body as { jql?: string; startAt?: number; maxResults?: number; validateQuery?: boolean | string };
    // Data Center refuses a query naming an issue that does not exist, unless the caller turns validation off
    // (as it must when it looks up a batch of keys, some of which may have been deleted).
    const validate = ![false, 'false', 'warn', 'none'].includes(body.validateQuery as never);
    let found;
    try {
      found = runJql(body.jql ?? '');
    } catch (err) {
      return jiraError(res, 400, (err as Error).message);
    }
    const unknown = found.unknownKeys.map((k) => `An issue with key '${k}' does not exist for field 'key'.`);
    if (validate && unknown.length) return res.status(400).json({ errorMessages: unknown, errors: {} });
    const startAt = Math.max(Number(body.startAt ?? 0) || 0, 0);
    const maxResults = Math.min(Math.max(Number(body.maxResults ?? 50) || 50, 1), 1000);
    const issues = found.issues.slice(startAt, startAt + maxResults).map((i) => issueJson(req, i));
    res.json({ expand: 'names,schema', startAt, maxResults, total: found.issues.length, issues, ...(unknown.length ? { warningMessages: unknown } : {}) });
  });
  // Data Center's users have a name and key, no account id.
  v2.get('/myself', (req, res) => void res.json({ self: `${base(req)}/rest/api/2/user?username=ticketflow`, key: 'JIRAUSER10000', name: 'ticketflow', displayName: 'ticketflow (fake Jira)', emailAddress: 'ticketflow@example.com', active: true, timeZone }));
  v2.get('/project', (req, res) => {
    res.json(store.projects.map((p) => ({ ...p, self: `${base(req)}/rest/api/2/project/${p.id}` })));
  });
  v2.get('/issue/createmeta/:project/issuetypes', (req, res) => {
    const project = store.projects.find((p) => p.key === req.params.project || p.id === req.params.project);
    if (!project) return res.status(404).json({ errorMessages: ['No project could be found.'], errors: {} });
    res.json({ values: ISSUE_TYPES, maxResults: ISSUE_TYPES.length, startAt: 0, total: ISSUE_TYPES.length, isLast: true });
  });
  v2.use(api);
  app.use('/rest/api/2', v2);

  // Atlassian's side of the site: tenant info (cloud id), and OAuth 2.0 (3LO) authorization and tokens.
  app.get('/_edge/tenant_info', (_req, res) => void res.json({ cloudId: FAKE_CLOUD_ID }));
  app.get('/authorize', (req, res) => {
    const redirect = String(req.query.redirect_uri ?? '');
    if (!redirect || req.query.response_type !== 'code' || !req.query.client_id) return res.status(400).send('invalid authorization request');
    const url = new URL(redirect);
    url.searchParams.set('code', oauth.issueCode());
    url.searchParams.set('state', String(req.query.state ?? ''));
    res.redirect(302, url.toString());
  });
  app.post('/oauth/token', (req, res) => {
    const answer = oauth.token(req.body as Record<string, string>);
    res.status(answer.status).json(answer.body);
  });
  // RFC 7009 revocation, which Atlassian's authorization server advertises: the grant of that refresh (or access) token ends.
  app.post('/oauth/revoke', (req, res) => {
    const body = req.body as Record<string, string>;
    if (!body.client_id || !body.client_secret) return res.status(401).json({ error: 'invalid_client' });
    oauth.revoke(String(body.token ?? ''));
    res.status(200).end();
  });
  // Data Center's OAuth 2.0 authorization server (datacenter.ts).
  app.get('/rest/oauth2/latest/authorize', (req, res) => {
    const answer = dcOAuth.authorize(req.query as Record<string, string>);
    if ('redirect' in answer) return res.redirect(302, answer.redirect);
    res.status(answer.status).type('text/plain').send(answer.text);
  });
  app.post('/rest/oauth2/latest/token', (req, res) => {
    const answer = dcOAuth.token({ ...(req.query as Record<string, string>), ...((req.body ?? {}) as Record<string, string>) });
    res.status(answer.status).json(answer.body);
  });
  // Jira's OAuth 1.0a service provider (datacenter.ts): form-encoded answers, as Jira's.
  app.post('/plugins/servlet/oauth/request-token', (req, res) => {
    const answer = oauth1.requestToken(req);
    res.status(answer.status).type('application/x-www-form-urlencoded').send(answer.body);
  });
  app.get('/plugins/servlet/oauth/authorize', (req, res) => {
    const answer = oauth1.authorize(String(req.query.oauth_token ?? ''));
    if ('redirect' in answer) return res.redirect(302, answer.redirect);
    res.status(answer.status).type('text/plain').send(answer.text);
  });
  app.post('/plugins/servlet/oauth/access-token', (req, res) => {
    const answer = oauth1.accessToken(req);
    res.status(answer.status).type('application/x-www-form-urlencoded').send(answer.body);
  });
  app.get('/oauth/token/accessible-resources', (req, res) => {
    const bearer = /^Bearer (.+)$/i.exec(req.get('authorization') ?? '')?.[1];
    if (!bearer || !oauth.validAccess(bearer)) return res.status(401).json({ code: 401, message: 'Unauthorized' });
    res.json([{ id: FAKE_CLOUD_ID, url: base(req), name: 'fake', scopes: ['read:jira-work', 'write:jira-work', 'read:jira-user'], avatarUrl: '' }]);
  });

  // Admin API: not part of Jira, never contract-checked.
  const admin = express.Router();
  admin.get('/issues', (req, res) => void res.json(store.issues.map((i) => ({ ...issueJson(req, i), comments: i.comments }))));
  // Changes made here stand for a person in Jira's UI: they fire webhooks as that user.
  admin.post('/issues', (req, res) => void createIssue(req, res, UI_USER));
  // Seeding for benchmarks: issues at once, no webhooks, not API calls; at 100,000 the answer names only the ends.
  admin.post('/issues/bulk', (req, res) => {
    const b = req.body as { count?: unknown; project?: unknown; summaryPrefix?: unknown; labels?: unknown; status?: unknown };
    const count = b.count as number;
    const project = store.projects.find((p) => p.key === String(b.project ?? '').toUpperCase());
    const status = b.status === undefined ? STATUSES[0] : statusNamed(String(b.status));
    const labels = (b.labels ?? []) as string[];
    if (!Number.isInteger(count) || count < 1 || count > MAX_BULK_CREATE) return res.status(400).json({ error: `count must be an integer from 1 to ${MAX_BULK_CREATE}` });
    if (!project) return res.status(400).json({ error: `unknown project; use one of ${store.projects.map((p) => p.key).join(', ')}` });
    if (!status) return res.status(400).json({ error: `unknown status; use one of ${STATUSES.map((s) => s.name).join(', ')}` });
    if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string' || !l || /\s/.test(l))) return res.status(400).json({ error: 'labels must be a list of words without spaces' });
    if (b.summaryPrefix !== undefined && typeof b.summaryPrefix !== 'string') return res.status(400).json({ error: 'summaryPrefix must be a string' });
    const prefix = (b.summaryPrefix as string | undefined) ?? 'Seeded issue';
    const keys: string[] = [];
    for (let n = 1; n <= count; n++) {
      const fields = { projectKey: project.key, issueTypeId: ISSUE_TYPES[0]!.id, summary: `${prefix} ${n}`, description: null, labels: [...labels], duedate: null, extraFields: {} };
      keys.push(store.createIssue(fields, status.id).key);
    }
    res.status(201).json({ first: keys[0], last: keys.at(-1), ...(count <= 1000 ? { keys } : {}) });
  });
  // Changes several issues as a person in the UI would (updated moves; the status too, if given), quietly unless asked.
  admin.post('/issues/touch', (req, res) => {
    const b = req.body as { keys?: unknown; status?: unknown; webhook?: unknown };
    if (!Array.isArray(b.keys) || !b.keys.length || b.keys.some((k) => typeof k !== 'string')) return res.status(400).json({ error: 'keys must be a non-empty list of issue keys' });
    const status = b.status === undefined ? undefined : statusNamed(String(b.status));
    if (b.status !== undefined && !status) return res.status(400).json({ error: `unknown status; use one of ${STATUSES.map((s) => s.name).join(', ')}` });
    const issues = (b.keys as string[]).map((k) => store.issue(k));
    const missing = (b.keys as string[]).filter((_, n) => !issues[n]);
    if (missing.length) return res.status(404).json({ error: `no such issues: ${missing.join(', ')}` });
    const tell = b.webhook === true;
    for (const issue of issues as FakeIssue[]) {
      if (status && status.id !== issue.statusId) {
        transition(req, issue, status.id, UI_USER, tell);
        continue;
      }
      store.touch(issue);
      if (tell) notify(req, 'jira:issue_updated', issue, UI_USER, { typeName: 'issue_updated', changes: [] });
    }
    res.json({ touched: issues.length });
  });
  admin.post('/issues/:key/transition', (req, res) => {
    const issue = store.issue(String(req.params.key));
    if (!issue) return res.status(404).json({ error: 'no such issue' });
    // webhook: false lets a benchmark move issues and send its own deliveries.
    const want = req.body as { status?: string; statusCategory?: CategoryKey; webhook?: boolean };
    const status = want.status ? statusNamed(want.status) : STATUSES.find((s) => s.category === want.statusCategory);
    if (!status) return res.status(400).json({ error: `unknown status; use one of ${STATUSES.map((s) => s.name).join(', ')}` });
    transition(req, issue, status.id, UI_USER, want.webhook !== false);
    res.json(issueJson(req, issue));
  });
  admin.delete('/issues/:key', (req, res) => {
    const issue = store.issue(String(req.params.key));
    if (!issue) return res.status(404).json({ error: 'no such issue' });
    notify(req, 'jira:issue_deleted', issue, UI_USER, { typeName: 'issue_deleted' });
    store.deleteIssue(issue);
    res.status(204).end();
  });
  admin.post('/webhooks', (req, res) => {
    const body = req.body as { url?: unknown; secret?: unknown; events?: unknown; jqlFilter?: unknown };
    if (typeof body.url !== 'string' || !/^https?:\/\//.test(body.url)) return res.status(400).json({ error: 'url must be an http(s) URL' });
    const events = body.events as string[] | undefined;
    if (events !== undefined && (!Array.isArray(events) || events.some((e) => !(JIRA_WEBHOOK_EVENTS as readonly string[]).includes(e)))) {
      return res.status(400).json({ error: `events must be a list of ${JIRA_WEBHOOK_EVENTS.join(', ')}` });
    }
    const id = hooks.addAdmin({ url: body.url, secret: typeof body.secret === 'string' ? body.secret : undefined, events, jqlFilter: typeof body.jqlFilter === 'string' ? body.jqlFilter : undefined });
    res.status(201).json({ id });
  });
  admin.get('/webhooks', (_req, res) => void res.json(hooks.list()));
  admin.get('/webhooks/deliveries', (req, res) => void res.json(hooks.deliveries(Number(req.query.since ?? 0))));
  admin.post('/webhooks/expire', (_req, res) => void res.json({ expired: hooks.expireDynamic() }));
  admin.delete('/webhooks', (_req, res) => {
    hooks.removeAdmin();
    res.status(204).end();
  });
  admin.delete('/webhooks/:id', (req, res) => {
    if (!hooks.removeAdmin(Number(req.params.id))) return res.status(404).json({ error: 'no such admin webhook' });
    res.status(204).end();
  });
  admin.get('/stats', (_req, res) => void res.json(traffic.stats()));
  admin.post('/stats/reset', (_req, res) => {
    traffic.resetStats();
    res.status(204).end();
  });
  admin.get('/rate-limit', (_req, res) => void res.json({ perSecond: traffic.rateLimit }));
  admin.post('/rate-limit', (req, res) => {
    const perSecond = (req.body as { perSecond?: unknown }).perSecond ?? null;
    if (perSecond !== null && !(Number.isInteger(perSecond) && (perSecond as number) > 0)) return res.status(400).json({ error: 'perSecond must be a positive integer or null' });
    traffic.setRateLimit(perSecond as number | null);
    res.json({ perSecond });
  });
  admin.post('/faults', (req, res) => {
    const f = req.body as Fault;
    if (!(FAULT_KINDS as readonly string[]).includes(String(f.kind))) return res.status(400).json({ error: `kind must be one of ${FAULT_KINDS.join(', ')}` });
    if (f.reason !== undefined && (typeof f.reason !== 'string' || !f.reason)) return res.status(400).json({ error: 'reason must be a non-empty string' });
    if ([f.beta, f.nearLimit].some((v) => v !== undefined && typeof v !== 'boolean')) return res.status(400).json({ error: 'beta and nearLimit must be booleans' });
    faults.push({ ...f, kind: String(f.kind) as Fault['kind'], left: f.times ?? 1 });
    res.status(201).json({ queued: faults.filter((x) => x.left > 0).length });
  });
  admin.delete('/faults', (_req, res) => {
    faults.length = 0;
    res.status(204).end();
  });
  admin.get('/clock', (_req, res) => void res.json(clock.state()));
  admin.post('/clock', (req, res) => {
    const { advanceMs, offsetMs } = req.body as { advanceMs?: unknown; offsetMs?: unknown };
    if (advanceMs !== undefined && Number.isInteger(advanceMs) && (advanceMs as number) >= 0) clock.offsetMs += advanceMs as number;
    else if (advanceMs === undefined && Number.isInteger(offsetMs)) clock.offsetMs = offsetMs as number;
    else return res.status(400).json({ error: 'give advanceMs (a non-negative integer) or offsetMs (an integer)' });
    res.json(clock.state());
  });
  admin.get('/quota', (_req, res) => void res.json(quota.state()));
  admin.post('/quota', (req, res) => {
    const pointsPerHour = (req.body as { pointsPerHour?: unknown }).pointsPerHour;
    if (pointsPerHour !== null && !(Number.isInteger(pointsPerHour) && (pointsPerHour as number) > 0)) return res.status(400).json({ error: 'pointsPerHour must be a positive integer or null' });
    quota.pointsPerHour = pointsPerHour as number | null;
    res.json(quota.state());
  });
  admin.get('/search-lag', (_req, res) => void res.json({ ms: store.searchLagMs }));
  admin.post('/search-lag', (req, res) => {
    const ms = (req.body as { ms?: unknown }).ms;
    if (!Number.isInteger(ms) || (ms as number) < 0) return res.status(400).json({ error: 'ms must be a non-negative integer' });
    store.searchLagMs = ms as number;
    res.json({ ms });
  });
  admin.get('/requests', (req, res) => {
    const since = Number(req.query.since ?? 0);
    res.json(requests.filter((r) => r.seq > since));
  });
  admin.get('/oauth', (_req, res) => void res.json(oauth.stats()));
  // Data Center administration: an incoming link (OAuth 2.0), an application link's incoming authentication (OAuth 1.0a), the rate limiter.
  admin.post('/dc/oauth2-clients', (req, res) => {
    const b = req.body as { name?: unknown; redirectUri?: unknown };
    if (typeof b.redirectUri !== 'string' || !/^https?:\/\//.test(b.redirectUri)) return res.status(400).json({ error: 'redirectUri must be an http(s) URL' });
    res.status(201).json(dcOAuth.addClient(typeof b.name === 'string' ? b.name : 'integration', b.redirectUri));
  });
  admin.post('/dc/oauth2/expire', (_req, res) => {
    dcOAuth.expireAll();
    res.status(204).end();
  });
  admin.post('/dc/application-links', (req, res) => {
    const b = req.body as { consumerKey?: unknown; publicKey?: unknown };
    if (typeof b.consumerKey !== 'string' || typeof b.publicKey !== 'string') return res.status(400).json({ error: 'consumerKey and publicKey (PEM) are required' });
    try {
      oauth1.addConsumer(b.consumerKey, b.publicKey);
    } catch (err) {
      return res.status(400).json({ error: `publicKey is not a public key: ${(err as Error).message}` });
    }
    res.status(201).json({ consumerKey: b.consumerKey });
  });
  admin.get('/dc', (_req, res) => void res.json({ oauth2: dcOAuth.stats(), oauth1: oauth1.stats(), rateLimit: dcBucket.settings }));
  admin.post('/dc/rate-limit', (req, res) => {
    const b = req.body as { limit?: unknown; fillRate?: unknown; intervalSeconds?: unknown } | null;
    if (b?.limit === null || b?.limit === undefined) {
      dcBucket.set(null);
      return res.json({ rateLimit: null });
    }
    const ok = [b.limit, b.fillRate, b.intervalSeconds].every((v) => Number.isInteger(v) && (v as number) > 0);
    if (!ok) return res.status(400).json({ error: 'limit, fillRate and intervalSeconds must be positive integers (limit null turns it off)' });
    dcBucket.set({ limit: b.limit as number, fillRate: b.fillRate as number, intervalSeconds: b.intervalSeconds as number });
    res.json({ rateLimit: dcBucket.settings });
  });
  admin.post('/oauth/expire', (_req, res) => {
    oauth.expireAll();
    res.status(204).end();
  });
  admin.post('/reset', (_req, res) => {
    store.reset();
    faults.length = 0;
    requests.length = 0;
    hooks.reset();
    traffic.resetStats();
    traffic.resetLimits();
    clock.offsetMs = 0;
    store.searchLagMs = defaults.searchLagMs;
    quota.pointsPerHour = defaults.pointsPerHour;
    quota.clear();
    dcBucket.set(null);
    res.status(204).end();
  });
  app.use('/_fake', admin);

  app.use(noRoute);

  return { app, store };
}

export async function listen(app: express.Express, port: number, host = '127.0.0.1'): Promise<{ server: Server; url: string }> {
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const addr = server.address() as AddressInfo;
  return { server, url: `http://${host}:${addr.port}` };
}

/**
 * Atlassian's token endpoint, as strict as the real one about rotation: each refresh returns a new refresh
 * token and retires the old one; presenting a retired one revokes every token (the user must consent again).
 */
function fakeOAuth(ttlSeconds: number) {
  const codes = new Set<string>();
  /** access token → expiry and the client id it was issued to (the app that owns what it registers) */
  const access = new Map<string, { expiresAt: number; clientId: string }>();
  /** refresh token → client id */
  const refresh = new Map<string, string>();
  const retired = new Set<string>();
  const stats = { authorizationCode: 0, refreshToken: 0, reusedRefreshTokens: 0, revoked: 0 };
  const random = () => Math.random().toString(36).slice(2) + Date.now().toString(36);
  const issue = (clientId: string) => {
    const a = `at-${random()}`;
    const r = `rt-${random()}`;
    access.set(a, { expiresAt: Date.now() + ttlSeconds * 1000, clientId });
    refresh.set(r, clientId);
    return { status: 200, body: { access_token: a, refresh_token: r, expires_in: ttlSeconds, token_type: 'Bearer', scope: 'read:jira-work write:jira-work read:jira-user offline_access' } };
  };
  return {
    issueCode() {
      const c = `code-${random()}`;
      codes.add(c);
      return c;
    },
    validAccess: (token: string) => (access.get(token)?.expiresAt ?? 0) > Date.now(),
    clientOf: (token: string) => access.get(token)?.clientId,
    token(body: Record<string, string>) {
      if (!body.client_id || !body.client_secret) return { status: 401, body: { error: 'access_denied', error_description: 'Unauthorized' } };
      if (body.grant_type === 'authorization_code') {
        stats.authorizationCode += 1;
        if (!codes.delete(body.code ?? '')) return { status: 403, body: { error: 'invalid_grant', error_description: 'Invalid authorization code' } };
        return issue(body.client_id);
      }
      if (body.grant_type === 'refresh_token') {
        stats.refreshToken += 1;
        const t = body.refresh_token ?? '';
        if (retired.has(t)) {
          stats.reusedRefreshTokens += 1;
          access.clear();
          refresh.clear();
          return { status: 403, body: { error: 'unauthorized_client', error_description: 'refresh_token is invalid' } };
        }
        const clientId = refresh.get(t);
        if (clientId === undefined) return { status: 403, body: { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' } };
        refresh.delete(t);
        retired.add(t);
        return issue(clientId);
      }
      return { status: 400, body: { error: 'unsupported_grant_type' } };
    },
    expireAll() {
      for (const a of access.values()) a.expiresAt = 0;
    },
    /** Ends a grant: the refresh token (or the access token) named, and the other tokens of its client. */
    revoke(token: string) {
      const clientId = refresh.get(token) ?? access.get(token)?.clientId;
      if (clientId === undefined) return;
      stats.revoked += 1;
      refresh.delete(token);
      access.delete(token);
      for (const [a, v] of access) if (v.clientId === clientId) access.delete(a);
    },
    stats: () => ({ ...stats, liveAccessTokens: [...access.values()].filter((a) => a.expiresAt > Date.now()).length }),
  };
}
