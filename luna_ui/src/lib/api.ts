/* The one HTTP client: bearer token, errors as {error, detail}, and one refresh for all tabs: tabs share
 * the session (localStorage, or a BroadcastChannel when the browser blocks storage) and refresh under a
 * Web Lock, so a second tab takes the first one's new tokens instead of spending the same refresh token
 * again. The server forgives a same-browser race anyway (a short reuse window); anything else is theft. */
import { storage as browserStorage, type KeyValueStore } from "./storage";

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

export const SESSION_KEY = "luna.session";
export const SESSION_CHANNEL = "luna.session";
export const REFRESH_LOCK = "luna.refresh";
const ASK_WAIT_MS = 150;

export function decodeClaims(token: string): Claims {
  const part = token.split(".")[1];
  if (!part) throw new Error("not a JWT");
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
  return JSON.parse(json) as Claims;
}

type Listener = (session: Session | null) => void;
type EndedBy = "logout" | "expiry" | null;

/** What a tab tells the others: its session changed, or (a new tab) that it would like the current one. */
type TabMessage = { type: "session"; session: Session | null; endedBy: EndedBy } | { type: "ask" };

/** The part of BroadcastChannel the client uses. */
export interface TabChannel {
  postMessage(message: TabMessage): void;
  addEventListener(type: "message", listener: (event: MessageEvent<TabMessage>) => void): void;
}

/** The part of the Web Locks API the client uses (navigator.locks): one holder per name across tabs. */
export interface TabLocks {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export interface ClientOptions {
  store?: KeyValueStore;
  channel?: TabChannel | null;
  locks?: TabLocks | null;
}

function defaultChannel(): TabChannel | null {
  try {
    return typeof BroadcastChannel === "undefined" ? null : (new BroadcastChannel(SESSION_CHANNEL) as TabChannel);
  } catch {
    return null;
  }
}

function defaultLocks(): TabLocks | null {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  // The lock is held until the callback's promise settles; its result is the request's result.
  return locks ? { request: <T,>(name: string, callback: () => Promise<T>) => locks.request(name, callback) as Promise<T> } : null;
}

function parseSession(raw: string | null): Session | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Session;
    return typeof value?.access === "string" && typeof value?.refresh === "string" ? value : null;
  } catch {
    return null;
  }
}

export class Client {
  private session: Session | null;
  /** The tenant a platform admin acts on in the console (sent as X-Luna-Tenant); null: their own. */
  private actingTenant: string | null = null;
  private refreshing: Promise<boolean> | null = null;
  private listeners = new Set<Listener>();
  private readonly store: KeyValueStore;
  private readonly channel: TabChannel | null;
  private readonly locks: TabLocks | null;
  /** Why the last session ended: the user signed out, or it could no longer be refreshed. */
  endedBy: EndedBy = null;

  constructor(options: ClientOptions = {}) {
    this.store = options.store ?? browserStorage;
    this.channel = options.channel !== undefined ? options.channel : defaultChannel();
    this.locks = options.locks !== undefined ? options.locks : defaultLocks();
    this.session = parseSession(this.store.get(SESSION_KEY));
    this.channel?.addEventListener("message", (event) => this.onMessage(event.data));
    if (!options.store && typeof window !== "undefined") {
      // Another tab wrote the session (login, refresh, logout).
      window.addEventListener("storage", (event) => {
        if (event.key === SESSION_KEY) this.adopt(parseSession(event.newValue), event.newValue ? null : "logout");
      });
    }
    // Without shared storage a new tab asks the open ones for their session.
    if (!this.session && !this.store.persistent) this.channel?.postMessage({ type: "ask" });
  }

  current(): Session | null {
    return this.session;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sets the session of this tab and tells the others. */
  setSession(session: Session | null, endedBy: EndedBy = this.endedBy): void {
    this.session = session;
    this.endedBy = endedBy;
    if (session) this.store.set(SESSION_KEY, JSON.stringify(session));
    else this.store.remove(SESSION_KEY);
    this.channel?.postMessage({ type: "session", session, endedBy });
    this.listeners.forEach((l) => l(session));
  }

  /** A session another tab set: taken as it is, not passed on again. */
  private adopt(session: Session | null, endedBy: EndedBy): void {
    if (JSON.stringify(session) === JSON.stringify(this.session)) return;
    this.session = session;
    if (!session) this.endedBy = endedBy;
    else this.endedBy = null;
    this.listeners.forEach((l) => l(session));
  }

  /** Without shared storage a tab that refreshed before us can only tell us by message: ask, and wait a
   * moment for a session newer than the one we would spend (a single tab waits ASK_WAIT_MS in vain). */
  private askOtherTabs(spent: string | null): Promise<void> {
    const channel = this.channel;
    if (!channel) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        window.clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      const check: Listener = (session) => {
        if (session && session.refresh !== spent) done();
      };
      const timer = window.setTimeout(done, ASK_WAIT_MS);
      this.listeners.add(check);
      channel.postMessage({ type: "ask" });
    });
  }

  private onMessage(message: TabMessage): void {
    if (message.type === "ask") {
      if (this.session) this.channel?.postMessage({ type: "session", session: this.session, endedBy: null });
    } else if (message.type === "session") {
      this.adopt(message.session, message.endedBy);
    }
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
    this.setSession(session, null);
    return session;
  }

  async logout(): Promise<void> {
    const session = this.session;
    this.setSession(null, "logout");
    if (session) {
      await fetch("/auth/logout", {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: session.refresh }),
      }).catch(() => undefined);
    }
  }

  /** Rotates the refresh token once for every caller in every tab: callers in this tab share one
   * promise, tabs take turns under a Web Lock, and a tab that waited takes the tokens the other got. */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      const spent = this.session?.refresh ?? null;
      const run = () => this.doRefresh(spent);
      this.refreshing = (this.locks ? this.locks.request(REFRESH_LOCK, run) : run()).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(spent: string | null): Promise<boolean> {
    if (this.store.persistent) {
      const shared = parseSession(this.store.get(SESSION_KEY));
      if (shared && shared.refresh !== spent) {
        this.adopt(shared, null);
        return true;
      }
    }
    if (!this.store.persistent) await this.askOtherTabs(spent);
    if (this.session && this.session.refresh !== spent) return true; // another tab refreshed first
    const session = this.session;
    if (!session) return false;
    try {
      const response = await fetch("/auth/refresh", {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: session.refresh }),
      });
      if (!response.ok) {
        this.setSession(null, "expiry");
        return false;
      }
      const data = (await response.json()) as { access_token: string; refresh_token: string };
      this.setSession({ access: data.access_token, refresh: data.refresh_token }, null);
      return true;
    } catch {
      return false;
    }
  }

  /** Only the console sets this, for platform admins; the server checks the right on every request. */
  actAs(tenantId: string | null): void {
    this.actingTenant = tenantId;
  }

  private tenantHeader(): Record<string, string> {
    return this.actingTenant ? { "X-Luna-Tenant": this.actingTenant } : {};
  }

  async request<R>(method: string, path: string, body?: unknown): Promise<R> {
    const send = () =>
      fetch(path, {
        method,
        headers: {
          Accept: "application/json",
          ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
          ...(this.session ? { Authorization: `Bearer ${this.session.access}` } : {}),
          ...this.tenantHeader(),
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
      for (const [name, value] of Object.entries(this.tenantHeader())) xhr.setRequestHeader(name, value);
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
