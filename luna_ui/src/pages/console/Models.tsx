import { useState, type FormEvent } from "react";
import { Badge, Button, Card, ErrorNote, Field, inputClass, Loadable } from "../../components/ui";
import { api } from "../../lib/api";
import { fmtDateTime, fmtNumber } from "../../lib/format";
import { useI18n } from "../../lib/i18n";
import type { Models as ModelsOut } from "../../lib/types";
import { useApi } from "../../lib/useApi";

export function Models() {
  const { t, locale } = useI18n();
  const models = useApi(() => api.get<ModelsOut>("/admin/models"), "models", 10_000);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<Error | null>(null);

  async function move(name: string, version: string, action: "promote" | "rollback") {
    setError(null);
    try {
      await api.request("POST", `/admin/models/${encodeURIComponent(name)}/${action}`, { version, reason: `${action} from the admin console` });
      models.reload();
    } catch (caught) {
      setError(caught as Error);
    }
  }

  async function retrain(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      await api.request("POST", "/admin/retrain", { reason: reason.trim() || "requested from the admin console" });
      setReason("");
      models.reload();
    } catch (caught) {
      setError(caught as Error);
    }
  }

  return (
    <div className="flex flex-col gap-6" data-testid="models">
      {error && <ErrorNote error={error} />}
      <Loadable state={models}>
        {(m) => (
          <>
            <Card title={`${m.name}`} actions={m.champion ? <Badge tone="good">{t("console.champion")}: v{m.champion}</Badge> : undefined}>
              {m.versions.length === 0 ? (
                <p className="text-sm text-muted">{t("console.noModels")}</p>
              ) : (
                <div className="overflow-x-auto">
                  <table className="w-full text-sm">
                    <thead className="text-left text-xs text-muted">
                      <tr>
                        <th scope="col" className="py-2">{t("console.version")}</th>
                        <th scope="col">{t("console.metrics")}</th>
                        <th scope="col">{t("console.created")}</th>
                        <th scope="col" className="sr-only">Actions</th>
                      </tr>
                    </thead>
                    <tbody>
                      {m.versions.map((v) => {
                        const champion = v.aliases.includes("champion");
                        return (
                          <tr key={v.version} className="border-t border-line">
                            <td className="py-2">
                              v{v.version}{" "}
                              {champion ? <Badge tone="good">{t("console.champion")}</Badge> : v.aliases.includes("challenger") ? <Badge tone="warn">{t("console.challenger")}</Badge> : null}
                            </td>
                            <td className="text-xs tabular-nums">
                              {Object.entries(v.metrics).slice(0, 4).map(([k, val]) => `${k} ${fmtNumber(val, locale, 3)}`).join(" · ")}
                            </td>
                            <td className="text-xs">{fmtDateTime(v.created_at, locale)}</td>
                            <td className="whitespace-nowrap text-right">
                              {!champion && (
                                <>
                                  <Button variant="ghost" onClick={() => void move(m.name, v.version, "promote")}>{t("console.promote")}</Button>
                                  <Button variant="ghost" onClick={() => void move(m.name, v.version, "rollback")}>{t("console.rollback")}</Button>
                                </>
                              )}
                            </td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                </div>
              )}
            </Card>
            <Card title={t("console.training")}>
              <form onSubmit={retrain} className="mb-4 flex flex-wrap items-end gap-2">
                <Field label={t("console.retrainReason")} htmlFor="retrain-reason">
                  <input id="retrain-reason" value={reason} onChange={(e) => setReason(e.target.value)} className={`${inputClass} w-72`} maxLength={500} />
                </Field>
                <Button type="submit" variant="primary">{t("console.retrain")}</Button>
              </form>
              <ul className="flex flex-col gap-2 text-sm">
                {m.training.map((r) => (
                  <li key={r.id} className="flex flex-wrap items-center justify-between gap-2 border-t border-line pt-2">
                    <span>#{r.id} · {r.reason ?? r.kind}</span>
                    <span className="flex items-center gap-2 text-xs text-muted">
                      <Badge tone={r.status === "done" || r.status === "succeeded" ? "good" : r.status === "failed" ? "bad" : "neutral"}>{r.status}</Badge>
                      {fmtDateTime(r.updated_at, locale)}
                    </span>
                  </li>
                ))}
              </ul>
            </Card>
          </>
        )}
      </Loadable>
    </div>
  );
}
