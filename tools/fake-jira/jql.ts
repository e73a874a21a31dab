import type { FakeIssue } from './issue.js';

export type SortField = 'created' | 'updated' | 'key';
export interface SortKey {
  field: SortField;
  desc: boolean;
}

/** What every match must satisfy, so a search can start from an index instead of every issue. */
export interface Narrowing {
  /** among these keys or ids (upper case) */
  keys?: string[];
  /** each group: carries at least one of these labels */
  labels: string[][];
  /** in one of these projects (keys, upper case) */
  projects?: string[];
  /** updated at or after this instant (ISO 8601, UTC) */
  updatedFrom?: string;
}

export interface CompiledJql {
  filter: (i: FakeIssue) => boolean;
  /** ORDER BY, most significant first; empty: creation order */
  order: SortKey[];
  narrow: Narrowing;
  /** Every key or id the query names, anywhere in it: Jira refuses a query that names an issue that does not exist. */
  namedKeys: string[];
}

export interface JqlContext {
  /** the fake's clock (ms), for relative dates such as -15m */
  now: number;
  /** the Jira user's time zone (IANA), in which absolute dates such as "2026-12-01 10:20" are read */
  timeZone: string;
}

/**
 * The slice of JQL the product sends: clauses over labels, key (issue), project, summary/text, created and updated
 * (relative -15m/-2h/-1d/-1w, or absolute "yyyy-MM-dd HH:mm" in the user's time zone), joined by AND and OR with
 * parentheses, then ORDER BY updated, created or key (ASC by default), several keys allowed. Anything else is a
 * 400, as Jira answers a field or operator it does not know.
 */
export function compileJql(jql: string, ctx: JqlContext = { now: Date.now(), timeZone: 'UTC' }): CompiledJql {
  const tokens = tokenize(jql);
  let pos = 0;
  const namedKeys = new Set<string>();
  const peek = () => tokens[pos];
  const isWord = (word: string, t = peek()) => t?.kind === 'word' && t.text.toUpperCase() === word;
  const isPunct = (p: string, t = peek()) => t?.kind === 'punct' && t.text === p;
  const fail = (expected: string): never => {
    const t = peek();
    throw new Error(`Error in the JQL Query: Expecting ${expected} but ${t ? `got '${t.text}'` : 'reached the end of the query'}.`);
  };
  const expectPunct = (p: string) => (isPunct(p) ? void pos++ : fail(`'${p}'`));
  const value = (): string => {
    const t = peek();
    if (t?.kind === 'string' || (t?.kind === 'word' && !KEYWORDS.has(t.text.toUpperCase()))) return (pos++, t.text);
    return fail('a value');
  };

  const clause = (): Node => {
    const start = peek()?.start ?? jql.length;
    const field = peek()?.kind === 'word' && !KEYWORDS.has(peek()!.text.toUpperCase()) ? tokens[pos++]!.text.toLowerCase() : fail('a field name');
    let op: string;
    let values: string[];
    if (isWord('IN')) {
      pos++;
      op = 'in';
      expectPunct('(');
      values = [value()];
      while (isPunct(',')) (pos++, values.push(value()));
      expectPunct(')');
    } else {
      op = peek()?.kind === 'op' ? tokens[pos++]!.text : fail('an operator');
      values = [value()];
    }
    const text = jql.slice(start, tokens[pos - 1]!.end);
    const oneOf = op === 'in' || op === '=';
    if (field === 'labels' && oneOf) {
      const set = new Set(values);
      return { test: (i) => i.labels.some((l) => set.has(l)), narrow: { labels: [set] } };
    }
    if (['key', 'issue', 'issuekey'].includes(field) && oneOf) {
      const keys = new Set(values.map((k) => k.toUpperCase()));
      for (const k of keys) namedKeys.add(k);
      return { test: (i) => keys.has(i.key) || keys.has(i.id), narrow: { keys, labels: [] } };
    }
    if (field === 'project' && oneOf) {
      const projects = new Set(values.map((p) => p.toUpperCase()));
      return { test: (i) => projects.has(i.projectKey), narrow: { projects, labels: [] } };
    }
    if ((field === 'summary' || field === 'text') && op === '~') {
      const needle = values[0]!.toLowerCase().replace(/\*/g, '');
      return { test: (i) => i.summary.toLowerCase().includes(needle), narrow: { labels: [] } };
    }
    if ((field === 'created' || field === 'updated') && ['>=', '>', '<=', '<'].includes(op)) {
      // ISO 8601 in UTC with milliseconds (what the store writes) compares correctly as a string, with no parsing per issue.
      const bound = new Date(instant(values[0]!, field, ctx)).toISOString();
      const test: (i: FakeIssue) => boolean =
        op === '>=' ? (i) => i[field] >= bound : op === '>' ? (i) => i[field] > bound : op === '<=' ? (i) => i[field] <= bound : (i) => i[field] < bound;
      return { test, narrow: { labels: [], ...(field === 'updated' && op.startsWith('>') ? { updatedFrom: bound } : {}) } };
    }
    throw new Error(`Error in the JQL Query: unsupported clause '${text}'.`);
  };

  const atom = (): Node => {
    if (!isPunct('(')) return clause();
    pos++;
    const inner = anyOf();
    expectPunct(')');
    return inner;
  };
  const allOf = (): Node => {
    let node = atom();
    while (isWord('AND')) (pos++, (node = both(node, atom())));
    return node;
  };
  const anyOf = (): Node => {
    let node = allOf();
    while (isWord('OR')) (pos++, (node = either(node, allOf())));
    return node;
  };

  const where: Node = !peek() || isWord('ORDER') ? { test: () => true, narrow: { labels: [] } } : anyOf();
  const order: SortKey[] = [];
  if (isWord('ORDER')) {
    pos++;
    if (!isWord('BY')) fail("'by'");
    pos++;
    do {
      if (order.length) pos++;
      const name = peek()?.kind === 'word' ? tokens[pos++]!.text.toLowerCase() : fail('a field to order by');
      const field = SORT_FIELDS[name];
      if (!field) throw new Error(`Error in the JQL Query: Not able to sort using field '${name}'.`);
      const desc = isWord('DESC');
      if (desc || isWord('ASC')) pos++;
      order.push({ field, desc });
    } while (isPunct(','));
  }
  if (peek()) fail(isWord('ORDER') || order.length ? 'the end of the query' : "'AND', 'OR' or 'ORDER BY'");
  const n = where.narrow;
  return {
    filter: where.test,
    order,
    narrow: { labels: n.labels.map((s) => [...s]), ...(n.keys ? { keys: [...n.keys] } : {}), ...(n.projects ? { projects: [...n.projects] } : {}), ...(n.updatedFrom ? { updatedFrom: n.updatedFrom } : {}) },
    namedKeys: [...namedKeys],
  };
}

interface Node {
  test: (i: FakeIssue) => boolean;
  narrow: { keys?: Set<string>; labels: Set<string>[]; projects?: Set<string>; updatedFrom?: string };
}

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'IS', 'ORDER', 'BY', 'ASC', 'DESC', 'EMPTY', 'NULL']);
const SORT_FIELDS: Record<string, SortField> = { updated: 'updated', updateddate: 'updated', created: 'created', createddate: 'created', key: 'key', issuekey: 'key' };

/** A match of both satisfies what either narrows to. */
function both(a: Node, b: Node): Node {
  const n = { labels: [...a.narrow.labels, ...b.narrow.labels] } as Node['narrow'];
  const keys = meet(a.narrow.keys, b.narrow.keys);
  const projects = meet(a.narrow.projects, b.narrow.projects);
  if (keys) n.keys = keys;
  if (projects) n.projects = projects;
  const from = [a.narrow.updatedFrom, b.narrow.updatedFrom].filter((x) => x !== undefined).sort().at(-1);
  if (from) n.updatedFrom = from;
  return { test: (i) => a.test(i) && b.test(i), narrow: n };
}

/** A match of either satisfies only what both narrow to, each its own way: the union. */
function either(a: Node, b: Node): Node {
  const [x, y] = [a.narrow, b.narrow];
  const n = { labels: x.labels.length && y.labels.length ? [new Set([...x.labels[0]!, ...y.labels[0]!])] : [] } as Node['narrow'];
  if (x.keys && y.keys) n.keys = new Set([...x.keys, ...y.keys]);
  if (x.projects && y.projects) n.projects = new Set([...x.projects, ...y.projects]);
  if (x.updatedFrom && y.updatedFrom) n.updatedFrom = x.updatedFrom < y.updatedFrom ? x.updatedFrom : y.updatedFrom;
  return { test: (i) => a.test(i) || b.test(i), narrow: n };
}

const meet = (a?: Set<string>, b?: Set<string>) => (a && b ? new Set([...a].filter((v) => b.has(v))) : (a ?? b));

interface Token {
  kind: 'word' | 'string' | 'op' | 'punct';
  text: string;
  start: number;
  end: number;
}

function tokenize(jql: string): Token[] {
  const re = /\s*(?:([(),])|(>=|<=|!=|!~|=|>|<|~)|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^\s(),=!<>~"']+))/y;
  const tokens: Token[] = [];
  while (re.lastIndex < jql.length) {
    const at = re.lastIndex;
    const m = re.exec(jql);
    if (!m) {
      if (!jql.slice(at).trim()) break;
      throw new Error(`Error in the JQL Query: The character '${jql.slice(at).trim()[0]}' is not valid here (at ${at}).`);
    }
    const [all, punct, op, dq, sq, word] = m;
    const start = at + all.length - all.trimStart().length;
    const end = at + all.length;
    if (punct) tokens.push({ kind: 'punct', text: punct, start, end });
    else if (op) tokens.push({ kind: 'op', text: op, start, end });
    else if (word !== undefined) tokens.push({ kind: 'word', text: word, start, end });
    else tokens.push({ kind: 'string', text: (dq ?? sq ?? '').replace(/\\(.)/g, '$1'), start, end });
  }
  return tokens;
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** A JQL date value as an instant: relative to the clock (-15m), or a wall-clock minute (or day) in the user's zone. */
function instant(value: string, field: string, ctx: JqlContext): number {
  const rel = /^([-+]?)(\d+)([mhdw])$/.exec(value.trim());
  if (rel) return ctx.now + (rel[1] === '-' ? -1 : 1) * Number(rel[2]) * UNIT_MS[rel[3]!]!;
  const abs = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$/.exec(value.trim());
  const [y, mo, d, h = 0, mi = 0] = (abs ?? []).slice(1).map((p) => (p === undefined ? undefined : Number(p)));
  if (abs && mo! >= 1 && mo! <= 12 && d! >= 1 && d! <= 31 && h! < 24 && mi! < 60) return zonedInstant(y!, mo!, d!, h!, mi!, ctx.timeZone);
  throw new Error(
    `Date value '${value}' for field '${field}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.`,
  );
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** How far a zone's wall clock is ahead of UTC at an instant (ms). */
function zoneOffset(at: number, timeZone: string): number {
  let f = zoneFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    zoneFormats.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, Number(x.value)])) as Record<string, number>;
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - Math.floor(at / 1000) * 1000;
}

/** The instant a wall-clock time in a zone stands for; the second look settles a guess that crossed a DST change. */
function zonedInstant(y: number, mo: number, d: number, h: number, mi: number, timeZone: string): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  const first = wall - zoneOffset(wall, timeZone);
  return wall - zoneOffset(first, timeZone);
}

/** Throws a RangeError for a time zone the runtime does not know (main checks FAKE_JIRA_TIME_ZONE with it). */
export function checkTimeZone(timeZone: string): void {
  zoneOffset(0, timeZone);
}
