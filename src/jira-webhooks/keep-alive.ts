import { condition, continueAsNew, proxyActivities, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { WebhookActivities } from './activities.js';
import { refreshWebhooksSignal, stopWebhooksSignal } from './messages.js';

const { ensureDynamicWebhooks } = proxyActivities<WebhookActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '1 hour' },
  summary: 'Register or refresh the connection\'s Jira webhooks',
});

/** Refresh this long before Jira's 30-day expiry, so a Jira outage of days still leaves time. */
const REFRESH_AHEAD_MS = 10 * 86_400_000;

/**
 * Keeps a connection's registered webhooks alive: Cloud OAuth's dynamic ones registered once and refreshed every
 * ~20 days; a Data Center administrator's registered once and looked at every 30 days (and at once on
 * `refreshWebhooks`, when the scope changed). Ends when the connection stops qualifying or on `stopWebhooks`.
 */
export async function jiraWebhookKeepAlive({ connectionKey, rounds = 0 }: { connectionKey: string; rounds?: number }): Promise<void> {
  let stop = false;
  let again = false;
  setHandler(stopWebhooksSignal, () => void (stop = true));
  // Waking early changes no command of a run that is never woken, so older histories replay as they were.
  setHandler(refreshWebhooksSignal, () => void (again = true));
  for (let round = rounds; !stop; round++) {
    const { expiresAt } = await ensureDynamicWebhooks({ connectionKey });
    if (!expiresAt) {
      setCurrentDetails(`no registered webhooks for ${connectionKey} (an auth method that cannot register them, not a Jira administrator, disabled, or WEBHOOK_BASE_URL unset): GET /api/v1/connection/${connectionKey}/jira/webhook says what to set up by hand`);
      return;
    }
    setCurrentDetails(`webhooks of ${connectionKey} live until ${expiresAt}`);
    // An unreadable date is refreshed in an hour rather than failing the workflow task.
    const wait = Math.max(3_600_000, Date.parse(expiresAt) - REFRESH_AHEAD_MS - Date.now() || 0);
    await condition(() => stop || again, wait, { summary: 'Refresh the webhooks before Jira expires them' });
    again = false;
    if (round - rounds >= 50) await continueAsNew<typeof jiraWebhookKeepAlive>({ connectionKey, rounds: round + 1 });
  }
}
