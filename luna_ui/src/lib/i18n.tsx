/* A small typed dictionary: English is the source, German must have every key (the compiler checks). */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { de } from "./i18n.de";
import { en } from "./i18n.en";
import { storage } from "./storage";

export type Key = keyof typeof en;
export type Lang = "en" | "de";

export const dictionaries: Record<Lang, Record<Key, string>> = { en, de };
export const LANG_STORAGE_KEY = "luna.lang";

export function translate(lang: Lang, key: Key, params?: Record<string, string | number>): string {
  const text = dictionaries[lang][key] ?? en[key];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** The stored choice wins; otherwise the browser's first preference decides. */
export function initialLang(stored: string | null, browser: readonly string[]): Lang {
  if (stored === "de" || stored === "en") return stored;
  const first = browser.find(Boolean) ?? "en";
  return first.toLowerCase().startsWith("de") ? "de" : "en";
}

export type T = (key: Key, params?: Record<string, string | number>) => string;

interface I18n {
  lang: Lang;
  locale: string;
  setLang: (lang: Lang) => void;
  t: T;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(() =>
    initialLang(storage.get(LANG_STORAGE_KEY), navigator.languages?.length ? navigator.languages : [navigator.language]),
  );
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const setLang = useCallback((next: Lang) => {
    storage.set(LANG_STORAGE_KEY, next);
    setLangState(next);
  }, []);
  const value = useMemo<I18n>(
    () => ({ lang, locale: lang === "de" ? "de-DE" : "en-GB", setLang, t: (key, params) => translate(lang, key, params) }),
    [lang, setLang],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const found = useContext(I18nContext);
  if (!found) throw new Error("useI18n outside I18nProvider");
  return found;
}
