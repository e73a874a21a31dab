import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { $api, tokenStore, whenUnauthorized, type Answer } from './api/client';

export type Me = Answer<'/api/v1/me', 'get'>;
export type ServerInfo = Answer<'/api/v1/server', 'get'>;
export type Scope = Me['scopes'][number];

const RANK: Record<Scope, number> = { read: 0, write: 1, admin: 2 };
/** As the API decides: each scope includes the ones below it (admin ⊇ write ⊇ read). */
export const grants = (scopes: readonly Scope[], needed: Scope) => scopes.some((s) => RANK[s] >= RANK[needed]);

export interface Session {
  me: Me;
  server: ServerInfo;
  /** whether the token may do what needs `scope`: the pages show or disable their actions by it */
  can: (scope: Scope) => boolean;
  signOut: () => void;
}

const SessionContext = createContext<Session | null>(null);
export const useSession = (): Session => {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
};

/** The signed-in state: a token in sessionStorage, and what the API says it is. */
export function useSignIn() {
  const [token, setToken] = useState(tokenStore.get());
  const queries = useQueryClient();
  const signOut = useCallback(() => {
    tokenStore.clear();
    queries.clear();
    setToken(null);
  }, [queries]);
  useEffect(() => whenUnauthorized(signOut), [signOut]);
  const signIn = useCallback((t: string) => {
    tokenStore.set(t);
    setToken(t);
  }, []);
  return { token, signIn, signOut };
}

export function SessionProvider({ token, signOut, children, loading, failed }: { token: string; signOut: () => void; children: ReactNode; loading: ReactNode; failed: (detail: string) => ReactNode }) {
  const me = $api.useQuery('get', '/api/v1/me', {}, { retry: false, staleTime: 60_000 });
  const server = $api.useQuery('get', '/api/v1/server', {}, { retry: false, staleTime: 300_000 });
  const value = useMemo<Session | null>(
    () => (me.data && server.data ? { me: me.data, server: server.data, can: (scope) => grants(me.data.scopes, scope), signOut } : null),
    [me.data, server.data, signOut],
  );
  if (me.error || server.error) return <>{failed(String((me.error ?? server.error)?.detail ?? 'the API could not be reached'))}</>;
  if (!value) return <>{loading}</>;
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
