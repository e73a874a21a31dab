/**
 * The fake Jira's fields: what its create metadata (createmeta) says and what its create validation enforces.
 * Shapes as Atlassian documents them: Cloud's FieldCreateMetadata and JsonTypeBean (the OpenAPI file in
 * test/fixtures) and, for Data Center, the tutorial "JIRA REST API Example - Discovering meta-data for creating
 * issues" (developer.atlassian.com/server/jira/platform, Tutorials) and the v2 reference of
 * GET /rest/api/2/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId} (Jira 8.4 and later), whose `values` carry the same fields (required, schema, name, fieldId, hasDefaultValue, operations, allowedValues).
 */

const CUSTOM = 'com.atlassian.jira.plugin.system.customfieldtypes';

export interface FakeField {
  fieldId: string;
  name: string;
  schema: { type: string; items?: string; system?: string; custom?: string; customId?: number };
  allowedValues?: Array<{ id: string; value?: string; name?: string }>;
  hasDefaultValue?: boolean;
}

export const PRIORITIES = ['Highest', 'High', 'Medium', 'Low', 'Lowest'];

const system = (fieldId: string, name: string, type: string, extra: Partial<FakeField> = {}): FakeField => ({ fieldId, name, schema: { type, system: fieldId }, ...extra });
const custom = (id: number, name: string, type: string, kind: string, extra: Partial<FakeField> & { items?: string } = {}): FakeField => {
  const { items, ...rest } = extra;
  return { fieldId: `customfield_${id}`, name, schema: { type, ...(items ? { items } : {}), custom: `${CUSTOM}:${kind}`, customId: id }, ...rest };
};

/** Every field on the fake's create screens; which are required depends on the issue type (REQUIRED_BY_TYPE). */
export const FIELDS: FakeField[] = [
  system('summary', 'Summary', 'string'),
  system('issuetype', 'Issue Type', 'issuetype'),
  system('project', 'Project', 'project'),
  system('reporter', 'Reporter', 'user', { hasDefaultValue: true }),
  system('description', 'Description', 'string'),
  system('priority', 'Priority', 'priority', { hasDefaultValue: true, allowedValues: PRIORITIES.map((name, i) => ({ id: String(i + 1), name })) }),
  system('labels', 'Labels', 'array', { schema: { type: 'array', items: 'string', system: 'labels' } }),
  system('duedate', 'Due date', 'date'),
  system('assignee', 'Assignee', 'user'),
  custom(10010, 'Policy', 'string', 'textfield'),
  custom(10011, 'Request types', 'array', 'labels', { items: 'string' }),
  custom(10020, 'Data category', 'option', 'select', {
    allowedValues: [
      { id: '10100', value: 'Personal' },
      { id: '10101', value: 'Sensitive' },
      { id: '10102', value: 'Anonymous' },
    ],
  }),
  custom(10030, 'Systems', 'array', 'multiselect', {
    items: 'option',
    allowedValues: [
      { id: '10200', value: 'CRM' },
      { id: '10201', value: 'Billing' },
      { id: '10202', value: 'Warehouse' },
    ],
  }),
  custom(10040, 'Reviewer', 'user', 'userpicker'),
  custom(10050, 'Records affected', 'number', 'float'),
  custom(10060, 'Legal deadline', 'date', 'datepicker'),
  custom(10070, 'Notes', 'string', 'textarea'),
];

/** Fields each issue type requires beyond summary, project and issue type: a Bug in the fake needs its data category. */
export const REQUIRED_BY_TYPE: Record<string, string[]> = { '10002': ['customfield_10020'] };
const ALWAYS_REQUIRED = new Set(['summary', 'issuetype', 'project', 'reporter']);

export const fieldById = (id: string) => FIELDS.find((f) => f.fieldId === id);

/** The create metadata of one issue type, as Cloud (and Data Center, under `values`) answer it. */
export function createMetaOf(issueTypeId: string) {
  const required = new Set([...ALWAYS_REQUIRED, ...(REQUIRED_BY_TYPE[issueTypeId] ?? [])]);
  return FIELDS.map((f) => ({
    fieldId: f.fieldId,
    key: f.fieldId,
    name: f.name,
    required: required.has(f.fieldId),
    hasDefaultValue: !!f.hasDefaultValue,
    operations: f.fieldId === 'labels' ? ['add', 'set', 'remove'] : ['set'],
    schema: f.schema,
    ...(f.allowedValues ? { allowedValues: f.allowedValues } : {}),
  }));
}

/**
 * Jira's create validation of custom fields by type: an option by value or id among the allowed ones, a
 * multi-select as a list of them, a user by account id (Cloud) or name (Data Center), a number, a date, labels
 * without spaces, text (multi-line text as ADF on Cloud). Returns Jira's message, or null when the value is fine.
 */
export function invalidValue(f: FakeField, value: unknown, cloud: boolean): string | null {
  const option = (v: unknown) => {
    const o = v as { value?: unknown; id?: unknown } | null;
    return !!o && typeof o === 'object' && (f.allowedValues ?? []).some((a) => a.value === o.value || a.id === o.id);
  };
  const user = (v: unknown) => !!v && typeof v === 'object' && typeof (v as Record<string, unknown>)[cloud ? 'accountId' : 'name'] === 'string';
  const { type, items, custom } = f.schema;
  if (type === 'option') return option(value) ? null : `Option value '${(value as { value?: string })?.value ?? JSON.stringify(value)}' is not valid`;
  if (type === 'array' && items === 'option') return Array.isArray(value) && value.every(option) ? null : `Option value ${JSON.stringify(value)} is not valid`;
  if (type === 'array' && items === 'string') return Array.isArray(value) && value.every((l) => typeof l === 'string' && !/\s/.test(l)) ? null : 'Labels cannot contain spaces.';
  if (type === 'user') return user(value) ? null : cloud ? "Specify a valid 'id' or 'name' for the user" : `User '${JSON.stringify(value)}' does not exist.`;
  if (type === 'number') return typeof value === 'number' && Number.isFinite(value) ? null : `'${String(value)}' is an invalid number`;
  if (type === 'date') return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? null : 'Error parsing date string';
  if (type === 'string' && custom?.endsWith(':textarea') && cloud) return value && typeof value === 'object' && (value as { type?: string }).type === 'doc' ? null : 'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
  if (type === 'string') return typeof value === 'string' ? null : 'Operation value must be a string';
  return null;
}
