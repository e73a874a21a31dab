import { Context } from '@temporalio/activity';

type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: Level = (process.env.LOG_LEVEL as Level | undefined) ?? 'info';

export function setLogLevel(level: Level): void {
  threshold = level;
}

/** Field names whose values never reach a log line, whatever object they sit in. */
const REDACTED = /^(authorization|api_key|apikey|password|secret|client_secret|webhook_secret|access_token|refresh_token|token|code|data|email|phone|identity|credentials)$/i;

type Sink = (level: Level, line: string) => void;
const stdSink: Sink = (level, line) => (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(line + '\n');
let sink: Sink = stdSink;

/** Tests capture log lines to assert that no secret or personal data is written. */
export function setLogSink(s: Sink | null): void {
  sink = s ?? stdSink;
}

/** One JSON object per line, so logs can be shipped and queried as they are. */
function write(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (order[level] < order[threshold]) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...activityFields(), ...fields }, (k, v) => {
    if (k && REDACTED.test(k) && v !== null && v !== undefined) return '[redacted]';
    return v instanceof Error ? { name: v.name, message: v.message } : v;
  });
  sink(level, line);
}

/** Inside an activity, every line names its workflow, so an operator can go from a log line to the UI. */
function activityFields(): Record<string, unknown> {
  try {
    const info = Context.current().info;
    return { workflowId: info.workflowExecution?.workflowId, activity: info.activityType, attempt: info.attempt };
  } catch {
    return {};
  }
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => write('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => write('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write('error', msg, fields),
};
