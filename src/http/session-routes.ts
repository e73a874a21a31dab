import { z } from 'zod';
import { AUTH_METHODS } from '../connections/settings.js';
import { TEMPLATE_FILTERS, TEMPLATE_VARIABLES } from '../templates/template.js';
import { unauthenticated } from '../platform/errors.js';
import { route, type Route } from './route.js';
import { SCOPES } from './tokens.js';

/** Where operators look at workflows: the Temporal UI's address and the namespace the workflows run in. */
export interface TemporalUi {
  url: string;
  namespace: string;
}

const meAnswer = z.object({ id: z.string(), name: z.string(), scopes: z.array(z.enum(SCOPES)) }).strict();
const serverAnswer = z
  .object({
    auth_methods: z.array(z.string()),
    oauth2_configured: z.boolean(),
    temporal_ui: z.object({ url: z.string(), namespace: z.string() }).strict().nullable(),
    due_date_days: z.array(z.number().int()),
  })
  .strict();
const syntaxAnswer = z
  .object({
    variables: z.array(z.object({ variable: z.string(), description: z.string(), example: z.string() }).strict()),
    filters: z.array(z.object({ name: z.string(), usage: z.string(), description: z.string() }).strict()),
  })
  .strict();

/**
 * What a client such as the console asks before anything else: who the token is (its scopes decide what it
 * may do), what this deployment offers, and the template language. Each needs any valid token (scope read).
 */
export function sessionRoutes(deps: { oauthConfigured: boolean; temporalUi?: TemporalUi }): Route[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/me',
      summary: "Who am I: the token's id, name and scopes",
      tag: 'operations',
      answers: { 200: meAnswer },
      handler: async ({ req }) => {
        if (!req.token) throw unauthenticated('send Authorization: Bearer <token>', 'header.authorization');
        return { body: { id: req.token.id, name: req.token.name, scopes: req.token.scopes } };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/server',
      summary: 'What this deployment offers: the auth methods connections may use, whether OAuth 2.0 is set up, where the Temporal UI is',
      tag: 'operations',
      answers: { 200: serverAnswer },
      handler: async () => ({
        body: { auth_methods: [...AUTH_METHODS], oauth2_configured: deps.oauthConfigured, temporal_ui: deps.temporalUi ?? null, due_date_days: [7, 14, 30, 45, 60] },
      }),
    }),
    route({
      method: 'get',
      path: '/api/v1/templates/syntax',
      summary: 'The template language: the variables and the filters a summary, description, label or custom field may use',
      tag: 'connections',
      answers: { 200: syntaxAnswer },
      handler: async () => ({
        body: { variables: TEMPLATE_VARIABLES.map((v) => ({ variable: `__${v.name}__`, description: v.description, example: v.example })), filters: TEMPLATE_FILTERS },
      }),
    }),
  ];
}
