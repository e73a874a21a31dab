import { Context } from '@temporalio/activity';
import { pino } from 'pino';

type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'] satisfies Level[];

/** Field names whose values never reach a log line, whatever object they sit in. */
const REDACTED = /^(authorization|api_key|apikey|password|secret|client_secret|webhook_secret|access_token|refresh_token|token|code|data|email|phone|identity|credentials)$/i;

type Sink = (level: Level, line: string) => void;
const stdSink: Sink = (level, line) => (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(line + '\n');
let sink: Sink = stdSink;

/** Tests capture log lines to assert that no secret or personal data is written. */
export function setLogSink(s: Sink | null): void {
  sink = s ?? stdSink;
}

/**
 * pino's `redact` takes paths, and a secret may sit at any depth (a Jira answer, a connection's settings), so
 * every value whose key looks secret is replaced wherever it is. Errors keep their name and message: a stack
 * or an HTTP error's request options can carry credentials.
 */
export function redacted(value: unknown, seen = new WeakSet<object>()): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    // As JSON.stringify would: a Date's toJSON is its ISO string; a Buffer's, its bytes as an array.
    const json = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof json === 'function') return redacted(json.call(value), seen);
    if (Array.isArray(value)) return value.map((v) => redacted(v, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = REDACTED.test(k) && v !== null && v !== undefined ? '[redacted]' : redacted(v, seen);
    return out;
  } finally {
    // Only the path from the root counts as a cycle: the same object twice side by side is written twice.
    seen.delete(value);
  }
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

/** pino hands the destination each line's level (the metadata flag), so warnings and errors go to stderr. */
const destination = {
  [pino.symbols.needsMetadataGsym]: true as const,
  lastLevel: 0,
  write(line: string) {
    sink((logger.levels.labels[this.lastLevel] ?? 'error') as Level, line.endsWith('\n') ? line.slice(0, -1) : line);
  },
};

// LOG_LEVEL is checked by the configuration (which names the variable at fault); pino would throw at import.
const initial = LEVELS.includes(process.env.LOG_LEVEL ?? '') ? (process.env.LOG_LEVEL as Level) : 'info';

/** One JSON object per line, so logs can be shipped and queried as they are. */
const logger = pino(
  {
    level: initial,
    base: null,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (fields) => redacted(fields) as Record<string, unknown>,
    },
    mixin: activityFields,
    // pino's own `err` serializer would turn what `redacted` made of an error back into one with a stack field.
    serializers: { err: (err: unknown) => err },
  },
  destination,
);

export function setLogLevel(level: Level): void {
  logger.level = level;
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => logger.debug(fields ?? {}, msg),
  info: (msg: string, fields?: Record<string, unknown>) => logger.info(fields ?? {}, msg),
  warn: (msg: string, fields?: Record<string, unknown>) => logger.warn(fields ?? {}, msg),
  error: (msg: string, fields?: Record<string, unknown>) => logger.error(fields ?? {}, msg),
};
