import { createContext, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from "react";
import { api, decodeClaims, type Claims, type Session } from "./api";

interface Auth {
  session: Session | null;
  claims: Claims | null;
  isAdmin: boolean;
  /** The session ended because it could not be refreshed (not by signing out). */
  expired: boolean;
  /** A stable key for per-user preferences (theme). */
  userKey: string;
  login: (email: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
}

const AuthContext = createContext<Auth | null>(null);

function claimsOf(session: Session | null): Claims | null {
  if (!session) return null;
  try {
    return decodeClaims(session.access);
  } catch {
    return null;
  }
}

const subscribeToSession = (onChange: () => void) => api.subscribe(onChange);
const currentSession = () => api.current();

export function AuthProvider({ children }: { children: ReactNode }) {
  // React's own store subscription: it re-reads the session after subscribing, so one that arrives
  // between the first render and the subscription (another tab's answer when storage is blocked) counts.
  const session = useSyncExternalStore(subscribeToSession, currentSession);
  const claims = useMemo(() => claimsOf(session), [session]);

  // Refresh a minute before the access token expires, so a page left open keeps working.
  useEffect(() => {
    if (!claims) return;
    const wait = Math.max(5_000, claims.exp * 1000 - Date.now() - 60_000);
    const timer = window.setTimeout(() => void api.refresh(), wait);
    return () => window.clearTimeout(timer);
  }, [claims]);

  const value = useMemo<Auth>(
    () => ({
      session,
      claims,
      isAdmin: !!claims && (claims.role === "admin" || claims.platform),
      expired: !session && api.endedBy === "expiry",
      userKey: claims ? `${claims.tenant}/${claims.sub}` : "anonymous",
      login: async (email, password) => {
        await api.login(email, password);
      },
      logout: () => api.logout(),
    }),
    [session, claims],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const found = useContext(AuthContext);
  if (!found) throw new Error("useAuth outside AuthProvider");
  return found;
}
