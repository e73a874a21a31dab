import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Jira's three status categories, with the ids and colours Jira Cloud uses. */
export const STATUS_CATEGORIES = {
  new: { id: 2, key: 'new', colorName: 'blue-gray', name: 'To Do' },
  indeterminate: { id: 4, key: 'indeterminate', colorName: 'yellow', name: 'In Progress' },
  done: { id: 3, key: 'done', colorName: 'green', name: 'Done' },
} as const;
export type CategoryKey = keyof typeof STATUS_CATEGORIES;

export const STATUSES: Array<{ id: string; name: string; category: CategoryKey }> = [
  { id: '10000', name: 'To Do', category: 'new' },
  { id: '3', name: 'In Progress', category: 'indeterminate' },
  { id: '10001', name: 'Done', category: 'done' },
];

export const ISSUE_TYPES = [
  { id: '10001', name: 'Task', subtask: false, hierarchyLevel: 0, description: 'A small, distinct piece of work.' },
  { id: '10002', name: 'Bug', subtask: false, hierarchyLevel: 0, description: 'A problem or error.' },
  { id: '10003', name: 'Story', subtask: false, hierarchyLevel: 0, description: 'A user story.' },
  { id: '10004', name: 'Subtask', subtask: true, hierarchyLevel: -1, description: 'A small piece of work within a task.' },
];

export interface FakeComment {
  id: string;
  body: unknown;
  created: string;
  updated: string;
  properties: Record<string, unknown>;
}

export interface FakeIssue {
  id: string;
  key: string;
  projectKey: string;
  issueTypeId: string;
  summary: string;
  description: unknown;
  labels: string[];
  duedate: string | null;
  statusId: string;
  created: string;
  updated: string;
  resolutiondate: string | null;
  comments: FakeComment[];
  extraFields: Record<string, unknown>;
}

export interface FakeProject {
  id: string;
  key: string;
  name: string;
}

interface State {
  nextIssueId: number;
  nextCommentId: number;
  counters: Record<string, number>;
  projects: FakeProject[];
  issues: FakeIssue[];
}

const initial = (): State => ({
  nextIssueId: 10_000,
  nextCommentId: 20_000,
  counters: {},
  projects: [
    { id: '10000', key: 'PRIV', name: 'Privacy Requests' },
    { id: '10001', key: 'SCRUM', name: 'Data Quality' },
  ],
  issues: [],
});

/** Serialising the whole state costs O(issues); at benchmark scale a write per change would dominate. */
const SAVE_DELAY_MS = 500;

/**
 * In-memory Jira data, indexed by key, id and label so lookups stay O(1) at benchmark scale; optionally
 * written to a file (debounced, and on flush) so a demo survives restarts.
 */
export class FakeJiraStore {
  private state: State;
  private readonly byKey = new Map<string, FakeIssue>();
  /** Sets keep insertion order, which is creation order: searches by label come out sorted by created. */
  private readonly byLabel = new Map<string, Set<FakeIssue>>();
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly file?: string) {
    this.state = file && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as State) : initial();
    this.reindex();
  }

  private reindex(): void {
    this.byKey.clear();
    this.byLabel.clear();
    for (const i of this.state.issues) this.index(i);
  }

  private index(i: FakeIssue): void {
    this.byKey.set(i.key, i);
    this.byKey.set(i.id, i);
    for (const l of i.labels) {
      let set = this.byLabel.get(l);
      if (!set) this.byLabel.set(l, (set = new Set()));
      set.add(i);
    }
  }

  private save(): void {
    if (!this.file || this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.flush(), SAVE_DELAY_MS);
    // A pending write must not keep a finished process alive; main flushes on the way out.
    this.saveTimer.unref();
  }

  /** Writes pending changes now (call on exit). */
  flush(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.file) return;
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.state));
    renameSync(`${this.file}.tmp`, this.file);
  }

  reset(): void {
    this.state = initial();
    this.reindex();
    this.save();
  }

  get projects(): FakeProject[] {
    return this.state.projects;
  }

  get issues(): FakeIssue[] {
    return this.state.issues;
  }

  issue(idOrKey: string): FakeIssue | undefined {
    return this.byKey.get(idOrKey.toUpperCase()) ?? this.byKey.get(idOrKey);
  }

  /**
   * The issues a query can only match, in creation order: those with every given label and, when keys are
   * given, among those keys. Without either, all issues.
   */
  candidates(narrow: { labels: string[]; keys?: string[] }): FakeIssue[] {
    if (narrow.keys) {
      const found = new Set(narrow.keys.map((k) => this.issue(k)).filter((i): i is FakeIssue => !!i));
      return [...found].filter((i) => narrow.labels.every((l) => i.labels.includes(l))).sort(byCreation);
    }
    if (!narrow.labels.length) return this.state.issues;
    const sets = narrow.labels.map((l) => this.byLabel.get(l) ?? new Set<FakeIssue>()).sort((a, b) => a.size - b.size);
    return [...sets[0]!].filter((i) => sets.every((s) => s.has(i)));
  }

  createIssue(fields: Omit<FakeIssue, 'id' | 'key' | 'statusId' | 'created' | 'updated' | 'resolutiondate' | 'comments'>): FakeIssue {
    const n = (this.state.counters[fields.projectKey] ?? 0) + 1;
    this.state.counters[fields.projectKey] = n;
    const now = new Date().toISOString();
    const issue: FakeIssue = {
      ...fields,
      id: String(this.state.nextIssueId++),
      key: `${fields.projectKey}-${n}`,
      statusId: STATUSES[0]!.id,
      created: now,
      updated: now,
      resolutiondate: null,
      comments: [],
    };
    this.state.issues.push(issue);
    this.index(issue);
    this.save();
    return issue;
  }

  transition(issue: FakeIssue, statusId: string): void {
    const status = STATUSES.find((s) => s.id === statusId)!;
    issue.statusId = status.id;
    issue.updated = new Date().toISOString();
    issue.resolutiondate = status.category === 'done' ? issue.updated : null;
    this.save();
  }

  /** The assignee lives among the extra fields because that is where a create puts it, as sent. */
  assign(issue: FakeIssue, accountId: string | null): void {
    issue.extraFields.assignee = accountId ? { accountId } : null;
    issue.updated = new Date().toISOString();
    this.save();
  }

  addComment(issue: FakeIssue, body: unknown, properties: Record<string, unknown>): FakeComment {
    const now = new Date().toISOString();
    const comment = { id: String(this.state.nextCommentId++), body, created: now, updated: now, properties };
    issue.comments.push(comment);
    issue.updated = now;
    this.save();
    return comment;
  }

  deleteIssue(issue: FakeIssue): void {
    this.state.issues = this.state.issues.filter((i) => i !== issue);
    this.byKey.delete(issue.key);
    this.byKey.delete(issue.id);
    for (const l of issue.labels) this.byLabel.get(l)?.delete(issue);
    this.save();
  }
}

const byCreation = (a: FakeIssue, b: FakeIssue) => Number(a.id) - Number(b.id);
