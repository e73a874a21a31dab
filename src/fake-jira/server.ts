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
}

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
        ...i.extraFields,
      },
    };
  };

  // Request log, contract checks, faults and auth, in that order, for every Jira (non-admin) call.
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.path.startsWith('/_fake')) return next();
    const entry: LoggedRequest = { seq: ++seq, at: new Date().toISOString(), method: req.method, path: req.path, status: 0, violations: [] };
    if (req.body !== undefined && Object.keys(req.body as object).length) entry.body = req.body;
    requests.push(entry);
    if (requests.length > 50_000) requests.splice(0, 10_000);
    if (opts.contract) entry.violations.push(...opts.contract.checkRequest(req.method, req.path, req.body));
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      // Injected 429s and 5xx are real Jira behaviour that the spec documents globally, not per operation.
      if (opts.contract && !entry.fault) entry.violations.push(...opts.contract.checkResponse(req.method, req.path, res.statusCode, body));
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
    const m = /^Basic (.+)$/i.exec(auth);
    const [user, token] = m ? Buffer.from(m[1]!, 'base64').toString().split(/:(.*)/s) : [];
    const ok = opts.credentials ? user === opts.credentials.username && token === opts.credentials.apiToken : !!user && !!token;
    if (!ok) return res.status(401).json({ errorMessages: ['You are not authenticated. Authentication required to perform this operation.'], errors: {} });
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
