import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import got from 'got';
import { JiraClient } from '../src/jira/client.js';
import { JiraApiError, JiraUnreachableError } from '../src/jira/errors.js';
import { eventually, type FakeJira } from './helpers/infra.js';
import { STRICT_TOKEN, approvedRequest, configureConnection, useStack } from './helpers/ticketflow.js';

/** The Jira client and the ticket-creation activity against the fake Jira, with faults injected. */

const ctx = useStack();

const createCalls = async (j: FakeJira, since: number) =>
  (await j.requests()).filter((r) => r.seq > since && r.method === 'POST' && r.path === '/rest/api/3/issue');
const lastSeq = async (j: FakeJira) => (await j.requests()).at(-1)?.seq ?? 0;
const instanceOf = (id: string, pred: (i: any) => boolean, what: string) =>
  eventually(async () => ((await ctx.tf.http.get(`api/v1/privacy-request/${id}/jira-tickets`)).body as any[]).find(pred), what, 30_000);

describe('ticket creation under Jira faults', () => {
  test('5xx is retried with backoff until it succeeds, one ticket', async () => {
    const since = await lastSeq(ctx.jira);
    await ctx.jira.fault({ kind: '500', method: 'POST', path: '/rest/api/3/issue', times: 2 });
    await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_5xx') });
    const open = await instanceOf('pri_5xx', (i) => i.task_state === 'open', 'ticket open');
    const calls = await createCalls(ctx.jira, since);
    assert.deepEqual(calls.map((c) => c.status), [500, 500, 201]);
    const gaps = calls.slice(1).map((c, n) => Date.parse(c.at) - Date.parse(calls[n]!.at));
    assert.ok(gaps[1]! > gaps[0]!, `backoff grows (${gaps.join(', ')} ms)`);
    assert.equal((await ctx.jira.issues()).filter((i) => i.fields.labels.includes(`ticketflow-${open.instance_id}`)).length, 1);
  });

  test('429 waits for Retry-After before the next attempt', async () => {
    const since = await lastSeq(ctx.jira);
    await ctx.jira.fault({ kind: '429', method: 'POST', path: '/rest/api/3/issue', times: 1, retryAfterSeconds: 4 });
    await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_429') });
    await instanceOf('pri_429', (i) => i.task_state === 'open', 'ticket open');
    const calls = await createCalls(ctx.jira, since);
    assert.deepEqual(calls.map((c) => c.status), [429, 201]);
    const waited = Date.parse(calls[1]!.at) - Date.parse(calls[0]!.at);
    assert.ok(waited >= 4_000, `waited ${waited} ms for a Retry-After of 4 s`);
  });

  test('5xx on every attempt → creation_failed after the configured 3 attempts', async () => {
    const since = await lastSeq(ctx.jira);
    await ctx.jira.fault({ kind: '503', method: 'POST', path: '/rest/api/3/issue', times: 3 });
    await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_5xx_all') });
    const failed = await instanceOf('pri_5xx_all', (i) => i.task_state === 'creation_failed', 'creation failed');
    assert.match(failed.last_error, /503/);
    assert.equal((await createCalls(ctx.jira, since)).length, 3);
  });

  test('401 is not retried and surfaces Jira\'s message', async () => {
    // Settings are checked against Jira when saved, so the right token goes first and the wrong one after it
    // (credentials alone are saved unchecked): the token is then refused at creation, as a revoked one would be.
    try {
      await configureConnection(ctx.tf, 'jira', ctx.strictJira.url, { api_key: STRICT_TOKEN });
      const wrong = await ctx.tf.http.put('api/v1/connection/jira/secret', { json: { api_key: 'the-wrong-token' } });
      assert.equal(wrong.statusCode, 200, JSON.stringify(wrong.body));
      await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_401') });
      const failed = await instanceOf('pri_401', (i) => i.task_state === 'creation_failed', 'creation failed');
      assert.match(failed.last_error, /401: You are not authenticated/);
      const calls = (await ctx.strictJira.requests()).filter((r) => r.status === 401);
      assert.equal(calls.length, 1, 'one attempt only');
    } finally {
      await configureConnection(ctx.tf, 'jira', ctx.jira.url);
    }
  });
});

describe('Jira client', () => {
  const client = () => JiraClient.basic({ baseUrl: ctx.jira.url, username: 'bot@example.com', apiToken: 't' }, 2_000);

  test('reads statuses by category, and a missing issue is null', async () => {
    const created = await client().createIssue({ projectKey: 'PRIV', issueType: 'Task', summary: 'client test', labels: ['client-test'] });
    assert.equal((await client().getIssueStatus(created.key))?.statusCategory, 'new');
    await ctx.jira.transition(created.key, 'In Progress');
    assert.equal((await client().getIssueStatus(created.key))?.statusCategory, 'indeterminate');
    const [found] = await client().searchIssues('labels = "client-test"');
    assert.equal(found?.key, created.key);
    await ctx.jira.remove(created.key);
    assert.equal(await client().getIssueStatus(created.key), null);
    assert.equal((await client().myself()).accountId, 'fake-account');
  });

  test('errors carry status, Jira\'s messages and Retry-After', async () => {
    const err = await client().createIssue({ projectKey: 'NOPE', issueType: 'Task', summary: 's' }).catch((e: unknown) => e);
    assert.ok(err instanceof JiraApiError);
    assert.equal(err.status, 400);
    assert.deepEqual(err.messages, ['project: valid project is required']);
    assert.equal(err.retryable, false);
    await ctx.jira.fault({ kind: '429', path: '/rest/api/3/myself', retryAfterSeconds: 7 });
    const limited = await client().myself().catch((e: unknown) => e);
    assert.ok(limited instanceof JiraApiError);
    assert.equal(limited.retryAfterSeconds, 7);
    assert.equal(limited.retryable, true);
    const unreachable = await JiraClient.basic({ baseUrl: 'http://127.0.0.1:9', username: 'u', apiToken: 't' }, 1_000).myself().catch((e: unknown) => e);
    assert.ok(unreachable instanceof JiraUnreachableError);
  });
});

describe('the Jira contract check', () => {
  test('every exchange so far conforms to the OpenAPI description', async () => {
    const log = await ctx.jira.requests();
    assert.ok(log.length > 5);
    assert.deepEqual(log.flatMap((r) => r.violations), []);
  });

  test('the fake\'s other endpoints (projects, issue types, status categories, comments) answer per the spec', async () => {
    const since = await lastSeq(ctx.jira);
    const api = got.extend({ prefixUrl: `${ctx.jira.url}/rest/api/3`, username: 'a', password: 'b', responseType: 'json' });
    const projects = (await api.get('project/search').json()) as { values: Array<{ id: string }> };
    await api.get('issuetype/project', { searchParams: { projectId: projects.values[0]!.id } });
    await api.get('statuscategory');
    const issue = (await api.post('issue', { json: { fields: { project: { key: 'PRIV' }, issuetype: { name: 'Task' }, summary: 'c' } } }).json()) as { key: string };
    await api.post(`issue/${issue.key}/comment`, { json: { body: { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: 'hi' }] }] } } });
    await api.get(`issue/${issue.key}/comment`);
    const log = (await ctx.jira.requests()).filter((r) => r.seq > since);
    assert.equal(log.length, 6);
    assert.deepEqual(log.flatMap((r) => r.violations), []);
  });

  test('a request Jira would refuse is flagged (the check can fail)', async () => {
    await got.post(`${ctx.jira.url}/rest/api/3/issue`, {
      json: { fields: { summary: 'x' }, update: 'not-an-object' },
      username: 'a',
      password: 'b',
      throwHttpErrors: false,
    });
    const last = (await ctx.jira.requests()).at(-1)!;
    assert.ok(last.violations.some((v) => v.includes('/update must be object')), JSON.stringify(last.violations));
  });
});
