import { Badge, Card, Loadable, Stat } from "../../components/ui";
import { api } from "../../lib/api";
import { fmtNumber } from "../../lib/format";
import { type Key, useI18n } from "../../lib/i18n";
import { en } from "../../lib/i18n.en";
import type { ComponentStatus, SystemStatus } from "../../lib/types";
import { useApi } from "../../lib/useApi";

export function System() {
  const { t, locale } = useI18n();
  const status = useApi(() => api.get<SystemStatus>("/admin/status"), "admin-status", 15_000);
  return (
    <Loadable state={status}>
      {(s) => (
        <div className="flex flex-col gap-6" data-testid="admin-status">
          <div className="grid grid-cols-2 gap-4 lg:grid-cols-4">
            <Stat label={t("console.cpu")} value={`${fmtNumber(s.host.cpu_percent, locale, 0)} %`} tone={s.host.cpu_percent > 90 ? "bad" : undefined} />
            <Stat label={t("console.memory")} value={`${fmtNumber(s.host.memory_percent, locale, 0)} %`} tone={s.host.memory_percent > 90 ? "bad" : undefined} />
            <Stat label={t("console.disk")} value={`${fmtNumber(s.host.disk_percent, locale, 0)} %`} hint={t("console.diskFree", { gb: fmtNumber(s.host.disk_free_gb, locale, 1) })} />
            <Stat label={t("footer.api")} value={s.components.find((c) => c.name === "api")?.version ?? "–"} />
          </div>
          <ComponentTable components={s.components} />
          <RecentErrors status={s} />
        </div>
      )}
    </Loadable>
  );
}

/** The newest warning and error lines, saying where they were read: Loki (every process of the
 * stack) or this API process's own ring, and why Loki could not be read when it was asked. */
export function RecentErrors({ status }: { status: Pick<SystemStatus, "errors" | "errors_source" | "errors_problem"> }) {
  const { t } = useI18n();
  const errors = status.errors ?? [];
  if (errors.length === 0 && !status.errors_problem) return null;
  return (
    <Card title={t("console.errors")}>
      <p className="mb-2 text-xs opacity-70" data-testid="errors-source">
        {t(status.errors_source === "loki" ? "console.errorsFromLoki" : "console.errorsFromProcess")}
      </p>
      {status.errors_problem && <p className="mb-2 text-xs text-amber-600">{status.errors_problem}</p>}
      {errors.length > 0 && <pre className="max-h-64 overflow-auto text-xs">{errors.join("\n")}</pre>}
    </Card>
  );
}

/** What each check asked of whom and what came back; the target column only for platform admins
 * (the server sends no targets to tenant admins). */
export function ComponentTable({ components }: { components: ComponentStatus[] }) {
  const { t, locale } = useI18n();
  const withTargets = components.some((c) => c.target);
  const ok = components.filter((c) => c.ok).length;
  const label = (name: string) => (`component.${name}` in en ? t(`component.${name}` as Key) : name);
  return (
    <Card title={`${t("console.components")} · ${t("console.componentsOk", { ok, all: components.length })}`}>
      <div className="overflow-x-auto">
        <table className="w-full text-sm">
          <thead>
            <tr className="text-left text-xs text-muted">
              <th scope="col" className="py-2 font-medium">{t("console.component")}</th>
              <th scope="col" className="py-2 font-medium">{t("console.state")}</th>
              {withTargets && <th scope="col" className="py-2 font-medium">{t("console.checked")}</th>}
              <th scope="col" className="py-2 text-right font-medium">{t("console.latency")}</th>
              <th scope="col" className="py-2 pl-4 font-medium">{t("console.detail")}</th>
              <th scope="col" className="py-2 text-right font-medium">{t("console.version")}</th>
            </tr>
          </thead>
          <tbody>
            {components.map((c) => (
              <tr key={c.name} className="border-t border-line align-top" data-component={c.name}>
                <th scope="row" className="py-2 text-left font-medium">{label(c.name)}</th>
                <td className="py-2">
                  <Badge tone={c.ok ? "good" : "bad"}>{c.ok ? t("common.ok") : t("console.down")}</Badge>
                </td>
                {withTargets && <td className="py-2 font-mono text-xs break-all">{c.target ?? "–"}</td>}
                <td className="py-2 text-right tabular-nums text-muted">
                  {c.latency_ms === null ? "–" : `${fmtNumber(c.latency_ms, locale, 0)} ms`}
                </td>
                <td className="py-2 pl-4 text-muted">{c.detail}</td>
                <td className="py-2 text-right text-xs text-muted">{c.version ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}
