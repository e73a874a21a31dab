/** Jira answered with an error status. `messages` are Jira's own words, surfaced to users as they are. */
export class JiraApiError extends Error {
  override name = 'JiraApiError';
  constructor(
    readonly status: number,
    readonly endpoint: string,
    readonly messages: string[],
    readonly retryAfterSeconds?: number,
    /** Jira's per-field errors on create/edit, e.g. {customfield_10010: "Option id 'x' is not valid"} */
    readonly fieldErrors: Record<string, string> = {},
  ) {
    super(`Jira ${endpoint} answered ${status}${messages.length ? `: ${messages.join('; ')}` : ''}`);
  }

  /** Faults worth another attempt: rate limiting and server-side trouble. Bad input or credentials are not. */
  get retryable(): boolean {
    return this.status === 429 || this.status >= 500;
  }
}

/**
 * A call the budget did not send: Jira's rate limits hold it for longer than a caller should wait. It is a 429 to
 * its callers (activities retry it after `retryAfterSeconds`), but says that Jira was never asked.
 */
export class JiraCallHeld extends JiraApiError {
  override name = 'JiraCallHeld';
  constructor(endpoint: string, why: string, retryAfterSeconds: number) {
    super(429, endpoint, [why], retryAfterSeconds);
    this.message = `Jira ${endpoint} was not called: ${why}; retry after ${retryAfterSeconds} s`;
  }
}

/** No answer from Jira at all (connection refused, DNS, timeout): always worth another attempt. */
export class JiraUnreachableError extends Error {
  override name = 'JiraUnreachableError';
  constructor(
    readonly endpoint: string,
    readonly reason: string,
    /** Node's error code: ENOTFOUND, ECONNREFUSED, ETIMEDOUT, … */
    readonly code?: string,
  ) {
    super(`Jira ${endpoint} could not be reached: ${reason}`);
  }
}

/** Jira error bodies come as {errorMessages: [...], errors: {field: message}}; flatten both, naming fields. */
export function jiraMessages(body: unknown): string[] {
  if (!body || typeof body !== 'object') return [];
  const b = body as { errorMessages?: unknown; errors?: unknown; message?: unknown };
  const out: string[] = [];
  if (Array.isArray(b.errorMessages)) out.push(...b.errorMessages.map(String));
  if (b.errors && typeof b.errors === 'object') {
    for (const [field, msg] of Object.entries(b.errors as Record<string, unknown>)) out.push(`${field}: ${String(msg)}`);
  }
  if (typeof b.message === 'string') out.push(b.message);
  return out;
}

export function jiraFieldErrors(body: unknown): Record<string, string> {
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (!errors || typeof errors !== 'object') return {};
  return Object.fromEntries(Object.entries(errors as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

/**
 * The issue keys Jira names in its messages, upper-cased: a JQL `key in (…)` naming missing issues is refused
 * with one message per key ("The value 'PRIV-9' does not exist for the field 'key'." on Cloud, "An issue with
 * key 'PRIV-9' does not exist for field 'key'." on Data Center).
 */
export function namedIssueKeys(messages: string[]): string[] {
  return messages.flatMap((m) => [...m.matchAll(/'([A-Za-z][A-Za-z0-9_]*-\d+)'/g)].map((g) => g[1]!.toUpperCase()));
}
