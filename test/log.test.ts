import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { log, setLogLevel, setLogSink } from '../src/platform/log.js';

/** Lines written while `fn` runs, with their levels, at level debug. */
async function captured(fn: () => unknown): Promise<Array<{ level: string; line: string; json: Record<string, any> }>> {
  const lines: Array<{ level: string; line: string; json: Record<string, any> }> = [];
  setLogSink((level, line) => lines.push({ level, line, json: JSON.parse(line) as Record<string, any> }));
  setLogLevel('debug');
  try {
    await fn();
    return lines;
  } finally {
    setLogSink(null);
    setLogLevel('warn');
  }
}

test('secret-looking keys are redacted at any depth and in any case, inside arrays too', async () => {
  const [entry] = await captured(() =>
    log.info('connection saved', {
      connection: 'jira',
      settings: {
        Domain: 'example.atlassian.net',
        API_KEY: 'k-123456',
        auth: { Authorization: 'Basic dXNlcjpwdw==', nested: { Refresh_Token: 'r-789', scopes: ['read'] } },
        webhooks: [
          { id: 1, Webhook_Secret: 'ws-1', url: 'https://x.example/1' },
          { id: 2, webhook_secret: 'ws-2', people: [{ EMAIL: 'jane@example.com', Phone: '+44 20 7946 0000', name: 'J' }] },
        ],
      },
      empty: { password: null, token: undefined },
    }),
  );
  assert.ok(entry);
  for (const secret of ['k-123456', 'dXNlcjpwdw', 'r-789', 'ws-1', 'ws-2', 'jane@example.com', '7946']) assert.ok(!entry.line.includes(secret), `${secret} is in ${entry.line}`);
  const s = entry.json.settings;
  assert.equal(s.Domain, 'example.atlassian.net');
  assert.equal(s.API_KEY, '[redacted]');
  assert.equal(s.auth.Authorization, '[redacted]');
  assert.deepEqual(s.auth.nested, { Refresh_Token: '[redacted]', scopes: ['read'] });
  assert.deepEqual(s.webhooks[0], { id: 1, Webhook_Secret: '[redacted]', url: 'https://x.example/1' });
  assert.deepEqual(s.webhooks[1].people, [{ EMAIL: '[redacted]', Phone: '[redacted]', name: 'J' }]);
  // Absent values say so: an operator can tell "not set" from "set, and hidden".
  assert.deepEqual(entry.json.empty, { password: null });
  assert.equal(entry.json.connection, 'jira');
  assert.equal(entry.json.msg, 'connection saved');
  assert.equal(entry.level, 'info');
  assert.equal(entry.json.level, 'info');
  assert.match(entry.json.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('errors keep their name and message only, at any depth; a cycle does not stop the line', async () => {
  const err = Object.assign(new TypeError('Jira refused the token'), { options: { headers: { authorization: 'Bearer abc.def' } } });
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  const [entry] = await captured(() => log.error('the call failed', { error: err, attempts: [{ error: err }], cyclic }));
  assert.ok(entry);
  assert.deepEqual(entry.json.error, { name: 'TypeError', message: 'Jira refused the token' });
  assert.deepEqual(entry.json.attempts, [{ error: { name: 'TypeError', message: 'Jira refused the token' } }]);
  assert.deepEqual(entry.json.cyclic, { name: 'loop', self: '[circular]' });
  assert.ok(!entry.line.includes('abc.def') && !entry.line.includes('stack'), entry.line);
  assert.equal(entry.level, 'error');
});

test('levels: below the threshold nothing is written; the sink learns each line its level', async () => {
  const lines = await captured(() => {
    setLogLevel('warn');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
  });
  assert.deepEqual(
    lines.map((l) => [l.level, l.json.msg]),
    [
      ['warn', 'w'],
      ['error', 'e'],
    ],
  );
});

test('a line written inside an activity names its workflow, activity and attempt', async () => {
  const env = new MockActivityEnvironment({ activityType: 'createTicket', attempt: 3, workflowExecution: { workflowId: 'privacy-request/p1/jira/j', runId: 'r' } });
  const [inside] = await captured(() => env.run(async () => log.info('ticket created', { ticketKey: 'PRIV-1' })));
  assert.ok(inside);
  assert.equal(inside.json.workflowId, 'privacy-request/p1/jira/j');
  assert.equal(inside.json.activity, 'createTicket');
  assert.equal(inside.json.attempt, 3);
  assert.equal(inside.json.ticketKey, 'PRIV-1');
  const [outside] = await captured(() => log.info('no activity'));
  assert.ok(outside);
  assert.equal('workflowId' in outside.json, false);
});
