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

export type TemplateValues = Partial<Record<string, string>>;

export class TemplateError extends Error {
  override name = 'TemplateError';
}

const hb = Handlebars.create();
const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));
const FILTERS: Record<string, { arity: [number, number]; usage: string; description: string; fn: (value: string, ...args: string[]) => string }> = {
  upper: { arity: [0, 0], usage: 'upper', description: 'upper case', fn: (v) => v.toUpperCase() },
  lower: { arity: [0, 0], usage: 'lower', description: 'lower case', fn: (v) => v.toLowerCase() },
  title: { arity: [0, 0], usage: 'title', description: 'Each Word Capitalised', fn: (v) => v.toLowerCase().replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, pre: string, c: string) => pre + c.toUpperCase()) },
  trim: { arity: [0, 0], usage: 'trim', description: 'white space removed at both ends', fn: (v) => v.trim() },
  replace: { arity: [2, 2], usage: 'replace("old", "new")', description: 'every "old" replaced by "new"', fn: (v, from = '', to = '') => (from ? v.split(from).join(to) : v) },
  default: { arity: [1, 1], usage: 'default("text")', description: '"text" when the value is empty', fn: (v, fallback = '') => (v === '' ? fallback : v) },
  truncate: {
    arity: [1, 1],
    usage: 'truncate(80)',
    description: 'at most that many characters, ending in ... when cut',
    fn: (v, n = '255') => {
      const len = Math.max(0, Number(n));
      return v.length <= len ? v : `${v.slice(0, Math.max(0, len - 3))}...`;
    },
  },
};
for (const [name, filter] of Object.entries(FILTERS)) {
  // Handlebars appends its options object as the last argument; drop it.
  hb.registerHelper(name, (...args: unknown[]) => filter.fn(str(args[0]), ...args.slice(1, -1).map(str)));
}

/** The filters a template may apply, as `{{ __VARIABLE__ | usage }}`, for editors to hint. */
export const TEMPLATE_FILTERS = Object.entries(FILTERS).map(([name, f]) => ({ name, usage: f.usage, description: f.description }));

function variableName(raw: string): string {
  const name = ALIASES[raw] ?? raw;
  if (!KNOWN.has(name)) throw new TemplateError(`unknown variable __${raw}__ (known: ${[...KNOWN].map((k) => `__${k}__`).join(', ')})`);
  return name;
}

const ARG = /^(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(-?\d+(?:\.\d+)?))$/;

function translateExpression(expr: string): string {
  const [head, ...filters] = expr.split('|').map((s) => s.trim());
  const m = /^__([A-Z][A-Z0-9_]*?)__$/.exec(head ?? '');
  if (!m?.[1]) throw new TemplateError(`expected a __VARIABLE__ at the start of {{ ${expr} }}`);
  let out = variableName(m[1]);
  for (const f of filters) {
    const fm = /^([a-z_]+)\s*(?:\((.*)\))?$/.exec(f);
    if (!fm?.[1]) throw new TemplateError(`bad filter syntax "${f}" in {{ ${expr} }}`);
    const filter = FILTERS[fm[1]];
    if (!filter) throw new TemplateError(`unknown filter "${fm[1]}" (known: ${Object.keys(FILTERS).join(', ')})`);
    const args = fm[2]?.trim() ? splitArgs(fm[2]) : [];
    if (args.length < filter.arity[0] || args.length > filter.arity[1]) {
      throw new TemplateError(`filter "${fm[1]}" takes ${filter.arity[0]} argument(s), got ${args.length}`);
    }
    const hbArgs = args.map((a) => {
      const am = ARG.exec(a);
      if (!am) throw new TemplateError(`filter "${fm[1]}" argument ${a} must be a quoted string or a number`);
      return am[3] ?? JSON.stringify((am[1] ?? am[2] ?? '').replace(/\\(.)/g, '$1'));
    });
    out = `(${fm[1]} ${out}${hbArgs.map((a) => ` ${a}`).join('')})`;
  }
  return out.startsWith('(') ? `{{${out.slice(1, -1)}}}` : `{{${out}}}`;
}

function splitArgs(s: string): string[] {
  const args: string[] = [];
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
    } else if (c === ',') {
      args.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (quote) throw new TemplateError(`unterminated string in filter arguments (${s})`);
  args.push(cur.trim());
  return args;
}

/** Translates the user's template into Handlebars source; throws TemplateError naming what is wrong. */
export function toHandlebars(template: string): string {
  // Literal braces the user typed are text, not Handlebars: escape them before translating expressions.
  const parts: string[] = [];
  const exprRe = /\{\{([^{}]*)\}\}/g;
  let last = 0;
  for (let m = exprRe.exec(template); m; m = exprRe.exec(template)) {
    parts.push(translateText(template.slice(last, m.index)), translateExpression(m[1]!.trim()));
    last = m.index + m[0].length;
  }
  parts.push(translateText(template.slice(last)));
  return parts.join('');
}

function translateText(text: string): string {
  const escaped = text.replace(/\\/g, '\\\\').replace(/\{\{/g, '\\{{');
  return escaped.replace(/__([A-Z][A-Z0-9_]*?)__/g, (_m, raw: string) => `{{${variableName(raw)}}}`);
}

export type CompiledTemplate = (values: TemplateValues) => string;

export function compileTemplate(template: string): CompiledTemplate {
  const source = toHandlebars(template);
  let fn: HandlebarsTemplateDelegate;
  try {
    fn = hb.compile(source, { noEscape: true, strict: false, knownHelpersOnly: true, knownHelpers: Object.fromEntries(Object.keys(FILTERS).map((k) => [k, true])) });
    fn({}); // compile is lazy: force parsing now so syntax errors surface at save time
  } catch (err) {
    throw new TemplateError(`template syntax: ${(err as Error).message.split('\n')[0]}`);
  }
  return (values) => fn(values);
}

/** Dates render as in the reference product: `2025-01-15 10:30 UTC`. */
export function formatDate(d: Date | null | undefined): string {
  if (!d) return '';
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export const SAMPLE_VALUES: TemplateValues = Object.fromEntries(TEMPLATE_VARIABLES.map((v) => [v.name, v.example]));
