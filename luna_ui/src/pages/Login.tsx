import { useState, type FormEvent } from "react";
import { ApiError } from "../lib/api";
import { useI18n, type T } from "../lib/i18n";
import { Button, inputClass } from "../components/ui";
import { LanguageSwitch, Logo, ThemeToggle } from "../components/Layout";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The message for a failed sign-in; exported for the component tests. */
export function loginErrorMessage(error: unknown, t: T): string {
  if (error instanceof ApiError) {
    if (error.status === 429) return t("login.locked", { minutes: Math.max(1, Math.ceil((error.retryAfter ?? 60) / 60)) });
    if (error.status === 401 || error.status === 422) return t("login.failed");
  }
  return t("login.unreachable");
}

interface Props {
  onLogin: (email: string, password: string) => Promise<void>;
  theme: "dark" | "light";
  onToggleTheme: () => void;
  notice?: string;
}

export function Login({ onLogin, theme, onToggleTheme, notice }: Props) {
  const { t } = useI18n();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!email.trim() || !password) return setError(t("login.required"));
    if (!EMAIL.test(email.trim())) return setError(t("login.invalidEmail"));
    setBusy(true);
    setError(null);
    try {
      await onLogin(email.trim(), password);
    } catch (caught) {
      setError(loginErrorMessage(caught, t));
      setBusy(false);
    }
  }

  return (
    <div className="flex min-h-screen flex-col">
      <div className="flex justify-end gap-2 p-4">
        <LanguageSwitch />
        <ThemeToggle theme={theme} onToggle={onToggleTheme} />
      </div>
      <main id="main" className="flex flex-1 items-center justify-center px-4 pb-16">
        <form
          onSubmit={submit}
          noValidate
          aria-describedby={error ? "login-error" : undefined}
          className="w-full max-w-sm rounded-2xl border border-line bg-card p-6 shadow-lg sm:p-8"
          data-testid="login-form"
        >
          <div className="mb-6 flex items-center gap-3">
            <Logo />
            <div>
              <h1 className="text-xl font-semibold">{t("login.title")}</h1>
              <p className="text-sm text-muted">{t("login.subtitle")}</p>
            </div>
          </div>
          {notice && !error && <p className="mb-4 rounded-lg bg-raised p-3 text-sm text-muted">{notice}</p>}
          <div className="flex flex-col gap-4">
            <div className="flex flex-col gap-1">
              <label htmlFor="email" className="text-sm font-medium">{t("login.email")}</label>
              <input
                id="email"
                name="email"
                type="email"
                autoComplete="username"
                autoFocus
                value={email}
                onChange={(e) => setEmail(e.target.value)}
                aria-invalid={!!error}
                className={inputClass}
              />
            </div>
            <div className="flex flex-col gap-1">
              <label htmlFor="password" className="text-sm font-medium">{t("login.password")}</label>
              <input
                id="password"
                name="password"
                type="password"
                autoComplete="current-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                aria-invalid={!!error}
                className={inputClass}
              />
            </div>
            {error && (
              <p id="login-error" role="alert" className="rounded-lg border border-bad/40 bg-bad/10 p-2 text-sm text-bad">
                {error}
              </p>
            )}
            <Button type="submit" variant="primary" disabled={busy} className="w-full py-2.5">
              {busy ? t("login.busy") : t("login.submit")}
            </Button>
          </div>
        </form>
      </main>
    </div>
  );
}
