import { createHmac } from 'node:crypto';
import { Context } from '@temporalio/activity';
import got from 'got';

/** An event for the upstream system: its name and the ids and facts that go with it (never personal data). */
export interface UpstreamEvent {
  event: string;
  [field: string]: string | null;
}

/** Where the upstream system takes ticketflow's signed callbacks (UPSTREAM_CALLBACK_URL and _SECRET); unset: none are sent. */
export interface CallbackDeps {
  upstream: { url?: string; secret?: string };
}

/** The upstream callback, which both ticket workflows send (ticket completed, failed, done, …). */
export function createCallbackActivities(deps: CallbackDeps) {
  return {
    /** POSTs a signed event to the upstream system; retried by Temporal until it is accepted. */
    async notifyUpstream(event: UpstreamEvent): Promise<{ delivered: boolean }> {
      if (!deps.upstream.url || !deps.upstream.secret) return { delivered: false };
      const info = Context.current().info;
      const body = JSON.stringify({ ...event, occurredAt: new Date().toISOString() });
      const timestamp = Math.floor(Date.now() / 1000).toString();
      const signature = createHmac('sha256', deps.upstream.secret).update(`${timestamp}.${body}`).digest('hex');
      await got.post(deps.upstream.url, {
        body,
        headers: {
          'content-type': 'application/json',
          'x-ticketflow-timestamp': timestamp,
          'x-ticketflow-signature': `sha256=${signature}`,
          // Stable across retries, so the upstream can drop a delivery it already processed.
          'x-ticketflow-delivery': `${info.workflowExecution?.workflowId}/${info.workflowExecution?.runId}/${info.activityId}`,
        },
        timeout: { request: 15_000 },
        retry: { limit: 0 },
      });
      return { delivered: true };
    },
  };
}

export type CallbackActivities = ReturnType<typeof createCallbackActivities>;
