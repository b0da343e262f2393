import { Card, Loadable, Stat } from "../../components/ui";
import { api } from "../../lib/api";
import { fmtDateTime } from "../../lib/format";
import { useI18n } from "../../lib/i18n";
import type { KnowledgeStatus } from "../../lib/types";
import { useApi } from "../../lib/useApi";

export function Knowledge() {
  const { t, locale } = useI18n();
  const state = useApi(() => api.get<KnowledgeStatus>("/admin/knowledge"), "knowledge");
  return (
    <Loadable state={state}>
      {(k) => (
        <div className="flex flex-col gap-6" data-testid="knowledge">
          <div className="grid grid-cols-1 gap-4 sm:grid-cols-3">
            <Stat label={t("console.backend")} value={k.backend} />
            <Stat label={t("console.collection")} value={k.collection} />
            <Stat label={t("console.lastReindex")} value={<span className="text-base">{fmtDateTime(k.last_reindex_at, locale)}</span>} />
          </div>
          <Card title={t("console.knowledge")}>
            <table className="w-full text-sm">
              <thead className="text-left text-xs text-muted">
                <tr>
                  <th scope="col" className="py-2">{t("console.tenant")}</th>
                  <th scope="col" className="text-right">{t("console.documentsCount")}</th>
                  <th scope="col" className="text-right">{t("console.chunks")}</th>
                </tr>
              </thead>
              <tbody>
                {k.chunks_by_tenant.map((row) => (
                  <tr key={row.tenant_id} className="border-t border-line">
                    <td className="py-2">{row.tenant_id}</td>
                    <td className="text-right tabular-nums">{row.documents}</td>
                    <td className="text-right tabular-nums">{row.chunks}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
        </div>
      )}
    </Loadable>
  );
}
