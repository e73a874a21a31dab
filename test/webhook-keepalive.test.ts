import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { stopWebhooksSignal } from '../src/jira-webhooks/messages.js';
import type { jiraWebhookKeepAlive } from '../src/jira-webhooks/keep-alive.js';
import { eventually } from './helpers/infra.js';
import { runWorkflow, useTimeSkipping } from './helpers/time-skipping.js';

/** The keep-alive of OAuth connections' dynamic webhooks, with a mocked activity, on the time-skipping server. */
const ts = useTimeSkipping();
const DAY = 86_400_000;

function keepAlive(answer: () => Promise<string | null>, body: (calls: number[], h: WorkflowHandle<typeof jiraWebhookKeepAlive>) => Promise<void>) {
  const calls: number[] = [];
  return runWorkflow<typeof jiraWebhookKeepAlive>(
    ts,
    {
      type: 'jiraWebhookKeepAlive',
      workflowId: 'jira-webhooks/oauth',
      args: [{ connectionKey: 'oauth' }],
      activities: {
        ensureDynamicWebhooks: async () => {
          calls.push(await ts.env.currentTimeMs());
          return { expiresAt: await answer() };
        },
      },
    },
    (h) => body(calls, h),
  );
}

test('webhooks that expire in 30 days are refreshed 10 days ahead, then again; stopWebhooks ends it', async () => {
  // Jira's answer: 30 days from the (skipped) time of the call.
  await keepAlive(
    async () => new Date((await ts.env.currentTimeMs()) + 30 * DAY).toISOString(),
    async (calls, h) => {
      await eventually(async () => calls.length === 1, 'registered at once');
      await ts.env.sleep(19 * DAY);
      assert.equal(calls.length, 1, 'nothing before day 20');
      await ts.env.sleep(2 * DAY);
      await eventually(async () => calls.length === 2, 'refreshed on day 20');
      assert.ok(Math.abs(calls[1]! - calls[0]! - 20 * DAY) < DAY, `second call ${(calls[1]! - calls[0]!) / DAY} days after the first`);
      await h.signal(stopWebhooksSignal);
      await h.result();
      assert.equal(calls.length, 2);
    },
  );
});

test('a connection that cannot have dynamic webhooks (not OAuth, disabled, no public URL) ends the workflow', async () => {
  await keepAlive(
    async () => null,
    async (calls, h) => {
      await h.result();
      assert.equal(calls.length, 1);
    },
  );
});
