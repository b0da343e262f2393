import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "./api";

export interface Loaded<R> {
  data: R | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  /** The route does not exist on this server (a module not deployed yet). */
  missing: boolean;
  reload: () => void;
  updatedAt: Date | undefined;
}

/**
 * Loads `load()` whenever `key` changes, optionally again every `pollMs` without clearing what is
 * shown (so a live view refreshes in place). A stale answer never overwrites a newer one.
 */
export function useApi<R>(load: (() => Promise<R>) | null, key: string, pollMs?: number): Loaded<R> {
  const [state, setState] = useState<Omit<Loaded<R>, "reload" | "missing">>({
    data: undefined,
    error: undefined,
    loading: load !== null,
    updatedAt: undefined,
  });
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback((quiet: boolean) => {
    const fn = loadRef.current;
    if (!fn) return;
    const mine = ++generation.current;
    if (!quiet) setState((s) => ({ ...s, loading: true, error: undefined }));
    fn().then(
      (data) => {
        if (mine === generation.current) setState({ data, error: undefined, loading: false, updatedAt: new Date() });
      },
      (error: Error) => {
        if (mine === generation.current) setState((s) => ({ ...s, error, loading: false }));
      },
    );
  }, []);

  useEffect(() => {
    if (!loadRef.current) {
      setState({ data: undefined, error: undefined, loading: false, updatedAt: undefined });
      return;
    }
    setState({ data: undefined, error: undefined, loading: true, updatedAt: undefined });
    run(true);
    if (!pollMs) return;
    const timer = window.setInterval(() => {
      if (document.visibilityState !== "hidden") run(true);
    }, pollMs);
    return () => window.clearInterval(timer);
  }, [key, pollMs, run]);

  const missing = state.error instanceof ApiError && (state.error.status === 404 || state.error.status === 405);
  return { ...state, missing, reload: () => run(false) };
}
