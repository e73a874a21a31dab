import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus metrics. Labels carry connection keys, routes and statuses, never ids of
 * requests or people, so their number stays small.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'ticketflow_process_' });

export const metrics = {
  httpRequests: new Counter({
    name: 'ticketflow_http_requests_total',
    help: 'HTTP requests by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  }),
  httpDuration: new Histogram({
    name: 'ticketflow_http_request_duration_seconds',
    help: 'HTTP request duration by route template',
    labelNames: ['route', 'method'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  }),
  ticketsCreated: new Counter({ name: 'ticketflow_tickets_created_total', help: 'Jira tickets created (or found after a lost reply)', labelNames: ['connection', 'kind'] as const, registers: [registry] }),
  ticketCreationFailures: new Counter({ name: 'ticketflow_ticket_creation_failures_total', help: 'Failed ticket creation attempts', labelNames: ['connection', 'kind'] as const, registers: [registry] }),
  jiraCalls: new Counter({
    name: 'ticketflow_jira_calls_total',
    help: 'Calls to Jira by connection, endpoint template and HTTP status (0: no answer)',
    labelNames: ['connection', 'endpoint', 'status'] as const,
    registers: [registry],
  }),
  jiraRateLimited: new Counter({ name: 'ticketflow_jira_rate_limited_total', help: 'Jira answers 429', labelNames: ['connection'] as const, registers: [registry] }),
  jiraPoints: new Counter({
    name: 'ticketflow_jira_points_total',
    help: "Points this process charged to the OAuth app's hourly Jira quota (1 a call, plus 1 an issue returned)",
    labelNames: ['app'] as const,
    registers: [registry],
  }),
  jiraPointsThisHour: new Gauge({
    name: 'ticketflow_jira_points_hour',
    help: "Points the OAuth app has used in the current UTC hour, all processes together, as the shared budget last told this one",
    labelNames: ['app'] as const,
    registers: [registry],
  }),
  jiraPauses: new Counter({
    name: 'ticketflow_jira_pauses_total',
    help: "Pauses this process started after a 429, by scope (app, connection, issue) and Jira's RateLimit-Reason (unknown, none)",
    labelNames: ['scope', 'reason'] as const,
    registers: [registry],
  }),
  jiraSlowdowns: new Counter({
    name: 'ticketflow_jira_slowdowns_total',
    help: 'Slowdowns this process started before a limit was reached: near_limit (Jira said so; a connection at half its budget for a minute), points (the app past 90 % of its hourly points)',
    labelNames: ['scope', 'cause'] as const,
    registers: [registry],
  }),
  jiraBudgetWait: new Histogram({
    name: 'ticketflow_jira_budget_wait_seconds',
    help: 'Time a Jira call waited for the shared budget (requests per second, app points, per-issue writes, pauses) before it was sent',
    labelNames: ['connection'] as const,
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  }),
  trackerCycles: new Counter({ name: 'ticketflow_tracker_cycles_total', help: 'Tracker cycles by connection and outcome', labelNames: ['connection', 'outcome'] as const, registers: [registry] }),
  trackerChanges: new Counter({ name: 'ticketflow_tracker_changes_total', help: 'Tracked tickets found changed by the tracker (their workflows were told)', labelNames: ['connection'] as const, registers: [registry] }),
  trackerCycleSeconds: new Histogram({
    name: 'ticketflow_tracker_cycle_seconds',
    help: "Duration of a tracker's delta read, from the first query to the last workflow told",
    labelNames: ['connection'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [registry],
  }),
  duplicatesClosed: new Counter({ name: 'ticketflow_duplicate_tickets_closed_total', help: 'Duplicate tickets left by retried creations, found later and closed', labelNames: ['connection'] as const, registers: [registry] }),
  webhookDeliveries: new Counter({ name: 'ticketflow_webhook_deliveries_total', help: 'Jira webhook deliveries by outcome', labelNames: ['outcome'] as const, registers: [registry] }),
  personalDataErasures: new Counter({ name: 'ticketflow_personal_data_erasures_total', help: "Privacy requests whose personal data was erased, by reason (retention, on_demand)", labelNames: ['reason'] as const, registers: [registry] }),
  jiraRedactions: new Counter({ name: 'ticketflow_jira_redactions_total', help: 'Tickets redacted in Jira after an erasure, by outcome (redacted, already_redacted, ticket_gone)', labelNames: ['connection', 'outcome'] as const, registers: [registry] }),
  auditEntries: new Counter({ name: 'ticketflow_audit_entries_total', help: 'Audit log entries written, by actor; failed: could not be written (the entry is in the error log line instead)', labelNames: ['actor', 'outcome'] as const, registers: [registry] }),
};

/** Prometheus text for this process, followed by the Temporal SDK's own metrics when its exporter runs here. */
export async function metricsText(sdkMetricsUrl?: string): Promise<string> {
  const own = await registry.metrics();
  if (!sdkMetricsUrl) return own;
  const sdk = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.text(),
    () => '# Temporal SDK metrics unavailable\n',
  );
  return `${own}\n${sdk}`;
}

/** Counts a ticket creation attempt's outcome. */
export async function countCreation<T>(connection: string, kind: 'privacy_request' | 'anomaly', attempt: () => Promise<T>): Promise<T> {
  try {
    const result = await attempt();
    metrics.ticketsCreated.inc({ connection, kind });
    return result;
  } catch (err) {
    metrics.ticketCreationFailures.inc({ connection, kind });
    throw err;
  }
}
