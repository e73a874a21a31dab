import { z } from 'zod';
import { auditNote, route, type Route } from '../http/route.js';
import { id, maybeTime } from '../http/schemas.js';
import type { PersonalDataService } from './service.js';

const erasureAnswer = z
  .object({
    privacy_request_id: z.string(),
    erased_at: maybeTime,
    erased: z.object({ identity: z.array(z.enum(['email', 'phone'])), submitted_data: z.array(z.string()) }).strict(),
    tickets: z.array(
      z
        .object({
          instance_id: z.string(),
          connection_key: z.string(),
          ticket_key: z.string(),
          personal_fields: z.array(z.string()),
          jira_redaction: z.enum(['pending', 'done', 'ticket_gone', 'not_enabled']),
        })
        .strict(),
    ),
  })
  .strict();

/** `DELETE /api/v1/privacy-request/{id}/personal-data`: erasure on demand (admin). */
export function personalDataRoutes(personal: PersonalDataService): Route[] {
  return [
    route({
      method: 'delete',
      path: '/api/v1/privacy-request/:id/personal-data',
      summary:
        "Erase the request's personal data now (its identity and every submitted data; ids, states, ticket keys and times are kept); idempotent. Names the tickets rendered from personal variables, and redacts them in Jira where the connection asks for it",
      tag: 'privacy requests',
      params: { id },
      answers: { 200: erasureAnswer },
      problems: [503],
      handler: async ({ params, res }) => {
        const { redactionStarted, ...report } = await personal.erase(params.id);
        auditNote(res, { targets: { instance: report.erased.submitted_data, ticket: report.tickets.map((t) => t.ticket_key) }, temporal: redactionStarted ? 'start jiraRedaction' : undefined });
        return { body: report };
      },
    }),
  ];
}
