import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { FakeClock } from './clock.js';
import type { CompiledJql, SortKey } from './jql.js';
import type { FakeComment, FakeIssue } from './issue.js';

export type { FakeComment, FakeIssue } from './issue.js';

/** Jira's three status categories, with the ids and colours Jira Cloud uses. */
export const STATUS_CATEGORIES = {
  new: { id: 2, key: 'new', colorName: 'blue-gray', name: 'To Do' },
  indeterminate: { id: 4, key: 'indeterminate', colorName: 'yellow', name: 'In Progress' },
  done: { id: 3, key: 'done', colorName: 'green', name: 'Done' },
} as const;
export type CategoryKey = keyof typeof STATUS_CATEGORIES;

export const STATUSES: Array<{ id: string; name: string; category: CategoryKey; resolution?: { id: string; name: string } }> = [
  { id: '10000', name: 'To Do', category: 'new' },
  { id: '3', name: 'In Progress', category: 'indeterminate' },
  { id: '10001', name: 'Done', category: 'done', resolution: { id: '10000', name: 'Done' } },
  // Jira's default workflows carry these too: a status mapping can count "In Review" as done, or leave "Won't Do" out.
  { id: '10003', name: 'In Review', category: 'indeterminate' },
  { id: '10002', name: "Won't Do", category: 'done', resolution: { id: '10001', name: "Won't Do" } },
];

export const ISSUE_TYPES = [
  { id: '10001', name: 'Task', subtask: false, hierarchyLevel: 0, description: 'A small, distinct piece of work.' },
  { id: '10002', name: 'Bug', subtask: false, hierarchyLevel: 0, description: 'A problem or error.' },
  { id: '10003', name: 'Story', subtask: false, hierarchyLevel: 0, description: 'A user story.' },
  { id: '10004', name: 'Subtask', subtask: true, hierarchyLevel: -1, description: 'A small piece of work within a task.' },
];

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
/** Earlier states kept per issue for the lagging search index (states the index has caught up with go sooner). */
const MAX_HISTORY = 20;

export type NewIssue = Omit<FakeIssue, 'id' | 'key' | 'statusId' | 'created' | 'updated' | 'resolutiondate' | 'comments'>;

/**
 * In-memory Jira data, indexed by key, id, label and project so lookups stay O(1) and searches start small at
 * benchmark scale (100,000 issues); optionally written to a file (debounced, and on flush) so a demo survives
 * restarts. Timestamps come from the fake's clock. Searches read an index that is `searchLagMs` behind the clock,
 * as Jira Cloud's is: a new issue is not found until then, a changed one is found as it was.
 */
export class FakeJiraStore {
  private state: State;
  private readonly byKey = new Map<string, FakeIssue>();
  /** Sets keep insertion order, which is creation order. */
  private readonly byLabel = new Map<string, Set<FakeIssue>>();
  /** Each project's issues by (updated, key): a delta search (`updated >= …`) starts at a binary search and comes out sorted. */
  private readonly byProject = new Map<string, FakeIssue[]>();
  /** The states issues had before changes made while the search lags, oldest first, as the lagging index still sees them. */
  private readonly history = new Map<FakeIssue, FakeIssue[]>();
  private saveTimer: NodeJS.Timeout | undefined;
  /** How far the search index is behind the clock (ms); 0: searches see every change at once. */
  searchLagMs = 0;

  constructor(
    private readonly file?: string,
    readonly clock = new FakeClock(),
  ) {
    this.state = file && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as State) : initial();
    this.reindex();
  }

  private reindex(): void {
    this.byKey.clear();
    this.byLabel.clear();
    this.byProject.clear();
    this.history.clear();
    for (const i of this.state.issues) {
      this.index(i);
      this.projectIssues(i.projectKey).push(i);
    }
    for (const list of this.byProject.values()) list.sort(byUpdated);
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

  private projectIssues(projectKey: string): FakeIssue[] {
    let list = this.byProject.get(projectKey);
    if (!list) this.byProject.set(projectKey, (list = []));
    return list;
  }

  /** Where (updated, id) goes in a project's list: the first position not before it. */
  private static position(list: FakeIssue[], updated: string, id: number): number {
    let [lo, hi] = [0, list.length];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = list[mid]!;
      if (m.updated < updated || (m.updated === updated && Number(m.id) < id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private place(i: FakeIssue): void {
    const list = this.projectIssues(i.projectKey);
    list.splice(FakeJiraStore.position(list, i.updated, Number(i.id)), 0, i);
  }

  private unplace(i: FakeIssue): void {
    const list = this.projectIssues(i.projectKey);
    const at = FakeJiraStore.position(list, i.updated, Number(i.id));
    list.splice(list[at] === i ? at : list.indexOf(i), 1);
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

  /** Existing issues among these keys or ids, each once, in creation order (current, not the lagging index: GET and bulk fetch read the database). */
  byKeys(idsOrKeys: string[]): FakeIssue[] {
    return [...new Set(idsOrKeys.map((k) => this.issue(k)).filter((i): i is FakeIssue => !!i))].sort(byCreation);
  }

  /** The issues matching a query as the lagging search index has them, sorted as it asks (creation order without ORDER BY). */
  search(q: CompiledJql): FakeIssue[] {
    const asOf = this.searchLagMs > 0 ? new Date(this.clock.now() - this.searchLagMs).toISOString() : undefined;
    const found: FakeIssue[] = [];
    for (const live of this.candidates(q)) {
      const i = asOf === undefined ? live : this.indexed(live, asOf);
      if (i && q.filter(i)) found.push(i);
    }
    return sorted(found, q.order);
  }

  /**
   * The smallest set of issues a query can only match, from the indexes; of equal ones, one already in the asked
   * order. Labels and projects never change after creation, and the index never has an issue updated later than
   * it is, so the live indexes narrow the lagging view too.
   */
  private candidates(q: CompiledJql): Iterable<FakeIssue> {
    const { keys, labels, projects, updatedFrom } = q.narrow;
    const byUpdatedFirst = q.order[0]?.field === 'updated';
    const options: Array<{ size: number; ordered: boolean; issues: () => Iterable<FakeIssue> }> = [
      { size: this.state.issues.length, ordered: !byUpdatedFirst, issues: () => this.state.issues },
    ];
    if (keys) {
      const found = this.byKeys(keys);
      options.push({ size: found.length, ordered: !byUpdatedFirst, issues: () => found });
    }
    for (const group of labels) {
      const sets = group.map((l) => this.byLabel.get(l)).filter((s): s is Set<FakeIssue> => !!s);
      const issues = () => (sets.length === 1 ? sets[0]! : new Set(sets.flatMap((s) => [...s])));
      options.push({ size: sets.reduce((n, s) => n + s.size, 0), ordered: sets.length <= 1 && !byUpdatedFirst, issues });
    }
    const slices = (projects ?? [...this.byProject.keys()]).map((p) => {
      const list = this.byProject.get(p) ?? [];
      return { list, from: updatedFrom ? FakeJiraStore.position(list, updatedFrom, -Infinity) : 0 };
    });
    options.push({
      size: slices.reduce((n, s) => n + s.list.length - s.from, 0),
      ordered: slices.length === 1 && byUpdatedFirst,
      issues: function* () {
        for (const { list, from } of slices) for (let k = from; k < list.length; k++) yield list[k]!;
      },
    });
    return options.reduce((a, b) => (b.size < a.size || (b.size === a.size && b.ordered && !a.ordered) ? b : a)).issues();
  }

  /** The issue as the search index has it at `asOf`: the last state that began by then; none before it was created. */
  private indexed(issue: FakeIssue, asOf: string): FakeIssue | undefined {
    if (issue.updated <= asOf) return issue;
    if (issue.created > asOf) return undefined;
    const past = this.history.get(issue);
    if (!past) return issue;
    for (let k = past.length - 1; k >= 0; k--) if (past[k]!.updated <= asOf) return past[k];
    // The history was cut short: the oldest state kept is the nearest.
    return past[0];
  }

  /**
   * Every change goes through here: the lagging index keeps the state before it, the issue's `updated` moves to
   * the clock's now and its place in its project's order with it.
   */
  private change(issue: FakeIssue, apply: (now: string) => void): void {
    if (this.searchLagMs > 0) {
      const past = this.history.get(issue) ?? [];
      past.push(Object.freeze({ ...issue, labels: [...issue.labels], comments: [...issue.comments], extraFields: { ...issue.extraFields } }));
      // A state whose successor the index has caught up with can never be found again.
      const horizon = new Date(this.clock.now() - this.searchLagMs).toISOString();
      while (past.length > 1 && past[1]!.updated <= horizon) past.shift();
      if (past.length > MAX_HISTORY) past.splice(0, past.length - MAX_HISTORY);
      this.history.set(issue, past);
    } else {
      this.history.delete(issue);
    }
    this.unplace(issue);
    const now = this.clock.iso();
    issue.updated = now;
    apply(now);
    this.place(issue);
    this.save();
  }

  /** `statusId`: where the issue starts (bulk seeding); Jira's workflow starts at To Do. */
  createIssue(fields: NewIssue, statusId = STATUSES[0]!.id): FakeIssue {
    const n = (this.state.counters[fields.projectKey] ?? 0) + 1;
    this.state.counters[fields.projectKey] = n;
    const now = this.clock.iso();
    const status = STATUSES.find((s) => s.id === statusId)!;
    const issue: FakeIssue = {
      ...fields,
      id: String(this.state.nextIssueId++),
      key: `${fields.projectKey}-${n}`,
      statusId: status.id,
      created: now,
      updated: now,
      resolutiondate: status.category === 'done' ? now : null,
      comments: [],
    };
    this.state.issues.push(issue);
    this.index(issue);
    this.place(issue);
    this.save();
    return issue;
  }

  transition(issue: FakeIssue, statusId: string): void {
    const status = STATUSES.find((s) => s.id === statusId)!;
    this.change(issue, (now) => {
      issue.statusId = status.id;
      issue.resolutiondate = status.category === 'done' ? now : null;
    });
  }

  /** The assignee lives among the extra fields because that is where a create puts it, as sent. */
  assign(issue: FakeIssue, accountId: string | null): void {
    this.change(issue, () => void (issue.extraFields.assignee = accountId ? { accountId } : null));
  }

  addComment(issue: FakeIssue, body: unknown, properties: Record<string, unknown>): FakeComment {
    let comment!: FakeComment;
    this.change(issue, (now) => {
      comment = { id: String(this.state.nextCommentId++), body, created: now, updated: now, properties };
      issue.comments.push(comment);
    });
    return comment;
  }

  /** An edit (PUT /issue/{key}): fields replaced as sent, entity properties set (labels are not editable here). */
  edit(issue: FakeIssue, fields: Partial<Pick<FakeIssue, 'summary' | 'description' | 'duedate'>> & { extraFields?: Record<string, unknown> }, properties: Record<string, unknown>): void {
    this.change(issue, () => {
      const { extraFields, ...own } = fields;
      Object.assign(issue, own);
      Object.assign(issue.extraFields, extraFields ?? {});
      issue.properties = { ...issue.properties, ...properties };
    });
  }

  /** A change that only moves `updated` (an edit the fake does not model further). */
  touch(issue: FakeIssue): void {
    this.change(issue, () => {});
  }

  deleteIssue(issue: FakeIssue): void {
    this.state.issues = this.state.issues.filter((i) => i !== issue);
    this.unplace(issue);
    this.byKey.delete(issue.key);
    this.byKey.delete(issue.id);
    for (const l of issue.labels) this.byLabel.get(l)?.delete(issue);
    this.history.delete(issue);
    this.save();
  }
}

const byCreation = (a: FakeIssue, b: FakeIssue) => Number(a.id) - Number(b.id);
/** Jira's key order: by project key, then by number (which within a project is creation order). */
const byKey = (a: FakeIssue, b: FakeIssue) => (a.projectKey < b.projectKey ? -1 : a.projectKey > b.projectKey ? 1 : byCreation(a, b));
const byUpdated = (a: FakeIssue, b: FakeIssue) => (a.updated < b.updated ? -1 : a.updated > b.updated ? 1 : byKey(a, b));

/** ORDER BY as a comparison; ties end by key in the first sort key's direction, so pages never overlap. */
function comparator(order: SortKey[]): (a: FakeIssue, b: FakeIssue) => number {
  if (!order.length) return byCreation;
  const keys: SortKey[] = [...order, { field: 'key', desc: order[0]!.desc }];
  return (a, b) => {
    for (const k of keys) {
      const c = k.field === 'key' ? byKey(a, b) : a[k.field] < b[k.field] ? -1 : a[k.field] > b[k.field] ? 1 : 0;
      if (c) return k.desc ? -c : c;
    }
    return 0;
  };
}

/** Sorted as asked; a list the index produced in order (or in reverse) costs one pass, not a sort. */
function sorted(issues: FakeIssue[], order: SortKey[]): FakeIssue[] {
  const cmp = comparator(order);
  const inOrder = (c: typeof cmp) => issues.every((x, k) => k === 0 || c(issues[k - 1]!, x) <= 0);
  if (inOrder(cmp)) return issues;
  if (inOrder((a, b) => cmp(b, a))) return issues.reverse();
  return issues.sort(cmp);
}
