import { z } from 'zod';
import { auditNote, route, type Route } from '../http/route.js';
import { id } from '../http/schemas.js';
import { CLOSING_REQUEST_STATUSES, instanceJson, type PrivacyRequestService } from './service.js';
import { actionAnswer, instanceAnswer, linkSchema, privacyRequestSchema, requestAnswer, statusPatchSchema, submitAnswer, submitDataSchema } from './schemas.js';

const date = (v: string | null | undefined) => (v ? new Date(v) : null);
const pr = { id };
const instance = { id, instance: id };
/** The Temporal message a status sends: closing statuses close the ticket workflows (approval starts them later, from the start queue). */
const closing = (status: string) => ((CLOSING_REQUEST_STATUSES as readonly string[]).includes(status) ? 'signal close' : undefined);

/** `/api/v1/privacy-request/**`: the upstream privacy product's requests and their Jira tickets. */
export function privacyRequestRoutes(service: PrivacyRequestService): Route[] {
  const requestJson = async (requestId: string) => {
    const r = await service.get(requestId);
    const instances = await service.instancesOf(requestId);
    return {
      id: r.id,
      request_type: r.requestType,
      status: r.status,
      submitted_at: r.submittedAt,
      approved_at: r.approvedAt,
      due_date: r.dueDate,
      policy_name: r.policyName,
      request_url: r.requestUrl,
      manual_tasks_completed_at: r.manualTasksCompletedAt,
      personal_data_erased_at: r.personalDataErasedAt ?? null,
      jira_tickets: instances.map(instanceJson),
    };
  };

  // Link, refresh and retry answer the instance as the workflow left it (an Update); 202 when the workflow
  // takes longer than the API waits, with the instance as it stands.
  const answered = ({ instance, settled }: Awaited<ReturnType<PrivacyRequestService['refresh']>>, message: string) => ({
    status: settled ? 200 : 202,
    body: { ...instanceJson(instance), message: settled ? message : `${message}: still in progress; the instance shows the result when it is done` },
  });
  const action = { 200: actionAnswer, 202: actionAnswer };

  return [
    route({
      method: 'post',
      path: '/api/v1/privacy-request',
      summary: 'Upsert a privacy request; approved commits one ticket instance per enabled connection, whose workflow is started right after',
      tag: 'privacy requests',
      body: privacyRequestSchema,
      answers: { 201: requestAnswer, 200: requestAnswer },
      problems: [503],
      handler: async ({ body: b, res }) => {
        auditNote(res, { targets: { privacy_request: b.id }, temporal: closing(b.status) });
        const { created } = await service.upsert({
          id: b.id,
          requestType: b.request_type,
          status: b.status,
          submittedAt: date(b.submitted_at),
          approvedAt: date(b.approved_at) ?? (b.status === 'approved' ? new Date() : null),
          dueDate: date(b.due_date),
          policyName: b.policy_name ?? null,
          identity: { email: b.identity?.email ?? null, phone: b.identity?.phone ?? null },
          requestUrl: b.request_url ?? null,
        });
        return { status: created ? 201 : 200, body: await requestJson(b.id) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/privacy-request/:id',
      summary: 'A request (no identity data) with its tickets',
      tag: 'privacy requests',
      params: pr,
      answers: { 200: requestAnswer },
      handler: async ({ params }) => ({ body: await requestJson(params.id) }),
    }),
    route({
      method: 'patch',
      path: '/api/v1/privacy-request/:id',
      summary: "Change a request's status",
      tag: 'privacy requests',
      params: pr,
      body: statusPatchSchema,
      answers: { 200: requestAnswer },
      problems: [503],
      handler: async ({ params, body, res }) => {
        auditNote(res, { temporal: closing(body.status) });
        await service.setStatus(params.id, body.status);
        return { body: await requestJson(params.id) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/privacy-request/:id/jira-tickets',
      summary: "The request's ticket instances",
      tag: 'privacy requests',
      params: pr,
      answers: { 200: z.array(instanceAnswer) },
      handler: async ({ params }) => ({ body: (await service.instances(params.id)).map(instanceJson) }),
    }),
    route({
      method: 'post',
      path: '/api/v1/privacy-request/:id/jira-tickets/link',
      summary: 'Track an existing ticket instead; answers the instance with its new ticket',
      tag: 'privacy requests',
      params: pr,
      body: linkSchema,
      answers: action,
      problems: [409, 502],
      audit: { temporal: 'update linkTicket' },
      handler: async ({ params, body, res }) => {
        auditNote(res, { targets: { ticket: body.ticket_key, connection: body.connection_key } });
        const result = await service.link(params.id, body.ticket_key, body.connection_key);
        auditNote(res, { targets: { instance: result.instance.instanceId } });
        return answered(result, `Tracking ${result.instance.ticketKey ?? body.ticket_key} for instance ${result.instance.instanceId}`);
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/privacy-request/:id/jira-tickets/:instance/submit-data',
      summary: "Submit the manual task's data (stored, then the workflow is told)",
      tag: 'privacy requests',
      params: instance,
      body: submitDataSchema,
      answers: { 202: submitAnswer },
      problems: [409],
      audit: { temporal: 'signal submitData' },
      handler: async ({ params, body, req }) => {
        const { signalled } = await service.submitData(params.id, params.instance, body.data);
        if (!signalled) req.log?.('warn', "data stored, workflow not signalled; the connection's tracker sends it again", { instanceId: params.instance });
        return { body: { instance_id: params.instance, data_submitted: true } };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/privacy-request/:id/jira-tickets/:instance/refresh',
      summary: 'Read the ticket from Jira now; answers the instance as that read left it',
      tag: 'privacy requests',
      params: instance,
      answers: action,
      problems: [409],
      audit: { temporal: 'update refreshNow' },
      handler: async ({ params }) => answered(await service.refresh(params.id, params.instance), 'Read from Jira just now'),
    }),
    route({
      method: 'post',
      path: '/api/v1/privacy-request/:id/jira-tickets/:instance/retry',
      summary: 'Retry a failed ticket creation; answers the instance, creating again',
      tag: 'privacy requests',
      params: instance,
      answers: action,
      problems: [409],
      audit: { temporal: 'update retryCreation' },
      handler: async ({ params }) => answered(await service.retry(params.id, params.instance), 'Creating the ticket again'),
    }),
  ];
}
