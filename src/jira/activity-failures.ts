import { ApplicationFailure, Context } from '@temporalio/activity';
import { log } from '../platform/log.js';
import { JiraApiError, JiraUnreachableError } from './errors.js';
import { DomainError } from '../platform/errors.js';

/**
 * Translates Jira's answers into Temporal's retry semantics: rate limits wait for Retry-After, server faults
 * and network trouble retry with backoff, and everything else (400/401/403/404, an unusable connection) fails
 * at once with Jira's own message, because another attempt would get the same answer.
 */
export async function withJiraFailures<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof JiraApiError) {
      if (err.status === 429) {
        throw ApplicationFailure.create({
          message: err.message,
          type: 'JiraRateLimited',
          nextRetryDelay: `${Math.max(1, err.retryAfterSeconds ?? 10)}s`,
        });
      }
      if (err.retryable) throw ApplicationFailure.retryable(err.message, 'JiraServerError');
      // The fields Jira named travel with the failure, for the API to name them back to its caller.
      throw ApplicationFailure.nonRetryable(err.message, 'JiraRejected', { status: err.status, fields: Object.keys(err.fieldErrors) });
    }
    if (err instanceof JiraUnreachableError) throw ApplicationFailure.retryable(err.message, 'JiraUnreachable');
    // The connection itself cannot be used (removed, disabled, not configured): another attempt would not help.
    if (err instanceof DomainError) throw ApplicationFailure.nonRetryable(err.message, err.details.state === 'not_configured' ? 'ConnectionNotConfigured' : 'ConnectionUnavailable');
    throw err;
  }
}

/**
 * Jira's search is eventually consistent: a ticket created by an attempt whose reply was lost may not be found
 * by the next attempt's label search for a while. `lagSeconds`: how long that may take (a duplicate check runs
 * that long after a retried creation); `waitOnRetry`: a retried attempt waits it out first.
 */
export interface SearchLag {
  lagSeconds: number;
  waitOnRetry: boolean;
}

/**
 * On a retried creation attempt, waits until a ticket the earlier attempt may have created is searchable
 * (heartbeating, so a worker lost meanwhile is noticed). Returns whether this is a retry.
 */
export async function waitForSearchAfterRetry(search: SearchLag | undefined): Promise<boolean> {
  const ctx = Context.current();
  if (ctx.info.attempt <= 1) return false;
  if (search?.waitOnRetry && search.lagSeconds > 0) {
    log.info('retried creation: waiting for Jira search to catch up before looking for an earlier attempt\'s ticket', { seconds: search.lagSeconds });
    for (let left = search.lagSeconds * 1000; left > 0; left -= 5_000) {
      ctx.heartbeat();
      await ctx.sleep(Math.min(5_000, left));
    }
  }
  return true;
}
