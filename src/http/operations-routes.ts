import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Orm } from '../platform/db/orm.js';
import { metricsText } from '../platform/metrics.js';
import { route, type Route } from './route.js';
import { tokenFrom } from './auth.js';
import { grants, type ApiTokens } from './tokens.js';
import { unauthenticated } from '../platform/errors.js';

const readiness = z.object({ status: z.enum(['ready', 'not ready']), checks: z.record(z.string(), z.string()) }).strict();

/** Probes and metrics: open to scrapers and orchestrators (or, with METRICS=token, to a read token). */
export function operationsRoutes(deps: { orm: Orm; temporal: Client; tokens: ApiTokens; metrics?: { mode: 'open' | 'token' | 'off'; sdkMetricsUrl?: string } }): Route[] {
  const routes = [
    route({
      method: 'get',
      path: '/healthz',
      summary: 'Liveness',
      tag: 'operations',
      answers: { 200: z.object({ status: z.literal('ok') }).strict() },
      handler: async () => ({ body: { status: 'ok' } }),
    }),
    route({
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: PostgreSQL and Temporal reachable (503 with Retry-After otherwise)',
      tag: 'operations',
      answers: { 200: readiness, 503: readiness },
      handler: async () => {
        const checks: Record<string, string> = {};
        // a ping: the cheapest statement that proves a connection works
        await deps.orm.em.getConnection().execute('select 1').then(
          () => (checks.postgres = 'ok'),
          (e: Error) => (checks.postgres = e.message),
        );
        await deps.temporal.connection.workflowService.getSystemInfo({}).then(
          () => (checks.temporal = 'ok'),
          (e: Error) => (checks.temporal = e.message),
        );
        const ready = Object.values(checks).every((v) => v === 'ok');
        return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'not ready', checks }, ...(ready ? {} : { headers: { 'retry-after': '5' } }) };
      },
    }),
  ];
  if (deps.metrics?.mode !== 'off') {
    routes.push(
      route({
        method: 'get',
        path: '/metrics',
        summary: 'Prometheus metrics (this process, and the Temporal SDK where it runs here)',
        tag: 'operations',
        answers: { 200: { type: 'text/plain; version=0.0.4', description: 'Prometheus text exposition' } },
        handler: async ({ req }) => {
          if (deps.metrics?.mode === 'token') {
            const token = await tokenFrom(deps.tokens, req);
            if (!token || !grants(token.scopes, 'read')) throw unauthenticated('metrics need a token with scope read (METRICS=token)', 'header.authorization');
          }
          return { text: { type: 'text/plain; version=0.0.4', body: await metricsText(deps.metrics?.sdkMetricsUrl) } };
        },
      }),
    );
  }
  return routes;
}
