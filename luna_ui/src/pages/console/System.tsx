import { Badge, Card, Loadable, Stat } from "../../components/ui";
import { api } from "../../lib/api";
import { fmtNumber } from "../../lib/format";
import { useI18n } from "../../lib/i18n";
import type { SystemStatus } from "../../lib/types";
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
          <Card title={t("console.components")}>
            <table className="w-full text-sm">
              <tbody>
                {s.components.map((c) => (
                  <tr key={c.name} className="border-t border-line first:border-0">
                    <th scope="row" className="py-2 text-left font-medium">{c.name}</th>
                    <td className="py-2"><Badge tone={c.ok ? "good" : "warn"}>{c.ok ? t("common.ok") : "!"}</Badge></td>
                    <td className="py-2 text-muted">{c.detail}</td>
                    <td className="py-2 text-right text-xs text-muted">{c.version}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
          {s.errors && s.errors.length > 0 && (
            <Card title="Errors">
              <pre className="max-h-64 overflow-auto text-xs">{s.errors.join("\n")}</pre>
            </Card>
          )}
        </div>
      )}
    </Loadable>
  );
}
