/* The API client's session handling across tabs. jsdom has neither the Web Locks API nor tabs, so two
 * Client objects play two tabs: they share a store (localStorage, or nothing when it is blocked), a
 * message bus that delivers like BroadcastChannel (asynchronously, to every other tab) and a lock that
 * grants like navigator.locks (one holder at a time, in request order). The real browser path runs in
 * Chromium in tests/e2e/test_security.py. fetch is the only network stand-in: it answers like the API. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Client, SESSION_KEY, type TabChannel, type TabLocks } from "../lib/api";
import { browserStore, memoryStore, type KeyValueStore } from "../lib/storage";

type Message = Parameters<TabChannel["postMessage"]>[0];

function bus() {
  const tabs: ((event: MessageEvent<Message>) => void)[][] = [];
  return (): TabChannel => {
    const listeners: ((event: MessageEvent<Message>) => void)[] = [];
    tabs.push(listeners);
    return {
      postMessage(message) {
        for (const other of tabs) {
          if (other === listeners) continue;
          setTimeout(() => other.forEach((l) => l({ data: structuredClone(message) } as MessageEvent<Message>)), 0);
        }
      },
      addEventListener(_type, listener) {
        listeners.push(listener);
      },
    };
  };
}

function oneLock(): TabLocks {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    request<T>(_name: string, callback: () => Promise<T>): Promise<T> {
      const run = tail.then(callback);
      tail = run.catch(() => undefined);
      return run;
    },
  };
}

function sharedStore(): KeyValueStore {
  return { ...memoryStore(), persistent: true };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

let refreshCalls: string[] = [];
let issued = 0;

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

beforeEach(() => {
  refreshCalls = [];
  issued = 0;
  vi.stubGlobal(
    "fetch",
    vi.fn(async (path: string, init?: RequestInit) => {
      if (path === "/auth/refresh") {
        const spent = JSON.parse(String(init?.body)).refresh_token as string;
        refreshCalls.push(spent);
        // Like the server without a reuse window: a spent token is refused.
        if (spent !== `refresh-${issued}`) return json({ error: "unauthorized", detail: "already used" }, 401);
        issued += 1;
        return json({ access_token: `access-${issued}`, refresh_token: `refresh-${issued}` });
      }
      if (path === "/auth/logout") return new Response(null, { status: 204 });
      return json({ error: "not_found", detail: "no such route" }, 404);
    }),
  );
});

afterEach(() => {
  vi.unstubAllGlobals();
});

function tabs(store: KeyValueStore = sharedStore()) {
  const channel = bus();
  const locks = oneLock();
  return () => new Client({ store, channel: channel(), locks });
}

describe("one refresh for all tabs", () => {
  it("spends the refresh token once when two tabs refresh at the same moment", async () => {
    const open = tabs();
    const a = open();
    a.setSession({ access: "access-0", refresh: "refresh-0" }, null);
    const b = open();
    expect(b.current()?.refresh).toBe("refresh-0"); // shared through storage

    const [fromA, fromB] = await Promise.all([a.refresh(), b.refresh()]);
    expect([fromA, fromB]).toEqual([true, true]);
    expect(refreshCalls).toEqual(["refresh-0"]);
    await settle();
    expect(a.current()).toEqual({ access: "access-1", refresh: "refresh-1" });
    expect(b.current()).toEqual({ access: "access-1", refresh: "refresh-1" });
  });

  it("also when storage is blocked: the waiting tab takes the tokens the other tab broadcast", async () => {
    const open = tabs(memoryStore());
    const a = open();
    a.setSession({ access: "access-0", refresh: "refresh-0" }, null);
    const b = open();
    await settle(); // b asked the open tabs for the session, a answered
    expect(b.current()?.refresh).toBe("refresh-0");

    await Promise.all([a.refresh(), b.refresh()]);
    expect(refreshCalls).toEqual(["refresh-0"]);
    await settle();
    expect(b.current()?.refresh).toBe("refresh-1");
  });

  it("shares one request between the callers of one tab", async () => {
    const a = tabs()();
    a.setSession({ access: "access-0", refresh: "refresh-0" }, null);
    await Promise.all([a.refresh(), a.refresh(), a.refresh()]);
    expect(refreshCalls).toEqual(["refresh-0"]);
  });

  it("ends the session in every tab when the refresh is refused", async () => {
    const open = tabs();
    const a = open();
    a.setSession({ access: "access-0", refresh: "stolen-and-spent" }, null);
    const b = open();
    expect(await a.refresh()).toBe(false);
    await settle();
    expect(a.current()).toBeNull();
    expect(b.current()).toBeNull();
    expect(b.endedBy).toBe("expiry");
  });

  it("signs every tab out on logout", async () => {
    const open = tabs();
    const a = open();
    a.setSession({ access: "access-0", refresh: "refresh-0" }, null);
    const b = open();
    await a.logout();
    await settle();
    expect(b.current()).toBeNull();
    expect(b.endedBy).toBe("logout");
  });
});

describe("blocked storage", () => {
  const original = Object.getOwnPropertyDescriptor(window, "localStorage")!;

  afterEach(() => {
    Object.defineProperty(window, "localStorage", original);
  });

  it("keeps the session in memory when every localStorage access throws", async () => {
    Object.defineProperty(window, "localStorage", {
      configurable: true,
      get() {
        throw new DOMException("The operation is insecure.", "SecurityError");
      },
    });
    const store = browserStore();
    expect(store.persistent).toBe(false);
    const client = new Client({ store, channel: null, locks: null });
    client.setSession({ access: "access-0", refresh: "refresh-0" }, null);
    expect(client.current()?.refresh).toBe("refresh-0");
    expect(store.get(SESSION_KEY)).toContain("refresh-0");
    expect(await client.refresh()).toBe(true);
    expect(client.current()?.refresh).toBe("refresh-1");
  });

  it("falls back to memory when writes start failing (quota, storage cleared by policy)", () => {
    const store = browserStore();
    expect(store.persistent).toBe(true);
    const setItem = vi.spyOn(Storage.prototype, "setItem").mockImplementation(() => {
      throw new DOMException("quota", "QuotaExceededError");
    });
    store.set("luna.x", "kept");
    setItem.mockRestore();
    expect(store.persistent).toBe(false);
    expect(store.get("luna.x")).toBe("kept");
  });
});
