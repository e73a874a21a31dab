import { condition, continueAsNew, proxyActivities, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { WebhookActivities } from './activities.js';
import { stopWebhooksSignal } from './messages.js';

const { ensureDynamicWebhooks } = proxyActivities<WebhookActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '1 hour' },
  summary: 'Register or refresh the connection\'s Jira webhooks',
});

/** Refresh this long before Jira's 30-day expiry, so a Jira outage of days still leaves time. */
const REFRESH_AHEAD_MS = 10 * 86_400_000;

/**
 * Keeps an OAuth connection's dynamic webhooks alive: registered once, refreshed every ~20 days for as long
 * as the connection uses OAuth. Ends when the connection stops qualifying or on `stopWebhooks`.
 */
export async function jiraWebhookKeepAlive({ connectionKey, rounds = 0 }: { connectionKey: string; rounds?: number }): Promise<void> {
  let stop = false;
  setHandler(stopWebhooksSignal, () => void (stop = true));
  for (let round = rounds; !stop; round++) {
    const { expiresAt } = await ensureDynamicWebhooks({ connectionKey });
    if (!expiresAt) {
      setCurrentDetails(`no dynamic webhooks for ${connectionKey} (not OAuth, disabled, or WEBHOOK_BASE_URL unset)`);
      return;
    }
    setCurrentDetails(`webhooks of ${connectionKey} live until ${expiresAt}`);
    // An unreadable date is refreshed in an hour rather than failing the workflow task.
    const wait = Math.max(3_600_000, Date.parse(expiresAt) - REFRESH_AHEAD_MS - Date.now() || 0);
    await condition(() => stop, wait, { summary: 'Refresh the webhooks before Jira expires them' });
    if (round - rounds >= 50) await continueAsNew<typeof jiraWebhookKeepAlive>({ connectionKey, rounds: round + 1 });
  }
}
