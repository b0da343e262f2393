import { useCallback, useEffect, useState } from "react";
import { storage } from "./storage";

export type Theme = "dark" | "light";

export function themeKey(userKey: string): string {
  return `luna.theme.${userKey}`;
}

/** Dark unless this user chose light before. */
export function storedTheme(userKey: string): Theme {
  return storage.get(themeKey(userKey)) === "light" ? "light" : "dark";
}

export function applyTheme(theme: Theme): void {
  document.documentElement.classList.toggle("dark", theme === "dark");
  document.documentElement.style.colorScheme = theme;
}

export function useTheme(userKey: string): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(() => storedTheme(userKey));
  useEffect(() => setTheme(storedTheme(userKey)), [userKey]);
  useEffect(() => applyTheme(theme), [theme]);
  const toggle = useCallback(() => {
    setTheme((current) => {
      const next: Theme = current === "dark" ? "light" : "dark";
      storage.set(themeKey(userKey), next);
      return next;
    });
  }, [userKey]);
  return [theme, toggle];
}
