/** An issue as the fake Jira keeps it (its store and its JQL both read it). */

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
  /** Entity properties set with an edit (absent on issues stored before the fake had them) */
  properties?: Record<string, unknown>;
}
