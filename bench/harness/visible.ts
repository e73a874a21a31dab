import { sleep } from './output.js';
import type { Stack } from './stack.js';

/** What a user of the API sees: an instance through GET /api/v1/privacy-request/{id}/jira-tickets. */

export interface InstanceView {
  instance_id: string;
  connection_key: string;
  ticket_key: string | null;
  status: string | null;
  task_state: string;
}

export async function instanceOf(stack: Stack, requestId: string): Promise<InstanceView | undefined> {
  const r = await stack.api.get(`/api/v1/privacy-request/${encodeURIComponent(requestId)}/jira-tickets`);
  return r.status === 200 ? r.json<InstanceView[]>().find((x) => x.connection_key === stack.connectionKey) : undefined;
}

/**
 * Reads the instance every `pollMs` until `seen` holds; resolves with performance.now() when it did, or null
 * after `timeoutMs` (from `since`). Figures measured with it are ±`pollMs`.
 */
export async function whenVisible(stack: Stack, requestId: string, seen: (i: InstanceView) => boolean, o: { since: number; pollMs: number; timeoutMs: number }): Promise<number | null> {
  for (;;) {
    const i = await instanceOf(stack, requestId);
    if (i && seen(i)) return performance.now();
    if (performance.now() - o.since > o.timeoutMs) return null;
    await sleep(o.pollMs);
  }
}
