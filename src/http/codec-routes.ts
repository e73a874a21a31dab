import express, { type NextFunction, type Request, type Response } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { parse, Problem, sendProblem } from './problem.js';

/**
 * Decides whether a request may use the codec endpoint. This is the hook for operator API tokens: the endpoint
 * decrypts history, so in production it must only answer operators. Preflight (OPTIONS) requests are never
 * passed to it, as browsers send them without credentials.
 */
export type CodecAuthorize = (req: Request) => Promise<boolean> | boolean;

export interface CodecRouterOptions {
  /** Origins of the Temporal UI allowed to call from a browser (CORS); default http://localhost:8233. */
  uiOrigins?: string[];
  /** Default: every request is allowed. */
  authorize?: CodecAuthorize;
}

const ALLOWED_HEADERS = 'content-type, x-namespace, authorization';

/** A payload in proto3 JSON, as the Temporal UI and CLI send it: metadata values and data are base64. */
const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
export const codecRequest = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), base64).nullish(), data: base64.nullish() })).max(10_000).default([]),
});
type JsonPayload = z.infer<typeof codecRequest>['payloads'][number];

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/**
 * The Temporal codec server protocol (https://docs.temporal.io/codec-server): `POST /decode` and `POST /encode`
 * take `{payloads: [...]}` and answer the same shape, run through the payload codec. The UI sends an
 * `X-Namespace` header; one key set serves the deployment's namespace, so it is not used to pick keys.
 * Point the UI at it with `--ui-codec-endpoint http://<api>/codec` (the dev stack does) or in the UI's settings.
 */
export function codecRouter(codec: PayloadCodec, opts: CodecRouterOptions = {}) {
  const origins = new Set(opts.uiOrigins?.length ? opts.uiOrigins : ['http://localhost:8233']);
  const authorize = opts.authorize ?? (() => true);
  const router = express.Router();

  router.use((req: Request, res: Response, next: NextFunction) => {
    res.vary('Origin');
    const origin = req.get('origin');
    if (origin && origins.has(origin)) {
      res.set('access-control-allow-origin', origin);
      res.set('access-control-allow-credentials', 'true');
    }
    if (req.method === 'OPTIONS') {
      if (origin && origins.has(origin)) {
        res.set('access-control-allow-methods', 'POST, OPTIONS');
        res.set('access-control-allow-headers', ALLOWED_HEADERS);
        res.set('access-control-max-age', '600');
      }
      res.status(204).end();
      return;
    }
    next();
  });

  router.use(async (req: Request, res: Response, next: NextFunction) => {
    try {
      if (await authorize(req)) return next();
      sendProblem(res, new Problem(401, 'Unauthorized', 'the codec endpoint decrypts workflow history and needs an operator token'));
    } catch (err) {
      next(err);
    }
  });

  router.use(express.json({ limit: '8mb' }));

  const handle = (op: 'encode' | 'decode') => async (req: Request, res: Response) => {
    if (!req.is('application/json')) throw new Problem(415, 'Unsupported Media Type', 'send {"payloads": [...]} as application/json', { field: 'content-type' });
    const { payloads } = parse(codecRequest, req.body);
    let out: Payload[];
    try {
      out = await codec[op](payloads.map(fromJson));
    } catch (err) {
      throw new Problem(422, 'Unprocessable Content', `could not ${op} the payloads: ${(err as Error).message}`);
    }
    res.json({ payloads: out.map(toJson) });
  };
  router.post('/decode', handle('decode'));
  router.post('/encode', handle('encode'));
  return router;
}
