import { useMemo, useState } from "react";
import { alignSeries, Chart, toSeconds } from "../components/Chart";
import { Badge, Card, ErrorNote, Loadable, PageHeader, Stat } from "../components/ui";
import { api } from "../lib/api";
import { useAuth } from "../lib/auth";
import { fmtDate, fmtDateTime, fmtEur, fmtMonth, isoDate, relativeDay } from "../lib/format";
import { useI18n } from "../lib/i18n";
import { priceColour, priceStats } from "../lib/priceScale";
import { useTenant } from "../lib/tenant";
import type { Page, Rule, Savings, Schedule, Strategy } from "../lib/types";
import { useApi } from "../lib/useApi";

function RuleSwitch({ rule, onChange }: { rule: Rule; onChange: (rule: Rule) => void }) {
  const { t } = useI18n();
  const { isAdmin } = useAuth();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  async function toggle() {
    setBusy(true);
    setError(null);
    try {
      onChange(await api.request<Rule>("PATCH", `/playbook/rules/${encodeURIComponent(String(rule.id))}`, { enabled: !rule.enabled }));
    } catch (caught) {
      setError(caught as Error);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="flex flex-col items-end gap-1">
      <button
        type="button"
        role="switch"
        aria-checked={rule.enabled}
        aria-label={t("playbook.enable", { name: rule.name })}
        disabled={busy || !isAdmin}
        title={isAdmin ? undefined : t("playbook.adminOnly")}
        aria-describedby={isAdmin ? undefined : "rules-admin-only"}
        onClick={toggle}
        data-testid={`rule-switch-${rule.id}`}
        className={`relative h-6 w-11 rounded-full transition ${rule.enabled ? "bg-good" : "bg-line"} disabled:opacity-50`}
      >
        <span className={`absolute top-0.5 h-5 w-5 rounded-full bg-white shadow transition ${rule.enabled ? "left-5" : "left-0.5"}`} />
      </button>
      {error && <span role="alert" className="text-xs text-bad">{error.message}</span>}
    </div>
  );
}

export default function PlaybookPage() {
  const { t, locale, lang } = useI18n();
  const { isAdmin } = useAuth();
  const tenant = useTenant();
  const tz = tenant.timezone;
  // No date: tomorrow's schedule once it is planned (after the day-ahead prices), else today's.
  const schedule = useApi(() => api.get<Schedule>("/playbook/schedule"), `schedule-${tz}`, 10 * 60_000);
  const scheduleWhen = schedule.data?.date ? relativeDay(schedule.data.date, tz) : null;
  const rules = useApi(() => api.get<Page<Rule>>("/playbook/rules", { limit: 200 }), "rules");
  const strategies = useApi(() => api.get<Strategy[]>("/playbook/strategies", { language: lang }), `strategies-${lang}`);
  // Up to today only: tomorrow's plan is a forecast of a saving, not one made so far.
  const today = isoDate(new Date(), tz);
  const savings = useApi(() => api.get<Savings>("/playbook/savings", { granularity: "month", end: today }), `savings-${today}`);
  const [edited, setEdited] = useState<Record<string, Rule>>({});

  const timeline = useMemo(() => {
    const slots = schedule.data?.slots ?? [];
    const ts = slots.map((s) => toSeconds(s.start));
    const stats = priceStats(slots.map((s) => s.price_eur_mwh));
    return {
      data: alignSeries([
        { ts, values: slots.map((s) => s.price_eur_mwh) },
        { ts, values: slots.map((s) => s.baseline_kw) },
        { ts, values: slots.map((s) => s.optimised_kw) },
      ]),
      colours: slots.map((s) => (stats ? priceColour(s.price_eur_mwh, stats.min, stats.max) : "#888")),
    };
  }, [schedule.data]);

  const strategyName = (key: string) => {
    const found = strategies.data?.find((s) => s.key === key);
    return found ? found.name : key;
  };

  return (
    <div className="flex flex-col gap-6">
      <PageHeader title={t("playbook.title")} subtitle={t("playbook.subtitle")} />

      <Card
        title={t("playbook.schedule")}
        testId="schedule"
        actions={
          schedule.data?.date && (
            <span className="text-xs text-muted" data-testid="schedule-day" data-day={schedule.data.date}>
              {scheduleWhen ? `${t(scheduleWhen === "today" ? "common.today" : "common.tomorrow")} · ` : ""}
              {fmtDate(`${schedule.data.date}T12:00:00Z`, locale, tz)}
            </span>
          )
        }
      >
        <Loadable state={schedule}>
          {(s) => (
            <div className="flex flex-col gap-4">
              <div className="grid grid-cols-1 gap-3 sm:grid-cols-3">
                <Stat label={t("playbook.naiveCost")} value={fmtEur(s.naive_cost_eur, locale)} />
                <Stat label={t("playbook.optimisedCost")} value={fmtEur(s.optimised_cost_eur, locale)} />
                <Stat label={t("meter.saving")} value={fmtEur(s.saving_eur, locale)} tone="good" />
              </div>
              <Chart
                label={t("playbook.schedule")}
                testId="schedule-chart"
                data={timeline.data}
                timeZone={tz}
                emptyText={t("common.noData")}
                series={[
                  { label: `${t("playbook.price")} (EUR/MWh)`, colour: "#818cf8", kind: "bars", pointColours: timeline.colours, scale: "price" },
                  { label: `${t("playbook.baseline")} (kW)`, colour: "#94a3b8", kind: "step", dash: [5, 4], scale: "kw" },
                  { label: `${t("playbook.optimised")} (kW)`, colour: "#34d399", kind: "step", width: 2, scale: "kw" },
                ]}
              />
            </div>
          )}
        </Loadable>
      </Card>

      <div className="grid grid-cols-1 gap-6 lg:grid-cols-2">
        <Card title={t("playbook.rules")} testId="rules">
          {!isAdmin && (
            <p id="rules-admin-only" className="mb-2 text-xs text-muted" data-testid="rules-admin-only">
              {t("playbook.adminOnly")}
            </p>
          )}
          <Loadable state={rules}>
            {(page) =>
              page.items.length === 0 ? (
                <p className="text-sm text-muted">{t("playbook.noRules")}</p>
              ) : (
                <ul className="flex flex-col divide-y divide-line">
                  {page.items.map((original) => {
                    const rule = edited[String(original.id)] ?? original;
                    return (
                      <li key={rule.id} className="flex items-center justify-between gap-3 py-3">
                        <div>
                          <div className="font-medium">{rule.name}</div>
                          <div className="text-xs text-muted">
                            {t("playbook.strategy")}: {strategyName(rule.strategy)} · {t("playbook.version", { n: rule.version })} · {fmtDateTime(rule.updated_at, locale, tz)}
                          </div>
                        </div>
                        <RuleSwitch rule={rule} onChange={(next) => setEdited((e) => ({ ...e, [String(next.id)]: next }))} />
                      </li>
                    );
                  })}
                </ul>
              )
            }
          </Loadable>
        </Card>

        <Card title={t("playbook.savings")} testId="savings">
          <Loadable state={savings}>
            {(s) => (
              <div className="flex flex-col gap-3">
                <div className="grid grid-cols-2 gap-3">
                  <Stat label={t("playbook.totalSaving")} value={fmtEur(s.total_saving_eur, locale)} tone="good" />
                  <Stat label={t("playbook.realisedSaving")} value={s.total_realised_eur === null ? "–" : fmtEur(s.total_realised_eur, locale)} />
                </div>
                <table className="w-full text-sm">
                  <thead className="text-left text-xs text-muted">
                    <tr>
                      <th scope="col" className="py-1">{t("playbook.month")}</th>
                      <th scope="col" className="py-1 text-right">{t("playbook.naiveCost")}</th>
                      <th scope="col" className="py-1 text-right">{t("playbook.optimisedCost")}</th>
                      <th scope="col" className="py-1 text-right">{t("meter.saving")}</th>
                      <th scope="col" className="py-1 text-right">{t("playbook.realised")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {s.items.map((row) => (
                      <tr key={row.period} className="border-t border-line" data-testid="savings-row" data-period={row.period}>
                        <td className="py-1">{fmtMonth(row.period, locale)}</td>
                        <td className="py-1 text-right tabular-nums">{fmtEur(row.naive_eur, locale)}</td>
                        <td className="py-1 text-right tabular-nums">{fmtEur(row.optimised_eur, locale)}</td>
                        <td className="py-1 text-right tabular-nums"><Badge tone="good">{fmtEur(row.saving_eur, locale)}</Badge></td>
                        <td className="py-1 text-right tabular-nums" title={row.realised_eur === null ? t("playbook.notSettled") : undefined}>
                          {row.realised_eur === null ? "–" : fmtEur(row.realised_eur, locale)}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </Loadable>
        </Card>
      </div>
      {strategies.error && !strategies.missing && <ErrorNote error={strategies.error} onRetry={strategies.reload} />}
    </div>
  );
}
