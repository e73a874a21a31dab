/** A Jira issue key such as PRIV-456 (project key, a dash, a number); case is normalised by the callers. Workflow-safe. */
export const ISSUE_KEY = /^[A-Za-z][A-Za-z0-9_]*-\d+$/;

export const isIssueKey = (text: string) => ISSUE_KEY.test(text.trim());
