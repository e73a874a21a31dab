import express from 'express';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import type { Orm } from '../platform/db/orm.js';
import type { ConnectionKit } from '../connections/kit.js';
import type { Anomaly } from '../platform/db/entities.js';
import { AnomalyService, linkJson } from './service.js';
import { id, key, timestamp } from '../http/schemas.js';
import { parse } from '../http/problem.js';

const issueKey = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*-\d+$/, 'must be a Jira issue key such as SCRUM-40').transform((k) => k.toUpperCase());

export const anomalySchema = z
  .object({
    datastore_id: z.union([z.string().max(200), z.number().int()]).transform(String).nullish(),
    type: z.string().min(1).max(100),
    status: z.string().min(1).max(50),
    detected_at: timestamp.nullish(),
    failed_checks: z.array(z.string().max(2000)).max(100).default([]),
    url: z.url({ protocol: /^https?$/ }).max(2000).nullish(),
    connection_key: key.nullish(),
  })
  .strict();

export const createTicketSchema = z
  .object({
    title: z.string().trim().min(1, 'must not be empty').max(255),
    description: z.string().max(30_000).nullish(),
    priority: z.string().min(1).max(100).nullish(),
    connection_key: key.optional(),
  })
  .strict();

export const linkTicketSchema = z.object({ ticket_key: issueKey, connection_key: key.optional() }).strict();
export const anomalyStatusSchema = z.object({ status: z.string().trim().min(1).max(50), actor: z.string().max(200).optional() }).strict();
export const anomalyCommentSchema = z.object({ text: z.string().trim().min(1, 'must not be empty').max(10_000), author: z.string().trim().min(1).max(200) }).strict();
export const ticketSearchQuery = z
  .object({
    query: z.string().max(200).default(''),
    page: z.coerce.number().int().min(1).default(1),
    size: z.coerce.number().int().min(1).max(100).default(50),
    connection_key: key.optional(),
  })
  .strict();
export const connectionQuery = z.object({ connection_key: key.optional() }).strict();
export const ticketIdParam = z.string().regex(/^([A-Za-z][A-Za-z0-9_]*-\d+|\d+)$/, 'must be an issue id or key');

/** The id as the upstream sent it: numbers stay numbers in answers (the reference product's ids are numeric). */
const asGiven = (v: string) => (/^\d{1,15}$/.test(v) ? Number(v) : v);

function anomalyJson(a: Anomaly) {
  return {
    id: asGiven(a.id),
    datastore_id: a.datastoreId,
    type: a.type,
    status: a.status,
    detected_at: a.detectedAt,
    failed_checks: a.failedChecks,
    url: a.url,
    connection_key: a.connectionKey,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  };
}

/** `/api/anomalies/**` and `/api/integrations/ticketing/**`, in the shapes of the reference product. */
export function anomalyRouter(orm: Orm, temporal: Client, kit: ConnectionKit, settings: ConstructorParameters<typeof AnomalyService>[3]): express.Router {
  const service = new AnomalyService(orm, temporal, kit, settings);
  const r = express.Router();
  const anomalyId = (req: express.Request) => parse(id, req.params.anomaly_id, 'path');

  r.put('/anomalies/:anomaly_id', async (req, res) => {
    const b = parse(anomalySchema, req.body);
    const { created, anomaly } = await service.upsert({
      id: anomalyId(req),
      datastoreId: b.datastore_id ?? null,
      type: b.type,
      status: b.status,
      detectedAt: b.detected_at ? new Date(b.detected_at) : null,
      failedChecks: b.failed_checks,
      url: b.url ?? null,
      connectionKey: b.connection_key ?? null,
    });
    res.status(created ? 201 : 200).json(anomalyJson(anomaly));
  });

  r.get('/anomalies/:anomaly_id', async (req, res) => void res.json(anomalyJson(await service.get(anomalyId(req)))));

  r.post('/integrations/ticketing/anomalies/:anomaly_id/tickets', async (req, res) => {
    const id = anomalyId(req);
    const b = parse(createTicketSchema, req.body);
    const { ticket, connectionKey } = await service.createTicket(id, b);
    res.status(201).json({
      ticket,
      anomaly_id: asGiven(id),
      integration_id: connectionKey,
      message: `Ticket ${ticket.ticket_number} created and linked to anomaly ${id}`,
    });
  });

  r.get('/anomalies/:anomaly_id/ticket-links', async (req, res) => {
    res.json((await service.links(anomalyId(req))).map(linkJson));
  });

  r.post('/anomalies/:anomaly_id/ticket-links', async (req, res) => {
    const b = parse(linkTicketSchema, req.body);
    const { link, created } = await service.linkTicket(anomalyId(req), b.ticket_key, b.connection_key);
    res.status(created ? 201 : 200).json(linkJson(link));
  });

  r.delete('/anomalies/:anomaly_id/ticket-links/:link_id', async (req, res) => {
    const link = await service.unlink(anomalyId(req), String(req.params.link_id));
    res.status(202).json({ ...linkJson(link), state: link.state === 'unlinked' ? 'unlinked' : 'unlinking' });
  });

  r.post('/anomalies/:anomaly_id/ticket-links/:link_id/refresh', async (req, res) => {
    const { link, settled } = await service.refresh(anomalyId(req), String(req.params.link_id));
    res.status(settled ? 200 : 202).json(linkJson(link));
  });

  r.post('/anomalies/:anomaly_id/status', async (req, res) => {
    const b = parse(anomalyStatusSchema, req.body);
    const tickets = await service.statusChanged(anomalyId(req), b.status);
    res.status(202).json({ anomaly_id: asGiven(anomalyId(req)), status: b.status, tickets_notified: tickets });
  });

  r.post('/anomalies/:anomaly_id/comments', async (req, res) => {
    const b = parse(anomalyCommentSchema, req.body);
    const tickets = await service.comment(anomalyId(req), b.author, b.text);
    res.status(202).json({ anomaly_id: asGiven(anomalyId(req)), tickets_notified: tickets });
  });

  r.get('/integrations/ticketing/tickets/search', async (req, res) => {
    const q = parse(ticketSearchQuery, req.query, 'query');
    res.json(await service.search(q.query, q.page, q.size, q.connection_key));
  });

  r.get('/integrations/ticketing/tickets/:ticket_id', async (req, res) => {
    const q = parse(connectionQuery, req.query, 'query');
    res.json(await service.ticket(parse(ticketIdParam, req.params.ticket_id, 'path'), q.connection_key));
  });

  r.get('/integrations/ticketing/form-specification', async (req, res) => {
    const q = parse(connectionQuery, req.query, 'query');
    res.json(await service.formSpecification(q.connection_key));
  });

  return r;
}
