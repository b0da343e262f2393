import { useState, type FormEvent } from "react";
import { Badge, Button, Card, Field, inputClass, Loadable } from "../../components/ui";
import { api } from "../../lib/api";
import { fmtDateTime } from "../../lib/format";
import { useI18n } from "../../lib/i18n";
import type { AuditEntry, Page } from "../../lib/types";
import { useApi } from "../../lib/useApi";

const PAGE = 50;

export function Audit() {
  const { t, locale } = useI18n();
  const [form, setForm] = useState({ actor: "", action: "", since: "", until: "" });
  const [filters, setFilters] = useState(form);
  const [offset, setOffset] = useState(0);
  const log = useApi(
    () =>
      api.get<Page<AuditEntry>>("/admin/audit", {
        actor: filters.actor || null,
        action: filters.action || null,
        since: filters.since ? new Date(filters.since).toISOString() : null,
        until: filters.until ? new Date(filters.until).toISOString() : null,
        limit: PAGE,
        offset,
      }),
    `${JSON.stringify(filters)}-${offset}`,
  );

  function apply(event: FormEvent) {
    event.preventDefault();
    setOffset(0);
    setFilters(form);
  }

  return (
    <Card title={t("console.audit")} testId="audit">
      <form onSubmit={apply} className="mb-4 flex flex-wrap items-end gap-2">
        <Field label={t("console.actor")} htmlFor="f-actor">
          <input id="f-actor" value={form.actor} onChange={(e) => setForm({ ...form, actor: e.target.value })} className={inputClass} />
        </Field>
        <Field label={t("console.action")} htmlFor="f-action">
          <input id="f-action" value={form.action} onChange={(e) => setForm({ ...form, action: e.target.value })} className={inputClass} placeholder="kpis.read" />
        </Field>
        <Field label={t("console.since")} htmlFor="f-since">
          <input id="f-since" type="datetime-local" value={form.since} onChange={(e) => setForm({ ...form, since: e.target.value })} className={inputClass} />
        </Field>
        <Field label={t("console.until")} htmlFor="f-until">
          <input id="f-until" type="datetime-local" value={form.until} onChange={(e) => setForm({ ...form, until: e.target.value })} className={inputClass} />
        </Field>
        <Button type="submit" variant="primary">{t("console.filter")}</Button>
      </form>
      <Loadable state={log}>
        {(page) => (
          <>
            <div className="overflow-x-auto">
              <table className="w-full text-sm">
                <thead className="text-left text-xs text-muted">
                  <tr>
                    <th scope="col" className="py-2">{t("console.time")}</th>
                    <th scope="col">{t("console.actor")}</th>
                    <th scope="col">{t("console.action")}</th>
                    <th scope="col">{t("console.target")}</th>
                    <th scope="col">{t("console.outcome")}</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((row) => (
                    <tr key={row.id} className="border-t border-line" data-testid="audit-row">
                      <td className="whitespace-nowrap py-2 text-xs">{fmtDateTime(row.ts, locale)}</td>
                      <td className="text-xs">{row.actor}</td>
                      <td className="font-mono text-xs">{row.action}</td>
                      <td className="text-xs text-muted">{row.target}</td>
                      <td><Badge tone={row.outcome === "ok" ? "good" : "bad"}>{row.outcome}</Badge></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="mt-3 flex justify-end gap-2">
              <Button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>{t("common.previous")}</Button>
              <Button disabled={page.next_offset === null} onClick={() => setOffset(page.next_offset ?? offset)}>{t("common.next")}</Button>
            </div>
          </>
        )}
      </Loadable>
    </Card>
  );
}
