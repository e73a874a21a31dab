import type { FakeIssue } from './store.js';

export interface CompiledJql {
  filter: (i: FakeIssue) => boolean;
  order: 'ASC' | 'DESC';
  /** Labels every match carries, so a search can start from the label index instead of every issue. */
  labels: string[];
  /** The keys or ids each key clause names; a match is among each list. */
  keyClauses: string[][];
}

/**
 * The slice of JQL the product sends: clauses joined by AND over labels, key, project and summary text,
 * with an optional ORDER BY created. Anything else is a 400, as Jira would answer an unknown field.
 */
export function compileJql(jql: string): CompiledJql {
  const [where = '', orderBy] = jql.split(/\s+ORDER\s+BY\s+/i);
  const order = /\bDESC\b/i.test(orderBy ?? '') ? 'DESC' : 'ASC';
  const clauses = where.trim() ? where.split(/\s+AND\s+/i) : [];
  const labels: string[] = [];
  const keyClauses: string[][] = [];
  const byKeys = (values: string[]) => {
    const keys = new Set(values.map((k) => k.toUpperCase()));
    keyClauses.push([...keys]);
    return (i: FakeIssue) => keys.has(i.key) || keys.has(i.id);
  };
  const preds = clauses.map((clause) => {
    const c = clause.trim();
    let m = /^(labels|key|project|issue)\s*=\s*"?([^"]+?)"?$/i.exec(c);
    if (m) {
      const [, field, value] = m as unknown as [string, string, string];
      switch (field.toLowerCase()) {
        case 'labels':
          labels.push(value);
          return (i: FakeIssue) => i.labels.includes(value);
        case 'project':
          return (i: FakeIssue) => i.projectKey === value.toUpperCase();
        default:
          return byKeys([value]);
      }
    }
    m = /^(key|issue)\s+in\s*\(([^)]*)\)$/i.exec(c);
    if (m) return byKeys(m[2]!.split(',').map((k) => k.trim().replace(/^"|"$/g, '')).filter(Boolean));
    m = /^(summary|text)\s*~\s*"([^"]*)"$/i.exec(c);
    if (m) {
      const needle = m[2]!.toLowerCase().replace(/\*/g, '');
      return (i: FakeIssue) => i.summary.toLowerCase().includes(needle);
    }
    throw new Error(`Error in the JQL Query: unsupported clause '${c}'.`);
  });
  return { filter: (i) => preds.every((p) => p(i)), order, labels, keyClauses };
}
