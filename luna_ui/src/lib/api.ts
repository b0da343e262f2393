/* The one HTTP client: bearer token, one shared refresh on 401, errors as {error, detail}. */

export interface Session {
  access: string;
  refresh: string;
}

export interface Claims {
  sub: string;
  tenant: string;
  role: "admin" | "customer";
  platform: boolean;
  email: string | null;
  exp: number;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    detail: string,
    public retryAfter: number | null = null,
  ) {
    super(detail);
  }
}

const SESSION_KEY = "luna.session";

export function decodeClaims(token: string): Claims {
  const part = token.split(".")[1];
  if (!part) throw new Error("not a JWT");
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
  return JSON.parse(json) as Claims;
}

type Listener = (session: Session | null) => void;

class Client {
  private session: Session | null = null;
  private refreshing: Promise<boolean> | null = null;
  private listeners = new Set<Listener>();
  /** Why the last session ended: the user signed out, or it could no longer be refreshed. */
  endedBy: "logout" | "expiry" | null = null;

  constructor() {
    try {
      const raw = localStorage.getItem(SESSION_KEY);
      this.session = raw ? (JSON.parse(raw) as Session) : null;
    } catch {
      this.session = null;
    }
  }

  current(): Session | null {
    return this.session;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setSession(session: Session | null): void {
    this.session = session;
    if (session) localStorage.setItem(SESSION_KEY, JSON.stringify(session));
    else localStorage.removeItem(SESSION_KEY);
    this.listeners.forEach((l) => l(session));
  }

  async login(email: string, password: string): Promise<Session> {
    const body = new URLSearchParams({ username: email, password });
    const response = await fetch("/auth/token", {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body,
    });
    if (!response.ok) throw await toError(response);
    const data = (await response.json()) as { access_token: string; refresh_token: string };
    const session = { access: data.access_token, refresh: data.refresh_token };
    this.endedBy = null;
    this.setSession(session);
    return session;
  }

  async logout(): Promise<void> {
    const session = this.session;
    this.endedBy = "logout";
    this.setSession(null);
    if (session) {
      await fetch("/auth/logout", {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: session.refresh }),
      }).catch(() => undefined);
    }
  }

  /** Rotates the refresh token; concurrent callers share one request (a reused token ends the session). */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const session = this.session;
    if (!session) return false;
    try {
      const response = await fetch("/auth/refresh", {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: session.refresh }),
      });
      if (!response.ok) {
        this.endedBy = "expiry";
        this.setSession(null);
        return false;
      }
      const data = (await response.json()) as { access_token: string; refresh_token: string };
      this.setSession({ access: data.access_token, refresh: data.refresh_token });
      return true;
    } catch {
      return false;
    }
  }

  async request<R>(method: string, path: string, body?: unknown): Promise<R> {
    const send = () =>
      fetch(path, {
        method,
        headers: {
          Accept: "application/json",
          ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
          ...(this.session ? { Authorization: `Bearer ${this.session.access}` } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    let response = await send();
    if (response.status === 401 && this.session && (await this.refresh())) response = await send();
    if (!response.ok) throw await toError(response);
    if (response.status === 204) return undefined as R;
    return (await response.json()) as R;
  }

  get<R>(path: string, params?: Record<string, string | number | boolean | null | undefined>): Promise<R> {
    return this.request<R>("GET", withQuery(path, params));
  }

  /** Multipart upload with progress (fetch has no upload progress events; XMLHttpRequest does). */
  upload<R>(path: string, file: File, onProgress: (fraction: number) => void): Promise<{ status: number; body: R }> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      xhr.setRequestHeader("Accept", "application/json");
      if (this.session) xhr.setRequestHeader("Authorization", `Bearer ${this.session.access}`);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      };
      xhr.onerror = () => reject(new ApiError(0, "network", "upload failed: the server cannot be reached"));
      xhr.onload = () => {
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(xhr.responseText);
        } catch {
          parsed = null;
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(1);
          resolve({ status: xhr.status, body: parsed as R });
        } else {
          const error = (parsed ?? {}) as { error?: string; detail?: string };
          reject(new ApiError(xhr.status, error.error ?? "error", error.detail ?? `HTTP ${xhr.status}`));
        }
      };
      const form = new FormData();
      form.append("file", file);
      xhr.send(form);
    });
  }
}

export function withQuery(path: string, params?: Record<string, string | number | boolean | null | undefined>): string {
  if (!params) return path;
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

async function toError(response: Response): Promise<ApiError> {
  let code = "error";
  let detail = `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as { error?: string; detail?: string };
    code = body.error ?? code;
    detail = body.detail ?? detail;
  } catch {
    /* not JSON: keep the status line */
  }
  const retry = response.headers.get("Retry-After");
  return new ApiError(response.status, code, detail, retry ? Number(retry) : null);
}

export const api = new Client();
