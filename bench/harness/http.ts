import http from 'node:http';

/**
 * The benchmark client's HTTP: node:http with a keep-alive agent. got or fetch would do, but they cost several
 * times the CPU per request, and the client shares the 2 cores with the system it measures.
 */

export interface Reply {
  status: number;
  text: string;
  ms: number;
  headers: http.IncomingHttpHeaders;
  json<T = any>(): T;
}

export class Http {
  private readonly agent: http.Agent;
  private readonly url: URL;

  /** sent with every request (the API token, Jira credentials) */
  headers: Record<string, string> = {};

  constructor(readonly base: string, maxSockets = 256) {
    this.url = new URL(base);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  /**
   * One request. A reset on a reused keep-alive socket (the server closed it as idle just as it was reused) is
   * sent once more on a new one, as HTTP clients do: the request never reached the server.
   */
  async request(method: string, path: string, opts: { json?: unknown; body?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Reply> {
    try {
      return await this.send(method, path, opts);
    } catch (err) {
      if ((err as NodeJS.ErrnoException & { reusedSocket?: boolean }).reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET') return this.send(method, path, opts);
      throw err;
    }
  }

  private send(method: string, path: string, opts: { json?: unknown; body?: string; headers?: Record<string, string>; timeoutMs?: number }): Promise<Reply> {
    const body = opts.body ?? (opts.json !== undefined ? JSON.stringify(opts.json) : undefined);
    const headers: Record<string, string | number> = { accept: 'application/json', ...this.headers, ...opts.headers };
    if (body !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const started = performance.now();
    return new Promise((resolvePromise, reject) => {
      const req = http.request({ host: this.url.hostname, port: this.url.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolvePromise({
            status: res.statusCode ?? 0,
            text,
            ms: performance.now() - started,
            headers: res.headers,
            json: () => JSON.parse(text),
          });
        });
        res.on('error', reject);
      });
      req.setTimeout(opts.timeoutMs ?? 60_000, () => req.destroy(new Error(`${method} ${path}: no answer within ${opts.timeoutMs ?? 60_000} ms`)));
      req.on('error', (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  get = (path: string, opts?: { timeoutMs?: number }) => this.request('GET', path, opts);
  post = (path: string, json?: unknown) => this.request('POST', path, json === undefined ? {} : { json });
  put = (path: string, json: unknown) => this.request('PUT', path, { json });
  patch = (path: string, json: unknown) => this.request('PATCH', path, { json });
  delete = (path: string) => this.request('DELETE', path);

  /** The request, which must answer 2xx; otherwise an error naming the call and its answer. */
  async ok(method: string, path: string, json?: unknown): Promise<Reply> {
    const r = await this.request(method, path, json === undefined ? {} : { json });
    if (r.status < 200 || r.status >= 300) throw new Error(`${method} ${this.base}${path} answered ${r.status}: ${r.text.slice(0, 500)}`);
    return r;
  }

  close(): void {
    this.agent.destroy();
  }
}
