import { useEffect, useState, type ReactNode } from "react";
import { Link, NavLink, useLocation } from "react-router";
import { api } from "../lib/api";
import { useAuth } from "../lib/auth";
import { fmtDateTime } from "../lib/format";
import { useI18n, type Key, type Lang } from "../lib/i18n";
import { useTenant } from "../lib/tenant";
import type { Health, Kpis } from "../lib/types";
import { useApi } from "../lib/useApi";
import { cx } from "./ui";

const NAV: { to: string; key: Key; admin?: boolean }[] = [
  { to: "/", key: "nav.home" },
  { to: "/prices", key: "nav.prices" },
  { to: "/consumption", key: "nav.meter" },
  { to: "/strategies", key: "nav.playbook" },
  { to: "/help", key: "nav.support" },
  { to: "/console", key: "nav.console", admin: true },
];

export function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <label className="flex items-center gap-1 text-sm">
      <span className="sr-only">{t("lang.label")}</span>
      <select
        aria-label={t("lang.label")}
        data-testid="lang-switch"
        value={lang}
        onChange={(e) => setLang(e.target.value as Lang)}
        className="rounded-md border border-line bg-raised px-2 py-1 text-sm"
      >
        <option value="de">DE</option>
        <option value="en">EN</option>
      </select>
    </label>
  );
}

export function ThemeToggle({ theme, onToggle }: { theme: "dark" | "light"; onToggle: () => void }) {
  const { t } = useI18n();
  const label = theme === "dark" ? t("theme.toLight") : t("theme.toDark");
  return (
    <button
      type="button"
      onClick={onToggle}
      aria-label={label}
      title={label}
      data-testid="theme-toggle"
      className="rounded-md border border-line bg-raised p-1.5 hover:border-accent"
    >
      {theme === "dark" ? (
        <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden>
          <circle cx="12" cy="12" r="4" />
          <path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4" />
        </svg>
      ) : (
        <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden>
          <path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z" />
        </svg>
      )}
    </button>
  );
}

export function Logo() {
  return (
    <svg width="28" height="28" viewBox="0 0 64 64" aria-hidden>
      <circle cx="32" cy="32" r="30" className="fill-raised" />
      <path d="M40 12a22 22 0 1 0 12 36A18 18 0 0 1 40 12z" fill="#fbbf24" />
    </svg>
  );
}

export function Footer({ signedIn }: { signedIn: boolean }) {
  const { t, locale } = useI18n();
  const tenant = useTenant();
  const health = useApi(() => api.get<Health>("/health"), "health", 30_000);
  const kpis = useApi(signedIn ? () => api.get<Kpis>("/kpis") : null, `footer-kpis-${signedIn}`, 60_000);
  const apiOk = !!health.data && !health.error;
  return (
    <footer className="mt-10 border-t border-line bg-card/60 text-xs text-muted" data-testid="footer">
      <div className="mx-auto flex max-w-7xl flex-wrap items-center justify-between gap-3 px-4 py-4">
        <dl className="flex flex-wrap items-center gap-x-5 gap-y-1">
          <div className="flex gap-1">
            <dt>{t("footer.version")}</dt>
            <dd data-testid="footer-version">{health.data?.version ?? "–"}</dd>
          </div>
          <div className="flex items-center gap-1">
            <dt>{t("footer.api")}</dt>
            <dd className="flex items-center gap-1" data-testid="footer-api">
              <span className={cx("inline-block h-2 w-2 rounded-full", apiOk ? "bg-good" : health.loading ? "bg-line" : "bg-bad")} aria-hidden />
              {health.loading && !health.data ? "…" : apiOk ? t("footer.apiOk") : t("footer.apiDown")}
            </dd>
          </div>
          {signedIn && (
            <div className="flex gap-1">
              <dt>{t("footer.freshness")}</dt>
              <dd data-testid="footer-freshness">
                {kpis.data?.readings_to ? fmtDateTime(kpis.data.readings_to, locale, tenant.timezone) : t("footer.noData")}
              </dd>
            </div>
          )}
        </dl>
        <nav aria-label="Legal" className="flex gap-4">
          <Link to="/imprint" className="hover:text-fg">{t("footer.imprint")}</Link>
          <Link to="/privacy" className="hover:text-fg">{t("footer.privacy")}</Link>
          <a href="mailto:support@luna-iems.example" className="hover:text-fg">{t("footer.support")}</a>
        </nav>
      </div>
    </footer>
  );
}

export function Layout({ children, theme, onToggleTheme }: { children: ReactNode; theme: "dark" | "light"; onToggleTheme: () => void }) {
  const { t } = useI18n();
  const { claims, isAdmin, logout } = useAuth();
  const tenant = useTenant();
  const [open, setOpen] = useState(false);
  const location = useLocation();
  useEffect(() => setOpen(false), [location.pathname]);
  const items = NAV.filter((item) => !item.admin || isAdmin);
  const links = (
    <ul className="flex flex-col gap-1 md:flex-row md:items-center">
      {items.map((item) => (
        <li key={item.to}>
          <NavLink
            to={item.to}
            end={item.to === "/"}
            className={({ isActive }) =>
              cx("block rounded-md px-3 py-2 text-sm font-medium", isActive ? "bg-raised text-fg" : "text-muted hover:text-fg")
            }
          >
            {t(item.key)}
          </NavLink>
        </li>
      ))}
    </ul>
  );
  return (
    <div className="flex min-h-screen flex-col">
      <a href="#main" className="skip-link rounded-md bg-accent px-3 py-2 text-accent-fg">{t("skip")}</a>
      <header className="sticky top-0 z-30 border-b border-line bg-card/90 backdrop-blur">
        <div className="mx-auto flex max-w-7xl items-center gap-3 px-4 py-2">
          <Link to="/" className="flex items-center gap-2 font-semibold">
            <Logo />
            <span>Luna</span>
          </Link>
          <nav aria-label={t("nav.main")} className="ml-4 hidden md:block">{links}</nav>
          <div className="ml-auto flex items-center gap-2">
            <LanguageSwitch />
            <ThemeToggle theme={theme} onToggle={onToggleTheme} />
            <div className="hidden text-right text-xs leading-tight lg:block">
              <div className="font-medium" data-testid="user-email">{claims?.email}</div>
              <div className="text-muted">
                {tenant.name || claims?.tenant} · {isAdmin ? t("user.role.admin") : t("user.role.customer")}
              </div>
            </div>
            <button
              type="button"
              onClick={() => void logout()}
              className="rounded-md px-2 py-1.5 text-sm text-muted hover:text-fg"
              data-testid="logout"
            >
              {t("user.logout")}
            </button>
            <button
              type="button"
              className="rounded-md border border-line p-1.5 md:hidden"
              aria-expanded={open}
              aria-controls="mobile-nav"
              aria-label={t("nav.menu")}
              onClick={() => setOpen((v) => !v)}
            >
              <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden>
                <path d="M3 6h18M3 12h18M3 18h18" />
              </svg>
            </button>
          </div>
        </div>
        {open && (
          <nav id="mobile-nav" aria-label={t("nav.main")} className="border-t border-line px-4 py-2 md:hidden">
            {links}
          </nav>
        )}
      </header>
      <main id="main" tabIndex={-1} className="mx-auto w-full max-w-7xl flex-1 px-4 py-6">
        {children}
      </main>
      <Footer signedIn />
    </div>
  );
}
