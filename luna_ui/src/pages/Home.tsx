import { useMemo, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { alignSeries, Chart, toSeconds } from "../components/Chart";
import { Badge, Button, Card, ErrorNote, inputClass, Spinner, Stat } from "../components/ui";
import { api, ApiError } from "../lib/api";
import { useAuth } from "../lib/auth";
import { fmtDate, fmtDateTime, fmtEur, fmtNumber, fmtPct, fmtTime, greetingName, relativeDay, zonedMidnight, zonedParts } from "../lib/format";
import { useI18n } from "../lib/i18n";
import { useTenant } from "../lib/tenant";
import type { Aggregate, Bucket, Health, Kpis, Recommendation } from "../lib/types";
import { useApi } from "../lib/useApi";

const HISTORY_DAYS = 28;
// The playbook plans tomorrow once the day-ahead prices are out (about 13:00 Berlin): a Home page left
// open over lunch picks tomorrow's recommendations up without a reload.
const RECOMMENDATIONS_POLL_MS = 10 * 60_000;

/** Mean kWh of the history's days up to the same local time of day, and the mean profile per quarter hour. */
export function normalDay(buckets: Bucket[], cutoffMinutes: number, timeZone: string) {
  const perDay = new Map<string, number>();
  const profile = new Map<number, { sum: number; days: number }>();
  for (const bucket of buckets) {
    const p = zonedParts(new Date(bucket.start), timeZone);
    const day = `${p.year}-${p.month}-${p.day}`;
    const minute = p.hour * 60 + p.minute;
    if (!perDay.has(day)) perDay.set(day, 0);
    if (minute < cutoffMinutes) perDay.set(day, perDay.get(day)! + bucket.kwh);
    const slot = profile.get(minute) ?? { sum: 0, days: 0 };
    slot.sum += bucket.kwh;
    slot.days += 1;
    profile.set(minute, slot);
  }
  const days = [...perDay.values()];
  const soFar = days.length ? days.reduce((a, b) => a + b, 0) / days.length : null;
  return { soFar, days: days.length, profile };
}

type Greeting = "home.morning" | "home.afternoon" | "home.evening";

function greetingKey(hour: number, named: boolean): Greeting | `${Greeting}Plain` {
  const key: Greeting = hour < 11 ? "home.morning" : hour < 18 ? "home.afternoon" : "home.evening";
  return named ? key : `${key}Plain`;
}

export function Home() {
  const { t, locale, lang } = useI18n();
  const { claims } = useAuth();
  const tenant = useTenant();
  const tz = tenant.timezone;
  const navigate = useNavigate();
  const [question, setQuestion] = useState("");

  const kpis = useApi(() => api.get<Kpis>("/kpis"), "kpis", 60_000);
  const health = useApi(() => api.get<Health>("/health"), "health");
  const ready = useApi(() => api.get<{ status: string }>("/ready"), "ready");
  const asOf = kpis.data?.as_of;
  const dayStart = asOf ? zonedMidnight(new Date(`${asOf}T12:00:00Z`), tz) : null;

  const today = useApi(
    dayStart
      ? () =>
          api.get<Aggregate>("/readings/aggregate", {
            bucket: "15min",
            start: dayStart.toISOString(),
            end: zonedMidnight(dayStart, tz, 1).toISOString(),
          })
      : null,
    `today-${asOf}-${tz}`,
    60_000,
  );
  const history = useApi(
    dayStart
      ? () =>
          api.get<Aggregate>("/readings/aggregate", {
            bucket: "15min",
            start: zonedMidnight(dayStart, tz, -HISTORY_DAYS).toISOString(),
            end: dayStart.toISOString(),
          })
      : null,
    `history-${asOf}-${tz}`,
  );
  // No date: the server answers with tomorrow's recommendations once they exist, else today's, and says which.
  const recommendations = useApi(
    () => api.get<{ date: string; items: Recommendation[] }>("/playbook/recommendations", { language: lang }),
    `recs-${tz}-${lang}`,
    RECOMMENDATIONS_POLL_MS,
  );

  // Consumption so far from the same live series the chart and the smart-meter page draw (polled
  // every minute), not from the KPIs the pipeline stores hourly: the two used to disagree. Cost stays
  // the KPI's: it prices grid import (PV netted) on the tenant's tariff, which the series does not.
  const live = useMemo(() => {
    const buckets = (today.data?.current.buckets ?? []).filter((b) => b.intervals > 0);
    if (buckets.length === 0) return null;
    const kwh = buckets.reduce((sum, b) => sum + b.kwh, 0);
    return { kwh, lastStart: buckets[buckets.length - 1].start };
  }, [today.data]);

  const cutoff = useMemo(() => {
    const to = live ? new Date(Date.parse(live.lastStart) + 15 * 60_000).toISOString() : kpis.data?.readings_to;
    if (!to) return 24 * 60;
    const p = zonedParts(new Date(to), tz);
    return p.hour * 60 + p.minute + (live ? 0 : 15);
  }, [live, kpis.data?.readings_to, tz]);
  const normal = useMemo(
    () => (history.data ? normalDay(history.data.current.buckets, cutoff, tz) : null),
    [history.data, cutoff, tz],
  );

  const chartData = useMemo(() => {
    if (!today.data || !dayStart) return alignSeries([]);
    const xs: number[] = [];
    const actual: (number | null)[] = [];
    const usual: (number | null)[] = [];
    const seen = new Map(today.data.current.buckets.map((b) => [toSeconds(b.start), b.kwh]));
    for (let x = dayStart.getTime() / 1000; x < zonedMidnight(dayStart, tz, 1).getTime() / 1000; x += 900) {
      xs.push(x);
      actual.push(seen.get(x) ?? null);
      const p = zonedParts(new Date(x * 1000), tz);
      const slot = normal?.profile.get(p.hour * 60 + p.minute);
      usual.push(slot ? slot.sum / slot.days : null);
    }
    return alignSeries([
      { ts: xs, values: actual },
      { ts: xs, values: usual },
    ]);
    // dayStart is derived from asOf and tz
  }, [today.data, normal, asOf, tz]);

  const hour = zonedParts(new Date(), tz).hour;
  const name = greetingName(claims?.email);

  function ask(event: FormEvent) {
    event.preventDefault();
    navigate(question.trim() ? `/help?q=${encodeURIComponent(question.trim())}` : "/help");
  }

  const k = kpis.data;
  const kwhToday = live?.kwh ?? k?.kwh_today ?? 0;
  const costToday = k?.cost_today_eur ?? null;
  const vsNormal = k && normal?.soFar ? kwhToday / normal.soFar - 1 : null;
  const pvShare =
    k && k.pv_kwh_month !== null && k.self_consumption_ratio !== null && k.kwh_month > 0
      ? (k.pv_kwh_month * k.self_consumption_ratio) / k.kwh_month
      : null;
  const noKpis = kpis.error instanceof ApiError && kpis.error.status === 404;
  const recs = (recommendations.data?.items ?? []).slice().sort((a, b) => b.saving_eur - a.saving_eur).slice(0, 3);
  const recsDay = recommendations.data?.date;
  const recsWhen = recsDay ? relativeDay(recsDay, tz) : null;

  return (
    <div className="flex flex-col gap-6">
      <section aria-labelledby="greeting" className="rounded-2xl border border-line bg-gradient-to-br from-accent/15 via-card to-card p-5 sm:p-6">
        <h1 id="greeting" className="text-2xl font-semibold tracking-tight" data-testid="greeting">
          {t(greetingKey(hour, name !== ""), { name })}
        </h1>
        <p className="mt-1 text-sm text-muted">
          {t("home.intro", { date: fmtDate(asOf ? `${asOf}T12:00:00Z` : new Date(), locale, tz) })}
        </p>
        <form onSubmit={ask} className="mt-4 flex max-w-2xl gap-2" role="search" aria-label={t("home.askLuna")}>
          <label htmlFor="ask-luna" className="sr-only">{t("home.askLuna")}</label>
          <input
            id="ask-luna"
            value={question}
            onChange={(e) => setQuestion(e.target.value)}
            placeholder={t("home.askPlaceholder")}
            className={`${inputClass} flex-1`}
          />
          <Button type="submit" variant="primary" data-testid="ask-luna">{t("home.ask")}</Button>
        </form>
      </section>

      {noKpis ? (
        <Card><p className="text-sm text-muted" data-testid="no-kpis">{t("home.noKpis")}</p></Card>
      ) : kpis.error ? (
        <ErrorNote error={kpis.error} onRetry={kpis.reload} />
      ) : !k ? (
        <Spinner />
      ) : (
        <div className="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-4" data-testid="kpis">
          <Stat
            testId="kpi-kwh-today"
            raw={kwhToday}
            label={t("home.consumption")}
            value={`${fmtNumber(kwhToday, locale, 1)} kWh`}
            hint={vsNormal !== null ? t("home.vsNormal", { pct: fmtPct(vsNormal, locale, true) }) : history.loading ? "…" : t("home.normalUnknown")}
            tone={vsNormal === null ? undefined : vsNormal > 0.1 ? "warn" : vsNormal < -0.05 ? "good" : undefined}
          />
          <Stat
            testId="kpi-cost-today"
            raw={costToday}
            label={t("home.cost")}
            value={fmtEur(costToday, locale)}
            hint={t("home.costMonth", { value: fmtEur(k.cost_month_eur, locale) })}
          />
          <Stat
            testId="kpi-peak"
            raw={k.peak_kw_month}
            label={t("home.peak")}
            value={`${fmtNumber(k.peak_kw_month, locale, 1)} kW`}
            hint={k.peak_at ? t("home.peakAt", { time: fmtDateTime(k.peak_at, locale, tz) }) : undefined}
          />
          <Stat
            testId="kpi-pv-share"
            raw={pvShare}
            label={t("home.pvShare")}
            value={pvShare !== null ? fmtPct(pvShare, locale) : "–"}
            hint={pvShare !== null ? t("home.pvShareHint") : t("home.noPv")}
            tone={pvShare !== null && pvShare > 0.3 ? "good" : undefined}
          />
        </div>
      )}

      <div className="grid grid-cols-1 gap-6 lg:grid-cols-3">
        <Card title={t("home.todayCurve")} className="lg:col-span-2">
          {today.loading && !today.data ? (
            <Spinner />
          ) : (
            <Chart
              testId="home-chart"
              label={t("home.todayCurve")}
              data={chartData}
              timeZone={tz}
              yLabel="kWh"
              emptyText={t("common.noData")}
              height={240}
              series={[
                { label: t("meter.current"), colour: "#818cf8", kind: "bars" },
                { label: lang === "de" ? "Normaler Tag" : "Normal day", colour: "#94a3b8", dash: [6, 4], width: 2 },
              ]}
            />
          )}
        </Card>
        <Card title={t("home.status")} testId="system-status">
          <ul className="flex flex-col gap-3 text-sm">
            <li className="flex items-center justify-between">
              <span>{t("home.statusApi")}</span>
              {health.data ? <Badge tone="good">{t("footer.apiOk")} · {health.data.version}</Badge> : <Badge tone={health.error ? "bad" : "neutral"}>{health.error ? t("footer.apiDown") : "…"}</Badge>}
            </li>
            <li className="flex items-center justify-between">
              <span>{t("home.statusDb")}</span>
              {ready.data ? <Badge tone="good">{t("common.ok")}</Badge> : <Badge tone={ready.error ? "bad" : "neutral"}>{ready.error ? ready.error.message : "…"}</Badge>}
            </li>
            <li className="flex items-center justify-between gap-2">
              <span>{t("home.statusData")}</span>
              <span className="text-right text-muted" data-testid="status-freshness">{k?.readings_to ? fmtDateTime(k.readings_to, locale, tz) : t("footer.noData")}</span>
            </li>
          </ul>
        </Card>
      </div>

      {!recommendations.missing && !(recommendations.error && !recommendations.data) && (
        <Card
          title={t("home.recommendations")}
          testId="recommendations"
          actions={
            recsDay && (
              <span className="text-xs text-muted" data-testid="recommendations-day" data-day={recsDay}>
                {recsWhen ? `${t(recsWhen === "today" ? "common.today" : "common.tomorrow")} · ` : ""}
                {fmtDate(`${recsDay}T12:00:00Z`, locale, tz)}
              </span>
            )
          }
        >
          {recommendations.loading ? (
            <Spinner />
          ) : recs.length === 0 ? (
            <p className="text-sm text-muted">{t("home.noRecommendations")}</p>
          ) : (
            <ul className="grid grid-cols-1 gap-3 md:grid-cols-3">
              {recs.map((r) => (
                <li key={r.id} className="rounded-lg border border-line bg-raised p-3">
                  <div className="flex items-start justify-between gap-2">
                    <div className="font-medium">{r.title}</div>
                    <Badge tone="good">{t("home.saving", { value: fmtEur(r.saving_eur, locale) })}</Badge>
                  </div>
                  <p className="mt-1 text-sm text-muted">{r.reason}</p>
                  <p className="mt-2 text-xs text-muted">
                    {fmtTime(r.starts_at, locale, tz)}–{fmtTime(r.ends_at, locale, tz)}
                  </p>
                </li>
              ))}
            </ul>
          )}
        </Card>
      )}
    </div>
  );
}
