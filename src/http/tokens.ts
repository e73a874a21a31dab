import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Orm } from '../platform/db/orm.js';
import { ApiToken } from '../platform/db/entities.js';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface TokenInfo {
  id: string;
  name: string;
  scopes: Scope[];
}

/** Each scope includes the ones below it: admin can write, write can read. */
export function grants(scopes: readonly Scope[], needed: Scope): boolean {
  const rank = (s: Scope) => SCOPES.indexOf(s);
  return scopes.some((s) => rank(s) >= rank(needed));
}

const hash = (secret: string) => createHash('sha256').update(secret).digest();
/** How long a verified token is trusted without asking PostgreSQL again (revocation takes effect within it). */
const CACHE_MS = 10_000;

/**
 * API tokens `tf_<id>_<secret>`: the id finds the row, the secret is checked against its SHA-256 (a random
 * 256-bit secret needs no slow hash). Verified tokens are cached briefly so each request does not cost a query.
 */
export class ApiTokens {
  private readonly cache = new Map<string, { info: TokenInfo | null; until: number }>();

  constructor(private readonly orm: Orm) {}

  async create(name: string, scopes: Scope[]): Promise<{ id: string; token: string }> {
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    await this.orm.em.fork().insert(ApiToken, { id, name, scopes, secretHash: hash(secret).toString('hex') });
    return { id, token: `tf_${id}_${secret}` };
  }

  async verify(token: string): Promise<TokenInfo | null> {
    const cached = this.cache.get(token);
    if (cached && cached.until > Date.now()) return cached.info;
    const m = /^tf_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/.exec(token);
    let info: TokenInfo | null = null;
    if (m) {
      const em = this.orm.em.fork();
      const row = await em.findOne(ApiToken, { id: m[1]!, revokedAt: null });
      if (row && timingSafeEqual(Buffer.from(row.secretHash, 'hex'), hash(m[2]!))) {
        info = { id: row.id, name: row.name, scopes: row.scopes as Scope[] };
        void em.nativeUpdate(ApiToken, { id: row.id }, { lastUsedAt: new Date() }).catch(() => {});
      }
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(token, { info, until: Date.now() + CACHE_MS });
    return info;
  }

  async list(): Promise<Array<TokenInfo & { created_at: Date; last_used_at: Date | null; revoked_at: Date | null }>> {
    const rows = await this.orm.em.fork().find(ApiToken, {}, { orderBy: { createdAt: 'asc' } });
    return rows.map((t) => ({ id: t.id, name: t.name, scopes: t.scopes as Scope[], created_at: t.createdAt, last_used_at: t.lastUsedAt ?? null, revoked_at: t.revokedAt ?? null }));
  }

  async revoke(id: string): Promise<boolean> {
    return (await this.orm.em.fork().nativeUpdate(ApiToken, { id, revokedAt: null }, { revokedAt: new Date() })) > 0;
  }
}
