/* Small building blocks, so every page looks and behaves alike. */
import type { ButtonHTMLAttributes, ReactNode } from "react";
import { useId } from "react";
import { ApiError } from "../lib/api";
import { useI18n } from "../lib/i18n";

export function cx(...names: (string | false | null | undefined)[]): string {
  return names.filter(Boolean).join(" ");
}

export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-6 flex flex-wrap items-end justify-between gap-4">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
        {subtitle && <p className="mt-1 text-sm text-muted">{subtitle}</p>}
      </div>
      {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
    </div>
  );
}

export function Card({
  title,
  children,
  actions,
  className,
  testId,
}: {
  title?: ReactNode;
  children: ReactNode;
  actions?: ReactNode;
  className?: string;
  testId?: string;
}) {
  const id = useId();
  return (
    <section
      aria-labelledby={title ? id : undefined}
      data-testid={testId}
      className={cx("rounded-xl border border-line bg-card p-4 shadow-sm sm:p-5", className)}
    >
      {(title || actions) && (
        <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
          {title && (
            <h2 id={id} className="text-base font-semibold">
              {title}
            </h2>
          )}
          {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
        </div>
      )}
      {children}
    </section>
  );
}

export function Stat({
  label,
  value,
  hint,
  tone,
  testId,
  raw,
}: {
  label: string;
  value: ReactNode;
  hint?: ReactNode;
  tone?: "good" | "warn" | "bad";
  testId?: string;
  raw?: number | null;
}) {
  return (
    <div className="rounded-xl border border-line bg-card p-4 shadow-sm" data-testid={testId} data-value={raw ?? undefined}>
      <div className="text-xs font-medium uppercase tracking-wide text-muted">{label}</div>
      <div className="mt-1 text-2xl font-semibold tabular-nums" data-role="value">
        {value}
      </div>
      {hint && (
        <div
          className={cx(
            "mt-1 text-sm",
            tone === "good" && "text-good",
            tone === "warn" && "text-warn",
            tone === "bad" && "text-bad",
            !tone && "text-muted",
          )}
        >
          {hint}
        </div>
      )}
    </div>
  );
}

type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & { variant?: "primary" | "secondary" | "ghost" | "danger" };

export function Button({ variant = "secondary", className, ...rest }: ButtonProps) {
  return (
    <button
      type="button"
      {...rest}
      className={cx(
        "inline-flex items-center justify-center gap-2 rounded-lg px-3 py-2 text-sm font-medium transition disabled:cursor-not-allowed disabled:opacity-50",
        variant === "primary" && "bg-accent text-accent-fg hover:opacity-90",
        variant === "secondary" && "border border-line bg-raised hover:border-accent",
        variant === "ghost" && "hover:bg-raised",
        variant === "danger" && "border border-bad/50 text-bad hover:bg-bad/10",
        className,
      )}
    />
  );
}

export function Segmented<V extends string>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: V;
  options: { value: V; label: string }[];
  onChange: (value: V) => void;
}) {
  return (
    <div role="radiogroup" aria-label={label} className="inline-flex rounded-lg border border-line bg-raised p-0.5">
      {options.map((option) => (
        <button
          key={option.value}
          type="button"
          role="radio"
          aria-checked={option.value === value}
          onClick={() => onChange(option.value)}
          className={cx(
            "rounded-md px-3 py-1.5 text-sm",
            option.value === value ? "bg-accent text-accent-fg" : "text-muted hover:text-fg",
          )}
        >
          {option.label}
        </button>
      ))}
    </div>
  );
}

export function Field({ label, children, htmlFor }: { label: string; children: ReactNode; htmlFor: string }) {
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={htmlFor} className="text-xs font-medium text-muted">
        {label}
      </label>
      {children}
    </div>
  );
}

export const inputClass =
  "rounded-lg border border-line bg-bg px-3 py-2 text-sm text-fg placeholder:text-muted focus:border-accent focus:outline-none";

export function Spinner({ label }: { label?: string }) {
  const { t } = useI18n();
  return (
    <div role="status" className="flex items-center gap-2 py-6 text-sm text-muted">
      <span className="h-4 w-4 animate-spin rounded-full border-2 border-line border-t-accent" aria-hidden />
      {label ?? t("common.loading")}
    </div>
  );
}

const ERROR_CODES = ["forbidden", "not_found", "conflict", "too_many_requests", "unavailable", "payload_too_large", "unauthorized", "invalid_request"] as const;
type ErrorCode = (typeof ERROR_CODES)[number];

export function ErrorNote({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const { t, lang } = useI18n();
  // The server explains in English; the reader gets what the code means in their language first.
  const code = error instanceof ApiError && (ERROR_CODES as readonly string[]).includes(error.code) ? (error.code as ErrorCode) : null;
  const headline = code && lang !== "en" ? t(`error.${code}`) : null;
  return (
    <div role="alert" className="rounded-lg border border-bad/40 bg-bad/10 p-3 text-sm" data-error-code={code ?? undefined}>
      <div className="font-medium text-bad">{t("common.error")}</div>
      {headline && <div className="mt-1" data-testid="error-headline">{headline}</div>}
      <div className={headline ? "mt-1 text-xs text-muted" : "mt-1 text-muted"} lang={headline ? "en" : undefined}>{error.message}</div>
      {onRetry && (
        <Button className="mt-2" onClick={onRetry}>
          {t("common.retry")}
        </Button>
      )}
    </div>
  );
}

export function Unavailable() {
  const { t } = useI18n();
  return (
    <div className="rounded-lg border border-dashed border-line p-4 text-sm text-muted" data-testid="unavailable">
      {t("common.unavailable")}
    </div>
  );
}

/** Loading, error, "module not deployed" or the content: one place decides. */
export function Loadable<R>({
  state,
  children,
  whenMissing,
}: {
  state: { data: R | undefined; error: Error | undefined; loading: boolean; missing: boolean; reload: () => void };
  children: (data: R) => ReactNode;
  whenMissing?: ReactNode;
}) {
  if (state.data !== undefined) return <>{children(state.data)}</>;
  if (state.missing) return <>{whenMissing ?? <Unavailable />}</>;
  if (state.error) return <ErrorNote error={state.error} onRetry={state.reload} />;
  return <Spinner />;
}

export function Badge({ tone, children }: { tone: "good" | "warn" | "bad" | "neutral"; children: ReactNode }) {
  return (
    <span
      className={cx(
        "inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium",
        tone === "good" && "bg-good/15 text-good",
        tone === "warn" && "bg-warn/15 text-warn",
        tone === "bad" && "bg-bad/15 text-bad",
        tone === "neutral" && "bg-raised text-muted",
      )}
    >
      {children}
    </span>
  );
}

export function isMissingRoute(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 405);
}
