import express, { type NextFunction, type Request, type Response, type RequestHandler } from 'express';
import cors from 'cors';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { Problem, sendProblem } from './problem.js';
import { route, type Route } from './route.js';

/**
 * Decides whether a request may use the codec endpoint: it decrypts history, so in production it answers
 * operators only. Preflight (OPTIONS) requests never reach it, as browsers send them without credentials.
 */
export type CodecAuthorize = (req: Request) => Promise<boolean> | boolean;

export interface CodecRouterOptions {
  /** Origins of the Temporal UI allowed to call from a browser (CORS); default http://localhost:8233. */
  uiOrigins?: string[];
  /** Default: every request is allowed. */
  authorize?: CodecAuthorize;
}

/** A payload in proto3 JSON, as the Temporal UI and CLI send it: metadata values and data are base64. */
const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
const jsonPayload = z.object({ metadata: z.record(z.string(), base64).nullish(), data: base64.nullish() });
export const codecRequest = z.object({ payloads: z.array(jsonPayload).max(10_000).default([]) });
const codecAnswer = z.object({ payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()), data: z.string() }).strict()) }).strict();
type JsonPayload = z.infer<typeof jsonPayload>;

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/** What runs before the codec's routes: CORS for the Temporal UI (the `cors` middleware), the operator check, the JSON body. */
export function codecGate(opts: CodecRouterOptions = {}): RequestHandler[] {
  const origins = new Set(opts.uiOrigins?.length ? opts.uiOrigins : ['http://localhost:8233']);
  const authorize = opts.authorize ?? (() => true);
  return [
    cors({
      origin: (origin, done) => done(null, !!origin && origins.has(origin)),
      credentials: true,
      methods: ['POST', 'OPTIONS'],
      allowedHeaders: 'content-type, x-namespace, authorization',
      maxAge: 600,
    }),
    // A preflight from an origin that is not the UI's gets no grant (cors passes it on): answer it here.
    (req: Request, res: Response, next: NextFunction) => (req.method === 'OPTIONS' ? void res.status(204).end() : next()),
    async (req: Request, res: Response, next: NextFunction) => {
      try {
        if (await authorize(req)) return next();
        sendProblem(res, new Problem(401, 'Unauthorized', 'the codec endpoint decrypts workflow history and needs an operator token'));
      } catch (err) {
        next(err);
      }
    },
    express.json({ limit: '8mb' }),
  ];
}

/**
 * The Temporal codec server protocol (https://docs.temporal.io/codec-server): `POST /decode` and `POST /encode`
 * take `{payloads: [...]}` and answer the same shape, run through the payload codec. The UI sends an
 * `X-Namespace` header; one key set serves the deployment's namespace, so it is not used to pick keys.
 * Point the UI at it with `--ui-codec-endpoint http://<api>/codec` (the dev stack does) or in the UI's settings.
 */
export function codecRoutes(codec: PayloadCodec): Route[] {
  const handle = (op: 'encode' | 'decode') =>
    route({
      method: 'post',
      path: `/codec/${op}`,
      summary: `Temporal UI codec server: ${op === 'decode' ? 'decrypt' : 'encrypt'} payloads`,
      tag: 'operations',
      body: codecRequest,
      answers: { 200: codecAnswer },
      // encoding and decoding change nothing (reads over POST)
      audit: false,
      handler: async ({ body, req }) => {
        if (!req.is('application/json')) throw new Problem(415, 'Unsupported Media Type', 'send {"payloads": [...]} as application/json', { field: 'content-type' });
        let out: Payload[];
        try {
          out = await codec[op](body.payloads.map(fromJson));
        } catch (err) {
          throw new Problem(422, 'Unprocessable Content', `could not ${op} the payloads: ${(err as Error).message}`);
        }
        return { body: { payloads: out.map(toJson) } };
      },
    });
  return [handle('decode'), handle('encode')];
}
