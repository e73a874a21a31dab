/**
 * The ways a connection can reach Jira, as the wizard's "Authorize" step offers them. Each mode is data: its
 * label, where it applies, and the fields it needs (sent to PUT /api/v1/connection/{key}/secret as they are
 * named here). A mode authorized in the browser (OAuth) names the flow that starts it instead of a secret.
 * The step offers the modes the server lists in GET /api/v1/server's auth_methods that are described here;
 * any other is named as settable through the API. New modes (Data Center OAuth 2.0, OAuth 1.0a) are added
 * as entries here, and a browser flow of their own in `AuthorizeFlow` of connection-wizard.tsx.
 */
export interface AuthFieldSpec {
  name: 'domain' | 'username' | 'api_key';
  label: string;
  hint?: string;
  placeholder?: string;
  /** a credential: never shown again once saved, sealed by the API */
  secret?: boolean;
  optional?: boolean;
}

export interface AuthMode {
  method: string;
  label: string;
  deployment: 'Jira Cloud' | 'Jira Data Center / Server';
  description: string;
  fields: AuthFieldSpec[];
  /** authorized in the browser: the step shows an Authorize button for this flow */
  browserFlow?: 'oauth2';
}

const site: AuthFieldSpec = { name: 'domain', label: 'Site', placeholder: 'acme.atlassian.net', hint: "Your Jira site's address, such as acme.atlassian.net" };
const baseUrl: AuthFieldSpec = { name: 'domain', label: 'Base URL', placeholder: 'https://jira.example.com', hint: "The Jira server's root URL" };

export const AUTH_MODES: AuthMode[] = [
  {
    method: 'api_token',
    label: 'API token',
    deployment: 'Jira Cloud',
    description: 'An Atlassian account email and an API token made at id.atlassian.com → Security → API tokens.',
    fields: [site, { name: 'username', label: 'Email', placeholder: 'bot@acme.com', secret: true }, { name: 'api_key', label: 'API token', secret: true }],
  },
  {
    method: 'scoped_api_token',
    label: 'Scoped API token',
    deployment: 'Jira Cloud',
    description: "An API token limited to scopes. It works through Atlassian's API gateway; the site's cloud id is looked up when saved.",
    fields: [site, { name: 'username', label: 'Email', placeholder: 'bot@acme.com', secret: true }, { name: 'api_key', label: 'Scoped API token', secret: true }],
  },
  {
    method: 'oauth2',
    label: 'OAuth 2.0 (3LO)',
    deployment: 'Jira Cloud',
    description: "Authorize ticketflow's Atlassian app as a Jira user: you are sent to Atlassian to consent, then back here.",
    fields: [{ ...site, optional: true, hint: 'Only needed when the authorizing user can reach several sites' }],
    browserFlow: 'oauth2',
  },
  {
    method: 'pat',
    label: 'Personal access token',
    deployment: 'Jira Data Center / Server',
    description: "A personal access token made in Jira's profile → Personal access tokens.",
    fields: [baseUrl, { name: 'api_key', label: 'Personal access token', secret: true }],
  },
  {
    method: 'basic',
    label: 'Username and password',
    deployment: 'Jira Data Center / Server',
    description: 'Basic authentication with a Jira user (prefer a personal access token where the server has them).',
    fields: [baseUrl, { name: 'username', label: 'Username', secret: true }, { name: 'api_key', label: 'Password', secret: true }],
  },
];

export const authModeLabel = (method: string) => AUTH_MODES.find((m) => m.method === method)?.label ?? method;
