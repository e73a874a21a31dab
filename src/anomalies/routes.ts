import { z } from 'zod';
import type { Anomaly } from '../platform/db/entities.js';
import { linkJson, type AnomalyService } from './service.js';
import { answerTime } from './format.js';
import { id } from '../http/schemas.js';
import { route, type Route } from '../http/route.js';
import {
  anomalyAnswer,
  anomalyCommentSchema,
  anomalySchema,
  anomalyStatusSchema,
  connectionQuery,
  createdAnswer,
  createTicketSchema,
  formAnswer,
  linkAnswer,
  linkTicketSchema,
  notifiedAnswer,
  searchAnswer,
  ticketIdParam,
  ticketSearchQuery,
  ticketViewAnswer,
} from './schemas.js';

/** The id as the upstream sent it: numbers stay numbers in answers (the reference product's ids are numeric). */
const asGiven = (v: string) => (/^\d{1,15}$/.test(v) ? Number(v) : v);

function anomalyJson(a: Anomaly) {
  return {
    id: asGiven(a.id),
    datastore_id: a.datastoreId,
    type: a.type,
    status: a.status,
    detected_at: answerTime(a.detectedAt),
    failed_checks: a.failedChecks,
    url: a.url,
    connection_key: a.connectionKey,
    created_at: answerTime(a.createdAt),
    updated_at: answerTime(a.updatedAt),
  };
}

const anomaly = { anomaly_id: id };
const link = { anomaly_id: id, link_id: id };
/** Answers of the routes that call Jira: 409 while the connection is not configured, 502 when Jira fails. */
const viaJira = [409, 502];

/** `/api/anomalies/**` and `/api/integrations/ticketing/**`, in the shapes of the reference product. */
export function anomalyRoutes(service: AnomalyService): Route[] {
  return [
    route({
      method: 'put',
      path: '/api/anomalies/:anomaly_id',
      summary: 'Upsert an anomaly as the upstream knows it',
      tag: 'anomalies',
      params: anomaly,
      body: anomalySchema,
      answers: { 201: anomalyAnswer, 200: anomalyAnswer },
      handler: async ({ params, body: b }) => {
        const { created, anomaly: a } = await service.upsert({
          id: params.anomaly_id,
          datastoreId: b.datastore_id ?? null,
          type: b.type,
          status: b.status,
          detectedAt: b.detected_at ?? null,
          failedChecks: b.failed_checks,
          url: b.url ?? null,
          connectionKey: b.connection_key ?? null,
        });
        return { status: created ? 201 : 200, body: anomalyJson(a) };
      },
    }),
    route({
      method: 'get',
      path: '/api/anomalies/:anomaly_id',
      summary: 'An anomaly',
      tag: 'anomalies',
      params: anomaly,
      answers: { 200: anomalyAnswer },
      handler: async ({ params }) => ({ body: anomalyJson(await service.get(params.anomaly_id)) }),
    }),
    route({
      method: 'post',
      path: '/api/integrations/ticketing/anomalies/:anomaly_id/tickets',
      summary: 'Create a ticket for an anomaly and link it',
      tag: 'anomalies',
      params: anomaly,
      body: createTicketSchema,
      answers: { 201: createdAnswer },
      problems: viaJira,
      handler: async ({ params, body }) => {
        const { ticket, ...integration } = await service.createTicket(params.anomaly_id, body);
        return {
          body: { ticket, anomaly_id: asGiven(params.anomaly_id), ...integration, message: `Ticket ${ticket.ticket_number} created and linked to anomaly ${params.anomaly_id}` },
        };
      },
    }),
    route({
      method: 'get',
      path: '/api/anomalies/:anomaly_id/ticket-links',
      summary: "The anomaly's ticket links",
      tag: 'anomalies',
      params: anomaly,
      answers: { 200: z.array(linkAnswer) },
      handler: async ({ params }) => ({ body: (await service.links(params.anomaly_id)).map(linkJson) }),
    }),
    route({
      method: 'post',
      path: '/api/anomalies/:anomaly_id/ticket-links',
      summary: 'Link an existing ticket (linking it again changes nothing: 200)',
      tag: 'anomalies',
      params: anomaly,
      body: linkTicketSchema,
      answers: { 201: linkAnswer, 200: linkAnswer },
      problems: [...viaJira, 503],
      handler: async ({ params, body }) => {
        const { link: l, created } = await service.linkTicket(params.anomaly_id, body.ticket_key, body.connection_key);
        return { status: created ? 201 : 200, body: linkJson(l) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/anomalies/:anomaly_id/ticket-links/:link_id',
      summary: 'Unlink a ticket (it gets a last comment)',
      tag: 'anomalies',
      params: link,
      answers: { 202: linkAnswer },
      problems: [409],
      handler: async ({ params }) => {
        const l = await service.unlink(params.anomaly_id, params.link_id);
        return { body: { ...linkJson(l), state: l.state === 'unlinked' ? 'unlinked' : 'unlinking' } };
      },
    }),
    route({
      method: 'post',
      path: '/api/anomalies/:anomaly_id/ticket-links/:link_id/refresh',
      summary: 'Sync a link with Jira now; answers the link as it then is',
      tag: 'anomalies',
      params: link,
      answers: { 200: linkAnswer, 202: linkAnswer },
      problems: [409],
      handler: async ({ params }) => {
        const { link: l, settled } = await service.refresh(params.anomaly_id, params.link_id);
        return { status: settled ? 200 : 202, body: linkJson(l) };
      },
    }),
    route({
      method: 'post',
      path: '/api/anomalies/:anomaly_id/status',
      summary: "Comment the anomaly's new status on every linked ticket",
      tag: 'anomalies',
      params: anomaly,
      body: anomalyStatusSchema,
      answers: { 202: notifiedAnswer },
      handler: async ({ params, body }) => {
        const tickets = await service.statusChanged(params.anomaly_id, body.status);
        return { body: { anomaly_id: asGiven(params.anomaly_id), status: body.status, tickets_notified: tickets } };
      },
    }),
    route({
      method: 'post',
      path: '/api/anomalies/:anomaly_id/comments',
      summary: 'Comment on every linked ticket',
      tag: 'anomalies',
      params: anomaly,
      body: anomalyCommentSchema,
      answers: { 202: notifiedAnswer },
      handler: async ({ params, body }) => {
        const tickets = await service.comment(params.anomaly_id, body.author, body.text);
        return { body: { anomaly_id: asGiven(params.anomaly_id), tickets_notified: tickets } };
      },
    }),
    route({
      method: 'get',
      path: '/api/integrations/ticketing/tickets/search',
      summary: 'Search tickets by key or summary text',
      tag: 'anomalies',
      query: ticketSearchQuery,
      answers: { 200: searchAnswer },
      problems: viaJira,
      handler: async ({ query: q }) => ({ body: await service.search(q.query, q.page, q.size, q.connection_key) }),
    }),
    route({
      method: 'get',
      path: '/api/integrations/ticketing/tickets/:ticket_id',
      summary: 'One ticket',
      tag: 'anomalies',
      params: { ticket_id: ticketIdParam },
      query: connectionQuery,
      answers: { 200: ticketViewAnswer },
      problems: viaJira,
      handler: async ({ params, query }) => ({ body: await service.ticket(params.ticket_id, query.connection_key) }),
    }),
    route({
      method: 'get',
      path: '/api/integrations/ticketing/form-specification',
      summary: 'Fields of the create-ticket form',
      tag: 'anomalies',
      query: connectionQuery,
      answers: { 200: formAnswer },
      problems: viaJira,
      handler: async ({ query }) => ({ body: await service.formSpecification(query.connection_key) }),
    }),
  ];
}
