/* localStorage when the browser allows it, else memory: with site data blocked (privacy settings, some
 * embedded browsers) every localStorage access throws, and the dashboard must still work for the tab. */

export interface KeyValueStore {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
  /** Writes reach other tabs (storage events) and survive a reload. */
  readonly persistent: boolean;
}

export function memoryStore(): KeyValueStore {
  const values = new Map<string, string>();
  return {
    get: (key) => values.get(key) ?? null,
    set: (key, value) => void values.set(key, value),
    remove: (key) => void values.delete(key),
    persistent: false,
  };
}

/** The browser's localStorage, falling back to memory for good once any access throws. */
export function browserStore(): KeyValueStore {
  const memory = memoryStore();
  let local: Storage | null = null;
  try {
    local = window.localStorage;
    local.setItem("luna.probe", "1");
    local.removeItem("luna.probe");
  } catch {
    local = null;
  }
  const store = {
    persistent: local !== null,
    get(key: string): string | null {
      if (local) {
        try {
          return local.getItem(key);
        } catch {
          fallBack();
        }
      }
      return memory.get(key);
    },
    set(key: string, value: string): void {
      if (local) {
        try {
          local.setItem(key, value);
          return;
        } catch {
          fallBack();
        }
      }
      memory.set(key, value);
    },
    remove(key: string): void {
      if (local) {
        try {
          local.removeItem(key);
          return;
        } catch {
          fallBack();
        }
      }
      memory.remove(key);
    },
  };
  function fallBack() {
    local = null;
    store.persistent = false;
  }
  return store;
}

/** The one store of the app (session, language, theme). */
export const storage: KeyValueStore = browserStore();
