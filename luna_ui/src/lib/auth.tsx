import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
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

export function AuthProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(() => api.current());
  useEffect(() => {
    const unsubscribe = api.subscribe(setSession);
    // A session that arrived between the first render and this effect (another tab's answer to
    // "ask" when storage is blocked) sent no notice we could hear: read it now.
    setSession(api.current());
    return unsubscribe;
  }, []);
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
