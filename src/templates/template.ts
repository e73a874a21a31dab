import Handlebars from 'handlebars';

/**
 * Ticket templates. Users write the reference syntax: `__VARIABLE__`, optionally inside a filter expression
 * `{{ __VARIABLE__ | filter | filter(arg) }}`. We translate that to Handlebars (variables become paths,
 * filters become nested helper calls) and validate it when a template is saved, so rendering at ticket
 * time cannot fail. Output is plain text: escaping for the target format (ADF, wiki) happens downstream.
 */

export interface TemplateVariable {
  name: string;
  description: string;
  example: string;
}

export const TEMPLATE_VARIABLES: readonly TemplateVariable[] = [
  { name: 'REQUEST_ID', description: 'Privacy request id', example: 'pri_abc123-def456' },
  { name: 'REQUEST_TYPE', description: 'Type of privacy request: access, erasure, consent or update', example: 'erasure' },
  { name: 'SUBMISSION_DATE', description: 'When the data subject submitted the request', example: '2025-01-15 10:30 UTC' },
  { name: 'APPROVAL_DATE', description: 'When the request was approved', example: '2025-01-16 14:00 UTC' },
  { name: 'DUE_DATE', description: 'Policy-derived due date for the request', example: '2025-02-14 14:00 UTC' },
  { name: 'POLICY_NAME', description: 'Name of the policy governing the request', example: 'Default Erasure Policy' },
  { name: 'EMAIL', description: 'Data subject email address', example: 'user@example.com' },
  { name: 'PHONE', description: 'Data subject phone number', example: '+1-555-0100' },
  { name: 'REQUEST_URL', description: 'Link to the request in the upstream system (alias: __FIDES_REQUEST_URL__)', example: 'https://privacy.example.com/privacy-requests/pri_abc123-def456' },
];

const ALIASES: Record<string, string> = { FIDES_REQUEST_URL: 'REQUEST_URL' };
const KNOWN = new Set(TEMPLATE_VARIABLES.map((v) => v.name));

/** A variable the request has no value for is left out (undefined), which `default` acts on. */
export type TemplateValues = Partial<Record<string, string>>;

export class TemplateError extends Error {
  override name = 'TemplateError';
}

const hb = Handlebars.create();

/**
 * The filters, with Jinja2's signatures, defaults and behaviour (jinja2/filters.py), so a template written for
 * the reference product renders the same here. Lengths count code points, as Python does. A filter receives
 * `undefined` for a variable the request does not have: `default` fires on it, the others read it as '' (but
 * `truncate`, like Jinja's, passes a value too short to cut on as it is). Arguments are bound and checked when the
 * template is compiled, so a template that saves renders.
 */
type Literal = { type: 'text'; value: string } | { type: 'int'; value: number } | { type: 'float'; value: number } | { type: 'bool'; value: boolean } | { type: 'none'; value: null };
type ParamType = 'text' | 'int' | 'bool';
interface Param {
  name: string;
  type: ParamType;
  /** absent: the argument is required; null: Jinja's None, which may also be passed explicitly */
  default?: string | number | boolean | null;
}
type Args = Record<string, string | number | boolean | null>;
interface Filter {
  params: Param[];
  /** refuses arguments Jinja would fail on at render time (its asserts), so that we refuse them when saved */
  check?: (args: Args) => string | undefined;
  fn: (value: string | undefined, args: Args) => string | undefined;
}

const text = (v: unknown) => (v === undefined || v === null ? '' : String(v));
const codePoints = (s: string) => [...s];
/** Python's whitespace (str.isspace, and `\s` in its regular expressions), which JavaScript's differs from. */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const TITLE_WORDS = new RegExp(`([-${PY_SPACE}({[<]+)`, 'u');
const IS_PY_SPACE = new RegExp(`^[${PY_SPACE}]$`, 'u');

/** Python's str.strip(chars): removes any of `chars` (whitespace when null) from both ends. */
function strip(s: string, chars: string | null): string {
  const drop = chars === null ? (c: string) => IS_PY_SPACE.test(c) : (c: string) => chars.includes(c);
  const cs = codePoints(s);
  let a = 0;
  let b = cs.length;
  while (a < b && drop(cs[a]!)) a++;
  while (b > a && drop(cs[b - 1]!)) b--;
  return cs.slice(a, b).join('');
}

/** Python's str.replace(old, new, count): a negative count replaces all; an empty `old` matches between code points. */
function replaceCount(s: string, old: string, by: string, count: number): string {
  let left = count < 0 ? Infinity : count;
  if (old === '') return codePoints(s).map((c) => (left-- > 0 ? by + c : c)).join('') + (left > 0 ? by : '');
  let out = '';
  let from = 0;
  for (let at = s.indexOf(old); at >= 0 && left-- > 0; at = s.indexOf(old, from)) {
    out += s.slice(from, at) + by;
    from = at + old.length;
  }
  return out + s.slice(from);
}

const FILTERS: Record<string, Filter> = {
  upper: { params: [], fn: (v) => text(v).toUpperCase() },
  lower: { params: [], fn: (v) => text(v).toLowerCase() },
  // Jinja's words begin after white space, '-', '(', '{', '[' or '<' (so "o'neil" → "O'neil", unlike str.title).
  title: {
    params: [],
    fn: (v) =>
      text(v)
        .split(TITLE_WORDS)
        .map((w) => {
          const [first = '', ...rest] = codePoints(w);
          return first.toUpperCase() + rest.join('').toLowerCase();
        })
        .join(''),
  },
  trim: { params: [{ name: 'chars', type: 'text', default: null }], fn: (v, a) => strip(text(v), a.chars as string | null) },
  replace: {
    params: [{ name: 'old', type: 'text' }, { name: 'new', type: 'text' }, { name: 'count', type: 'int', default: null }],
    fn: (v, a) => replaceCount(text(v), a.old as string, a.new as string, (a.count as number | null) ?? -1),
  },
  default: {
    params: [{ name: 'default_value', type: 'text', default: '' }, { name: 'boolean', type: 'bool', default: false }],
    fn: (v, a) => (v === undefined || (a.boolean === true && v === '') ? (a.default_value as string) : v),
  },
  truncate: {
    params: [
      { name: 'length', type: 'int', default: 255 },
      { name: 'killwords', type: 'bool', default: false },
      { name: 'end', type: 'text', default: '...' },
      // Jinja's default is its environment's truncate.leeway policy, 5 unless configured.
      { name: 'leeway', type: 'int', default: 5 },
    ],
    check: (a) => {
      const end = codePoints(a.end as string).length;
      if ((a.length as number) < end) return `length must be at least the length of end (${end})`;
      if ((a.leeway as number) < 0) return 'leeway must not be negative';
      return undefined;
    },
    fn: (v, a) => {
      const s = codePoints(text(v));
      const length = a.length as number;
      const end = a.end as string;
      // As in Jinja, a value short enough is passed on as it is: an undefined one stays undefined for `default`.
      if (s.length <= length + (a.leeway as number)) return v;
      const kept = s.slice(0, length - codePoints(end).length).join('');
      if (a.killwords === true) return kept + end;
      const lastSpace = kept.lastIndexOf(' ');
      return (lastSpace < 0 ? kept : kept.slice(0, lastSpace)) + end;
    },
  },
};

/** The bound arguments of each filter call of a template, by position in the Handlebars source. */
interface FilterCalls {
  calls: Args[];
}
for (const [name, filter] of Object.entries(FILTERS)) {
  // Called as (name value index): arguments live in the template's own table, never in Handlebars source, so no
  // string the user wrote is parsed by Handlebars. Handlebars appends its options object.
  hb.registerHelper(name, (value: unknown, index: number, options: { data: { filters: FilterCalls } }) =>
    filter.fn(value === undefined || value === null ? undefined : String(value), options.data.filters.calls[index]!),
  );
}

function variableName(raw: string): string {
  const name = ALIASES[raw] ?? raw;
  if (!KNOWN.has(name)) throw new TemplateError(`unknown variable __${raw}__ (known: ${[...KNOWN].map((k) => `__${k}__`).join(', ')})`);
  return name;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '\n': '' };

/** Python's string escapes (Jinja reads string literals with them); an unknown one stays as written. */
function pythonUnescape(body: string): string {
  return body.replace(/\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{1,3})|([\s\S]))/g, (m, hex?: string, u4?: string, u8?: string, oct?: string, c?: string) => {
    if (c !== undefined) return ESCAPES[c] ?? m;
    const code = parseInt(hex ?? u4 ?? u8 ?? oct!, oct ? 8 : 16);
    if (code > 0x10ffff) throw new TemplateError(`${m} is not a character`);
    return String.fromCodePoint(code);
  });
}

/** A Jinja literal: a quoted string, an integer, a float, true/false or none. */
function literal(src: string): Literal | null {
  const q = /^(?:"((?:[^"\\]|\\[\s\S])*)"|'((?:[^'\\]|\\[\s\S])*)')$/.exec(src);
  if (q) return { type: 'text', value: pythonUnescape(q[1] ?? q[2] ?? '') };
  if (/^[+-]?\d+$/.test(src)) return { type: 'int', value: Number(src) };
  if (/^[+-]?\d+\.\d+(?:[eE][+-]?\d+)?$/.test(src)) return { type: 'float', value: Number(src) };
  if (/^(?:true|True|false|False)$/.test(src)) return { type: 'bool', value: src.toLowerCase() === 'true' };
  if (/^(?:none|None)$/.test(src)) return { type: 'none', value: null };
  return null;
}

/** Binds a call's arguments to the filter's parameters as Python does: positional ones first, then by name. */
function bindArgs(name: string, filter: Filter, raw: string[]): Args {
  const where = `filter "${name}"`;
  const jinja = (v: string | number | boolean | null) => (v === null ? 'none' : typeof v === 'string' ? `'${v}'` : String(v));
  const signature = `${name}(${filter.params.map((p) => (p.default === undefined ? p.name : `${p.name}=${jinja(p.default)}`)).join(', ')})`;
  const given = new Map<string, Literal>();
  let named = false;
  raw.forEach((a, i) => {
    const kw = /^([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)\s*([\s\S]*)$/.exec(a);
    const value = literal(kw ? kw[2]!.trim() : a);
    if (!value) throw new TemplateError(`${where} argument ${kw ? kw[2]!.trim() : a} must be a quoted string, a number, true, false or none`);
    let param: Param | undefined;
    if (kw) {
      named = true;
      param = filter.params.find((p) => p.name === kw[1]);
      if (!param) throw new TemplateError(`${where} has no argument "${kw[1]}" (${signature})`);
    } else {
      if (named) throw new TemplateError(`${where}: a positional argument cannot follow a named one (${signature})`);
      param = filter.params[i];
      if (!param) throw new TemplateError(`${where} takes at most ${filter.params.length} argument(s), got ${raw.length} (${signature})`);
    }
    if (given.has(param.name)) throw new TemplateError(`${where} got argument "${param.name}" twice (${signature})`);
    given.set(param.name, value);
  });
  const args: Args = {};
  for (const p of filter.params) {
    const v = given.get(p.name);
    if (!v) {
      if (p.default === undefined) throw new TemplateError(`${where} needs argument "${p.name}" (${signature})`);
      args[p.name] = p.default;
    } else if (v.type === 'none' && p.default === null) args[p.name] = null;
    else if (p.type === 'text' && (v.type === 'text' || v.type === 'int')) args[p.name] = String(v.value);
    else if (p.type === v.type) args[p.name] = v.value;
    else throw new TemplateError(`${where} argument "${p.name}" must be ${p.type === 'text' ? 'a quoted string' : p.type === 'int' ? 'a whole number' : 'true or false'}${p.default === null ? ' or none' : ''}`);
  }
  const problem = filter.check?.(args);
  if (problem) throw new TemplateError(`${where}: ${problem}`);
  return args;
}

function translateExpression(expr: string, calls: Args[]): string {
  const [head, ...filters] = splitOutsideQuotes(expr, '|').map((s) => s.trim());
  const m = /^__([A-Z][A-Z0-9_]*?)__$/.exec(head ?? '');
  if (!m?.[1]) throw new TemplateError(`expected a __VARIABLE__ at the start of {{ ${expr} }}`);
  let out = variableName(m[1]);
  for (const f of filters) {
    const fm = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(([\s\S]*)\))?$/.exec(f);
    if (!fm?.[1]) throw new TemplateError(`bad filter syntax "${f}" in {{ ${expr} }}`);
    const filter = Object.hasOwn(FILTERS, fm[1]) ? FILTERS[fm[1]] : undefined;
    if (!filter) throw new TemplateError(`unknown filter "${fm[1]}" (known: ${Object.keys(FILTERS).join(', ')})`);
    const args = fm[2]?.trim() ? splitOutsideQuotes(fm[2], ',').map((a) => a.trim()) : [];
    if (args.length > 1 && args.at(-1) === '') args.pop(); // Jinja allows a trailing comma
    calls.push(bindArgs(fm[1], filter, args));
    out = `(${fm[1]} ${out} ${calls.length - 1})`;
  }
  return out.startsWith('(') ? `{{${out.slice(1, -1)}}}` : `{{${out}}}`;
}

/** Splits at `sep` where it is not inside a quoted string (a `|` or `,` in an argument is text). */
function splitOutsideQuotes(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      cur += c;
      if (c === '\\' && i + 1 < s.length) cur += s[++i];
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur += c;
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quote) throw new TemplateError(`unterminated string in {{ ${s} }}`);
  parts.push(cur);
  return parts;
}

/**
 * Translates the user's template into Handlebars source, with the bound arguments of its filter calls;
 * throws TemplateError naming what is wrong.
 */
function toHandlebars(template: string): { source: string; calls: Args[] } {
  // Literal braces the user typed are text, not Handlebars: escape them before translating expressions.
  const parts: string[] = [];
  const calls: Args[] = [];
  const exprRe = /\{\{([^{}]*)\}\}/g;
  let last = 0;
  for (let m = exprRe.exec(template); m; m = exprRe.exec(template)) {
    parts.push(translateText(template.slice(last, m.index)), translateExpression(m[1]!.trim(), calls));
    last = m.index + m[0].length;
  }
  parts.push(translateText(template.slice(last)));
  return { source: parts.join(''), calls };
}

function translateText(text: string): string {
  const escaped = text.replace(/\\/g, '\\\\').replace(/\{\{/g, '\\{{');
  return escaped.replace(/__([A-Z][A-Z0-9_]*?)__/g, (_m, raw: string) => `{{${variableName(raw)}}}`);
}

export type CompiledTemplate = (values: TemplateValues) => string;

export function compileTemplate(template: string): CompiledTemplate {
  const { source, calls } = toHandlebars(template);
  const data = { filters: { calls } satisfies FilterCalls };
  let fn: HandlebarsTemplateDelegate;
  try {
    fn = hb.compile(source, { noEscape: true, strict: false, knownHelpersOnly: true, knownHelpers: Object.fromEntries(Object.keys(FILTERS).map((k) => [k, true])) });
    fn({}, { data }); // compile is lazy: force parsing now so syntax errors surface at save time
  } catch (err) {
    if (err instanceof TemplateError) throw err;
    throw new TemplateError(`template syntax: ${(err as Error).message.split('\n')[0]}`);
  }
  return (values) => fn(values, { data });
}

/** Dates render as in the reference product: `2025-01-15 10:30 UTC`. */
export function formatDate(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export const SAMPLE_VALUES: TemplateValues = Object.fromEntries(TEMPLATE_VARIABLES.map((v) => [v.name, v.example]));
