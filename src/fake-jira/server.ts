import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { compileJql } from './jql.js';
import type { JiraContract } from './openapi.js';
import { FakeJiraStore, ISSUE_TYPES, STATUSES, STATUS_CATEGORIES, type FakeIssue, type CategoryKey } from './store.js';

/** A fault an admin queues; it applies to the next `times` matching requests. */
export interface Fault {
  kind: '429' | '500' | '503' | 'slow' | 'lost_reply' | 'drop';
  method?: string;
  /** substring of the request path */
  path?: string;
  times?: number;
  retryAfterSeconds?: number;
  delayMs?: number;
}

export interface LoggedRequest {
  seq: number;
  at: string;
  method: string;
  path: string;
  status: number;
  body?: unknown;
  fault?: Fault['kind'];
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
}

export const FAKE_CLOUD_ID = 'fake-cloud-id';
const GATEWAY_PREFIX = new RegExp(`^/ex/jira/[^/]+(?=/rest/api/3/)`);

const PRIORITIES = ['Highest', 'High', 'Medium', 'Low', 'Lowest'];
/** Custom fields on the fake's create screen; any other is refused, as Jira refuses fields not on the screen. */
const CUSTOM_FIELDS = ['customfield_10010', 'customfield_10011'];

const notFound = { errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} };

/**
 * A small Jira Cloud (REST v3) for tests and demos: the calls the product makes, plus an admin API under
 * /_fake to move issues, delete them, inject faults and read the request log.
 */
export function createFakeJira(opts: FakeJiraOptions = {}) {
  const store = opts.store ?? new FakeJiraStore();
  const faults: Array<Fault & { left: number }> = [];
  const requests: LoggedRequest[] = [];
  let seq = 0;
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '5mb' }));

  const base = (req: Request) => `${req.protocol}://${req.get('host')}`;
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
    status.self = `${base(req)}/rest/api/3/status/${status.id}`;
    status.statusCategory.self = `${base(req)}/rest/api/3/statuscategory/${status.statusCategory.id}`;
    return {
      id: i.id,
      key: i.key,
      self: `${base(req)}/rest/api/3/issue/${i.id}`,
      fields: {
        summary: i.summary,
        description: i.description ?? null,
        labels: i.labels,
        duedate: i.duedate,
        created: i.created,
        updated: i.updated,
        resolutiondate: i.resolutiondate,
        resolution: i.resolutiondate ? { id: '10000', name: 'Done' } : null,
        status,
        project: { id: project.id, key: project.key, name: project.name, self: `${base(req)}/rest/api/3/project/${project.id}` },
        issuetype: { id: issuetype.id, name: issuetype.name, subtask: issuetype.subtask, self: `${base(req)}/rest/api/3/issuetype/${issuetype.id}` },
        reporter: { accountId: 'fake-account', displayName: 'ticketflow (fake Jira)' },
        comment: { comments: [], startAt: 0, maxResults: 0, total: i.comments.length },
        ...i.extraFields,
      },
    };
  };

  // Request log, contract checks, faults and auth, in that order, for every Jira (non-admin) call.
  const oauth = fakeOAuth(opts.tokenTtlSeconds ?? 3600);

  app.use((req: Request, res: Response, next: NextFunction) => {
    if (!req.path.startsWith('/rest/') && !req.path.startsWith('/ex/jira/')) return next();
    // The gateway (api.atlassian.com/ex/jira/{cloudId}) serves the same v3 API; Data Center's v2 is outside the spec.
    const specPath = req.path.replace(GATEWAY_PREFIX, '');
    const contract = specPath.startsWith('/rest/api/3/') ? opts.contract : undefined;
    const entry: LoggedRequest = { seq: ++seq, at: new Date().toISOString(), method: req.method, path: req.path, status: 0, violations: [] };
    if (req.body !== undefined && Object.keys(req.body as object).length) entry.body = req.body;
    requests.push(entry);
    if (requests.length > 50_000) requests.splice(0, 10_000);
    if (contract) entry.violations.push(...contract.checkRequest(req.method, specPath, req.body));
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      // Injected 429s and 5xx are real Jira behaviour that the spec documents globally, not per operation.
      if (contract && !entry.fault) entry.violations.push(...contract.checkResponse(req.method, specPath, res.statusCode, body));
      return json(body);
    };
    res.on('finish', () => void (entry.status = res.statusCode));

    const fault = faults.find((f) => f.left > 0 && (!f.method || f.method === req.method) && (!f.path || req.path.includes(f.path)));
    if (fault) {
      fault.left -= 1;
      entry.fault = fault.kind;
      if (fault.kind === '429') {
        res.status(429).set('Retry-After', String(fault.retryAfterSeconds ?? 1));
        return res.json({ errorMessages: ['Rate limit exceeded.'], errors: {} });
      }
      if (fault.kind === '500' || fault.kind === '503') {
        return res.status(Number(fault.kind)).json({ errorMessages: ['Internal server error'], errors: {} });
      }
      if (fault.kind === 'drop') return req.socket.destroy();
      if (fault.kind === 'slow') return void setTimeout(next, fault.delayMs ?? 5_000);
      if (fault.kind === 'lost_reply') {
        // The work happens; the answer never arrives.
        res.json = () => {
          entry.status = -1;
          req.socket.destroy();
          return res;
        };
      }
    }

    const auth = req.get('authorization') ?? '';
    const basic = /^Basic (.+)$/i.exec(auth);
    const bearer = /^Bearer (.+)$/i.exec(auth)?.[1];
    const [user, token] = basic ? Buffer.from(basic[1]!, 'base64').toString().split(/:(.*)/s) : [];
    const viaGateway = req.path.startsWith('/ex/jira/');
    if (viaGateway && !req.path.startsWith(`/ex/jira/${FAKE_CLOUD_ID}/`)) return res.status(404).json({ errorMessages: ['Site not found'], errors: {} });
    const ok = bearer
      ? viaGateway ? oauth.validAccess(bearer) : !!opts.pat && bearer === opts.pat
      : opts.credentials ? user === opts.credentials.username && token === opts.credentials.apiToken : !!user && !!token;
    if (!ok) return res.status(401).json({ errorMessages: ['You are not authenticated. Authentication required to perform this operation.'], errors: {} });
    if (opts.forbiddenUser && user === opts.forbiddenUser) {
      return res.status(403).json({ errorMessages: ['You do not have the permission to see the specified issue or project.'], errors: {} });
    }
    next();
  });

  const api = express.Router();

  api.post('/issue', (req, res) => {
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
    for (const id of Object.keys(fields).filter((f) => f.startsWith('customfield_') && !CUSTOM_FIELDS.includes(f))) {
      errors[id] = `Field '${id}' cannot be set. It is not on the appropriate screen, or unknown.`;
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
    res.status(201).json({ id: issue.id, key: issue.key, self: `${base(req)}/rest/api/3/issue/${issue.id}` });
  });

  api.get('/issue/:key', (req, res) => {
    const issue = store.issue(String(req.params.key));
    if (!issue) return res.status(404).json(notFound);
    res.json(issueJson(req, issue));
  });

  api.post('/search/jql', (req, res) => {
    const body = req.body as { jql?: string; maxResults?: number; nextPageToken?: string };
    let q;
    try {
      q = compileJql(body.jql ?? '');
    } catch (err) {
      return res.status(400).json({ errorMessages: [(err as Error).message], errors: {} });
    }
    const all = store.issues.filter(q.filter);
    if (q.order === 'DESC') all.reverse();
    const start = Number(body.nextPageToken ?? 0) || 0;
    const max = Math.min(Math.max(body.maxResults ?? 50, 1), 5000);
    const page = all.slice(start, start + max);
    const isLast = start + max >= all.length;
    res.json({ issues: page.map((i) => issueJson(req, i)), isLast, ...(isLast ? {} : { nextPageToken: String(start + max) }) });
  });

  const commentJson = (req: Request, issue: FakeIssue, c: FakeIssue['comments'][number]) => ({
    id: c.id,
    self: `${base(req)}/rest/api/3/issue/${issue.id}/comment/${c.id}`,
    body: c.body,
    created: c.created,
    updated: c.updated,
    author: { accountId: 'fake-account', displayName: 'ticketflow' },
    properties: Object.entries(c.properties).map(([key, value]) => ({ key, value })),
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
    res.status(201).json(commentJson(req, issue, store.addComment(issue, body.body, props)));
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
    store.transition(issue, target.id);
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

  api.get('/myself', (req, res) => {
    res.json({ accountId: 'fake-account', accountType: 'atlassian', active: true, displayName: 'ticketflow (fake Jira)', self: `${base(req)}/rest/api/3/user?accountId=fake-account`, timeZone: 'UTC' });
  });

  app.use('/rest/api/3', api);
  app.use(`/ex/jira/${FAKE_CLOUD_ID}/rest/api/3`, api);
  // Server / Data Center: REST v2 with the same issues, plus v2's own search, project list and createmeta.
  const v2 = express.Router();
  v2.post('/search', (req, res, next) => {
    req.url = '/search/jql';
    next();
  });
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
  app.get('/oauth/token/accessible-resources', (req, res) => {
    const bearer = /^Bearer (.+)$/i.exec(req.get('authorization') ?? '')?.[1];
    if (!bearer || !oauth.validAccess(bearer)) return res.status(401).json({ code: 401, message: 'Unauthorized' });
    res.json([{ id: FAKE_CLOUD_ID, url: base(req), name: 'fake', scopes: ['read:jira-work', 'write:jira-work', 'read:jira-user'], avatarUrl: '' }]);
  });

  // Admin API: not part of Jira, never contract-checked.
  const admin = express.Router();
  admin.get('/issues', (req, res) => void res.json(store.issues.map((i) => ({ ...issueJson(req, i), comments: i.comments }))));
  admin.post('/issues/:key/transition', (req, res) => {
    const issue = store.issue(String(req.params.key));
    if (!issue) return res.status(404).json({ error: 'no such issue' });
    const want = req.body as { status?: string; statusCategory?: CategoryKey };
    const status = STATUSES.find((s) => (want.status ? s.name.toLowerCase() === want.status.toLowerCase() : s.category === want.statusCategory));
    if (!status) return res.status(400).json({ error: `unknown status; use one of ${STATUSES.map((s) => s.name).join(', ')}` });
    store.transition(issue, status.id);
    res.json(issueJson(req, issue));
  });
  admin.delete('/issues/:key', (req, res) => {
    const issue = store.issue(String(req.params.key));
    if (!issue) return res.status(404).json({ error: 'no such issue' });
    store.deleteIssue(issue);
    res.status(204).end();
  });
  admin.post('/faults', (req, res) => {
    const f = req.body as Fault;
    if (!['429', '500', '503', 'slow', 'lost_reply', 'drop'].includes(String(f.kind))) return res.status(400).json({ error: 'kind must be 429, 500, 503, slow, lost_reply or drop' });
    faults.push({ ...f, kind: String(f.kind) as Fault['kind'], left: f.times ?? 1 });
    res.status(201).json({ queued: faults.filter((x) => x.left > 0).length });
  });
  admin.delete('/faults', (_req, res) => {
    faults.length = 0;
    res.status(204).end();
  });
  admin.get('/requests', (req, res) => {
    const since = Number(req.query.since ?? 0);
    res.json(requests.filter((r) => r.seq > since));
  });
  admin.get('/oauth', (_req, res) => void res.json(oauth.stats()));
  admin.post('/oauth/expire', (_req, res) => {
    oauth.expireAll();
    res.status(204).end();
  });
  admin.post('/reset', (_req, res) => {
    store.reset();
    faults.length = 0;
    requests.length = 0;
    res.status(204).end();
  });
  app.use('/_fake', admin);

  app.use((req: Request, res: Response) => {
    res.status(404).json({ errorMessages: [`No fake Jira route for ${req.method} ${req.path}`], errors: {} });
  });

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
  const access = new Map<string, number>();
  const refresh = new Set<string>();
  const retired = new Set<string>();
  const stats = { authorizationCode: 0, refreshToken: 0, reusedRefreshTokens: 0 };
  const random = () => Math.random().toString(36).slice(2) + Date.now().toString(36);
  const issue = () => {
    const a = `at-${random()}`;
    const r = `rt-${random()}`;
    access.set(a, Date.now() + ttlSeconds * 1000);
    refresh.add(r);
    return { status: 200, body: { access_token: a, refresh_token: r, expires_in: ttlSeconds, token_type: 'Bearer', scope: 'read:jira-work write:jira-work read:jira-user offline_access' } };
  };
  return {
    issueCode() {
      const c = `code-${random()}`;
      codes.add(c);
      return c;
    },
    validAccess: (token: string) => (access.get(token) ?? 0) > Date.now(),
    token(body: Record<string, string>) {
      if (!body.client_id || !body.client_secret) return { status: 401, body: { error: 'access_denied', error_description: 'Unauthorized' } };
      if (body.grant_type === 'authorization_code') {
        stats.authorizationCode += 1;
        if (!codes.delete(body.code ?? '')) return { status: 403, body: { error: 'invalid_grant', error_description: 'Invalid authorization code' } };
        return issue();
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
        if (!refresh.delete(t)) return { status: 403, body: { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' } };
        retired.add(t);
        return issue();
      }
      return { status: 400, body: { error: 'unsupported_grant_type' } };
    },
    expireAll() {
      for (const k of access.keys()) access.set(k, 0);
    },
    stats: () => ({ ...stats, liveAccessTokens: [...access.values()].filter((e) => e > Date.now()).length }),
  };
}
