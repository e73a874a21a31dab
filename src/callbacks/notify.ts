import { proxyActivities } from '@temporalio/workflow';
import type { CallbackActivities } from './activities.js';
import { dbRetry } from '../platform/temporal/workflow-support.js';

/** The workflows' side of the upstream callback: an activity retried (for up to 10 minutes apart) until accepted. */
export const { notifyUpstream } = proxyActivities<CallbackActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { ...dbRetry, maximumInterval: '10 minutes' },
  summary: 'Send the signed callback to the upstream system',
});
