/**
 * The ways a connection can reach Jira, as the wizard's "Authorize" step offers them. Each mode is data: its
 * label, where it applies, and the fields it needs (sent to PUT /api/v1/connection/{key}/secret as they are
 * named here). A mode authorized in the browser (OAuth) names the flow that starts it instead of a secret.
 * The step offers the modes the server lists in GET /api/v1/server's auth_methods that are described here;
 * any other is named as settable through the API. The browser flows themselves (Atlassian's 3LO, Data
 * Center's incoming link, OAuth 1.0a's key pair) are in `AuthorizeFlow` of connection-wizard.tsx.
 */
export interface AuthFieldSpec {
  name: 'domain' | 'username' | 'api_key' | 'oauth_client_id' | 'oauth_client_secret' | 'oauth1_consumer_key';
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
  browserFlow?: 'oauth2' | 'dc_oauth2' | 'oauth1';
  /** the server a browser flow sends the user to, as the button says it */
  authorizeAt?: 'Atlassian' | 'Jira';
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
    authorizeAt: 'Atlassian',
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
  {
    method: 'dc_oauth2',
    label: 'OAuth 2.0 (application link)',
    deployment: 'Jira Data Center / Server',
    description: "A Jira administrator makes an incoming application link (Administration → Applications → Application links → Create link → External application → Incoming) with the redirect URL below; its client id and secret go here, then a Jira user authorizes.",
    fields: [
      baseUrl,
      { name: 'oauth_client_id', label: 'Client ID', hint: "The incoming link's client ID" },
      { name: 'oauth_client_secret', label: 'Client secret', secret: true, hint: "The incoming link's client secret" },
    ],
    browserFlow: 'dc_oauth2',
    authorizeAt: 'Jira',
  },
  {
    method: 'oauth1',
    label: 'OAuth 1.0a (application link)',
    deployment: 'Jira Data Center / Server',
    description: "An application link with incoming authentication (RSA-SHA1): ticketflow holds the private key, Jira the public key and the consumer key; then a Jira user authorizes.",
    fields: [baseUrl, { name: 'oauth1_consumer_key', label: 'Consumer key', placeholder: 'ticketflow', hint: 'Any name you choose; the same goes into the application link' }],
    browserFlow: 'oauth1',
    authorizeAt: 'Jira',
  },
];

export const authModeLabel = (method: string) => AUTH_MODES.find((m) => m.method === method)?.label ?? method;
