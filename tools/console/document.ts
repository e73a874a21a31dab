import { apiRoutes, type AppDeps } from '../../src/http/app.js';
import { openApiDocument } from '../../src/http/openapi.js';

/**
 * The OpenAPI document the API serves, written from the route registry without starting anything: declaring
 * the routes reads none of their dependencies (handlers do, and none runs here), so stand-ins do. A route
 * factory that one day touches a dependency while it is declared fails this loudly at build time. The codec's
 * routes are in, as in every process that serves the API; test/security.test.ts checks that this is the
 * document the app serves.
 */
export function apiDocument(): Record<string, unknown> {
  const unused = {} as never;
  const deps: AppDeps & { tokens: never; audit: never } = { orm: unused, temporal: unused, kit: { secrets: { keyring: unused }, oauth: {} } as never, settings: unused, starts: unused, trackers: unused, tokens: unused, audit: unused, codec: unused };
  return openApiDocument(apiRoutes(deps));
}
