import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';

/** dist/src/http → dist/console, where `npm run build` puts the console (tools/console/build.ts). */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

/**
 * The console's pages are static and hold no data: everything they show comes from the API, asked with the
 * token the person signs in with (kept in the tab's sessionStorage, sent as a header, never in a URL).
 * Served with a strict policy: scripts, styles, fonts and calls from this origin only (no inline script, no
 * eval), never framed, no MIME sniffing, no referrer. Assets carry a content hash in their names, so they
 * are cached for good; the page itself is asked for anew each time. Any other path under /console is the
 * page too (its router shows the right view), except under /console/assets, where a missing file is a 404.
 */
export function serveConsole(dir = CONSOLE_DIR): RequestHandler[] {
  const indexFile = join(dir, 'index.html');
  const page = existsSync(indexFile) ? readFileSync(indexFile, 'utf8') : null;
  const headers = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'font-src': ["'self'"],
        'img-src': ["'self'"],
        'connect-src': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  const assets = express.static(dir, {
    index: false,
    fallthrough: true,
    setHeaders: (res, path) => res.set('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
  });
  const fallback = (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path.startsWith('/assets/')) return void res.status(404).type('text/plain').send('no such console asset');
    if (!page) return void res.status(503).type('text/plain').send('The console is not built: run `npm run build` (npm start and npm test do), then restart.');
    res.set('cache-control', 'no-cache').type('html').send(page);
  };
  return [headers, assets, fallback];
}
