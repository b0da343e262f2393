import { useMemo } from "react";
import { useSearchParams } from "react-router";
import { alignSeries, Chart, toSeconds, type TimeSeries } from "../components/Chart";
import { Badge, Card, Field, inputClass, Loadable, PageHeader, Segmented, Spinner, Stat } from "../components/ui";
import { api } from "../lib/api";
import { fmtEur, fmtNumber, fmtPct, fmtTime, isoDate, zonedMidnight } from "../lib/format";
import { useI18n, type T } from "../lib/i18n";
import { useTenant } from "../lib/tenant";
import type { Aggregate, Bucket, Forecast, Meter, Page, Reading } from "../lib/types";
import { useApi } from "../lib/useApi";
import { Simulate } from "./Simulate";

export const LIVE_POLL_MS = 5_000;
type BucketName = "15min" | "hour" | "day" | "month";
type RangeName = "day" | "week" | "month" | "year";
type Compare = "none" | "previous_period" | "previous_year";

const BUCKETS: readonly BucketName[] = ["15min", "hour", "day", "month"];
const RANGES: readonly RangeName[] = ["day", "week", "month", "year"];
const COMPARES: readonly Compare[] = ["none", "previous_period", "previous_year"];

function pick<V extends string>(value: string | null, allowed: readonly V[], fallback: V): V {
  return allowed.includes(value as V) ? (value as V) : fallback;
}

const RANGE_DAYS: Record<RangeName, number> = { day: 1, week: 7, month: 30, year: 365 };
// The API caps one 15-minute aggregate at 31 days: longer ranges are fetched in slices.
const SLICE_DAYS: Record<BucketName, number> = { "15min": 30, hour: 366, day: 3650, month: 3650 };
const KIND_COLOURS: Record<Meter["kind"], string> = {
  consumption: "#818cf8",
  pv: "#fbbf24",
  ev: "#34d399",
  heat_pump: "#f87171",
  battery: "#38bdf8",
};

/** A meter as its tenant named it ("Wallbox"); its kind when it has no name of its own. */
export function meterName(meter: Meter, t: T): string {
  return meter.name && meter.name !== meter.meter_id ? meter.name : t(`meter.kind.${meter.kind}`);
}

export function sliceWindow(start: Date, end: Date, days: number): [Date, Date][] {
  const slices: [Date, Date][] = [];
  const step = days * 86_400_000;
  for (let from = start.getTime(); from < end.getTime(); from += step) {
    slices.push([new Date(from), new Date(Math.min(end.getTime(), from + step))]);
  }
  return slices;
}

/** One series from as many requests as the API's window limit needs, in order. */
async function loadSeries(bucket: BucketName, start: Date, end: Date, meterId: string | null): Promise<Bucket[]> {
  const parts = await Promise.all(
    sliceWindow(start, end, SLICE_DAYS[bucket]).map(([from, to]) =>
      api.get<Aggregate>("/readings/aggregate", { bucket, start: from.toISOString(), end: to.toISOString(), meter_id: meterId }),
    ),
  );
  return parts.flatMap((p) => p.current.buckets);
}

interface Trend {
  current: Bucket[];
  previous: Bucket[] | null;
  shiftSeconds: number;
  changePct: number | null;
  forecast: Forecast | null;
}

async function loadTrend(bucket: BucketName, start: Date, end: Date, meterId: string | null, compare: Compare): Promise<Trend> {
  const forecastWanted = !meterId && (bucket === "hour" || bucket === "15min");
  const forecast = forecastWanted
    ? api.get<Forecast>("/forecasts", { start: start.toISOString(), end: end.toISOString() }).catch(() => null)
    : Promise.resolve(null);
  const slices = sliceWindow(start, end, SLICE_DAYS[bucket]);
  if (slices.length === 1) {
    // One request: the API computes the comparison window and the change itself.
    const result = await api.get<Aggregate>("/readings/aggregate", {
      bucket,
      start: start.toISOString(),
      end: end.toISOString(),
      meter_id: meterId,
      compare: compare === "none" ? null : compare,
    });
    const shift = result.previous ? toSeconds(result.current.start) - toSeconds(result.previous.start) : 0;
    return { current: result.current.buckets, previous: result.previous?.buckets ?? null, shiftSeconds: shift, changePct: result.change_pct, forecast: await forecast };
  }
  const before = compare === "none" ? null : comparisonWindow(start, end, compare);
  const [current, previous] = await Promise.all([
    loadSeries(bucket, start, end, meterId),
    before ? loadSeries(bucket, before[0], before[1], meterId) : Promise.resolve(null),
  ]);
  const sum = (bs: Bucket[]) => bs.reduce((a, b) => a + b.kwh, 0);
  const change = previous && sum(previous) ? ((sum(current) - sum(previous)) / sum(previous)) * 100 : null;
  return {
    current,
    previous,
    shiftSeconds: before ? (start.getTime() - before[0].getTime()) / 1000 : 0,
    changePct: change,
    forecast: await forecast,
  };
}

export function comparisonWindow(start: Date, end: Date, compare: Exclude<Compare, "none">): [Date, Date] {
  if (compare === "previous_period") return [new Date(2 * start.getTime() - end.getTime()), start];
  const yearBefore = (d: Date) => {
    const copy = new Date(d);
    copy.setUTCFullYear(copy.getUTCFullYear() - 1);
    return copy;
  };
  return [yearBefore(start), yearBefore(end)];
}

/** Forecasts are hourly kWh; at 15-minute resolution each hour is spread over its quarters. */
export function forecastSeries(forecast: Forecast | null, bucket: BucketName): TimeSeries | null {
  if (!forecast || !forecast.points.length) return null;
  if (bucket === "hour") return { ts: forecast.points.map((p) => toSeconds(p.ts)), values: forecast.points.map((p) => p.kwh) };
  const ts: number[] = [];
  const values: number[] = [];
  for (const p of forecast.points) {
    for (let q = 0; q < 4; q++) {
      ts.push(toSeconds(p.ts) + q * 900);
      values.push(p.kwh / 4);
    }
  }
  return { ts, values };
}

function LivePanel({ meters, tz }: { meters: Meter[]; tz: string }) {
  const { t, locale } = useI18n();
  const meterLabel = (meter: Meter) => meterName(meter, t);
  const live = useApi(
    () => {
      const now = Date.now();
      return api.get<Page<Reading>>("/readings", {
        start: new Date(now - 3 * 3_600_000).toISOString(),
        end: new Date(now + 3_600_000).toISOString(),
        limit: 1000,
      });
    },
    "live",
    LIVE_POLL_MS,
  );
  const latest = useMemo(() => {
    const found = new Map<string, Reading>();
    for (const r of live.data?.items ?? []) {
      const seen = found.get(r.meter_id);
      if (!seen || seen.ts < r.ts) found.set(r.meter_id, r);
    }
    return found;
  }, [live.data]);
  return (
    <Card
      title={
        <span className="flex items-center gap-2">
          <span className="relative flex h-2.5 w-2.5" aria-hidden>
            <span className="absolute inline-flex h-full w-full animate-ping rounded-full bg-good opacity-60" />
            <span className="relative inline-flex h-2.5 w-2.5 rounded-full bg-good" />
          </span>
          {t("meter.live")}
        </span>
      }
      actions={
        <span className="text-xs text-muted" data-testid="live-updated" aria-live="polite">
          {live.updatedAt ? t("common.updated", { time: fmtTime(live.updatedAt, locale, tz) }) : "…"} · {t("meter.liveHint", { seconds: LIVE_POLL_MS / 1000 })}
        </span>
      }
      testId="live"
    >
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
        {meters.map((m) => {
          const r = latest.get(m.meter_id);
          return (
            <div key={m.meter_id} className="rounded-lg border border-line bg-raised p-3" data-testid={`live-${m.meter_id}`}>
              <div className="flex items-center justify-between text-xs text-muted">
                <span>{meterLabel(m)}</span>
                <span className="h-2 w-2 rounded-full" style={{ background: KIND_COLOURS[m.kind] }} aria-hidden />
              </div>
              <div className="mt-1 text-xl font-semibold tabular-nums">{r ? `${fmtNumber(r.kwh * 4, locale, 2)} kW` : "–"}</div>
              <div className="text-xs text-muted">
                {m.name || m.meter_id} · {r ? t("meter.lastReading", { time: fmtTime(r.ts, locale, tz) }) : t("footer.noData")}
              </div>
            </div>
          );
        })}
      </div>
    </Card>
  );
}

function Breakdown({ meters, start, end, tz }: { meters: Meter[]; start: Date; end: Date; tz: string }) {
  const { t, locale } = useI18n();
  const meterLabel = (meter: Meter) => meterName(meter, t);
  const bucket: BucketName = end.getTime() - start.getTime() > 2 * 86_400_000 ? "day" : "hour";
  const state = useApi(
    () =>
      Promise.all(
        meters.map(async (m) => ({ meter: m, buckets: await loadSeries(bucket, start, end, m.meter_id) })),
      ),
    `breakdown-${start.toISOString()}-${end.toISOString()}-${meters.map((m) => m.meter_id).join()}`,
  );
  return (
    <Card title={t("meter.breakdown")} testId="breakdown">
      <Loadable state={state}>
        {(rows) => {
          const totals = rows.map((r) => ({ ...r, kwh: r.buckets.reduce((a, b) => a + b.kwh, 0) }));
          const all = totals.filter((r) => r.meter.kind !== "pv").reduce((a, r) => a + r.kwh, 0);
          const data = alignSeries(totals.map((r) => ({ ts: r.buckets.map((b) => toSeconds(b.start)), values: r.buckets.map((b) => b.kwh) })));
          return (
            <div className="grid grid-cols-1 gap-4 lg:grid-cols-3">
              <ul className="flex flex-col gap-3">
                {totals.map((r) => (
                  <li key={r.meter.meter_id}>
                    <div className="flex justify-between text-sm">
                      <span>{meterLabel(r.meter)} <span className="text-muted">({t(`meter.kind.${r.meter.kind}`)})</span></span>
                      <span className="tabular-nums">{fmtNumber(r.kwh, locale, 1)} kWh</span>
                    </div>
                    <div className="mt-1 h-2 rounded-full bg-raised" aria-hidden>
                      <div className="h-2 rounded-full" style={{ width: `${all ? Math.min(100, (r.kwh / all) * 100) : 0}%`, background: KIND_COLOURS[r.meter.kind] }} />
                    </div>
                  </li>
                ))}
              </ul>
              <div className="lg:col-span-2">
                <Chart
                  label={t("meter.breakdown")}
                  data={data}
                  timeZone={tz}
                  yLabel="kWh"
                  height={220}
                  emptyText={t("common.noData")}
                  series={totals.map((r) => ({ label: meterLabel(r.meter), colour: KIND_COLOURS[r.meter.kind] }))}
                />
              </div>
            </div>
          );
        }}
      </Loadable>
    </Card>
  );
}

export default function MeterPage() {
  const { t, locale } = useI18n();
  const meterLabel = (meter: Meter) => meterName(meter, t);
  const tenant = useTenant();
  const tz = tenant.timezone;
  const meters = useApi(() => api.get<Page<Meter>>("/meters"), "meters");
  // The view lives in the URL, so a view can be bookmarked and shared (?bucket=15min&range=year...).
  const [params, setParams] = useSearchParams();
  const bucket = pick(params.get("bucket"), BUCKETS, "hour");
  const range = pick(params.get("range"), RANGES, "week");
  const compare = pick(params.get("compare"), COMPARES, "previous_period");
  const meterId = params.get("meter") ?? "";
  const set = (key: string) => (value: string) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );
  const [setBucket, setRange, setCompare, setMeterId] = [set("bucket"), set("range"), set("compare"), set("meter")];
  const today = isoDate(new Date(), tz);

  const [start, end] = useMemo(() => {
    const endAt = zonedMidnight(new Date(), tz, 1);
    return [zonedMidnight(endAt, tz, -RANGE_DAYS[range]), endAt];
    // a new day moves the window
  }, [range, tz, today]);

  const trend = useApi(
    () => loadTrend(bucket, start, end, meterId || null, compare),
    `trend-${bucket}-${start.toISOString()}-${meterId}-${compare}`,
    bucket === "15min" && range === "day" ? LIVE_POLL_MS * 6 : undefined,
  );

  const chart = useMemo(() => {
    if (!trend.data) return null;
    const { current, previous, shiftSeconds, forecast } = trend.data;
    const series: TimeSeries[] = [{ ts: current.map((b) => toSeconds(b.start)), values: current.map((b) => b.kwh) }];
    const specs = [{ label: t("meter.current"), colour: "#818cf8", fill: true }] as {
      label: string;
      colour: string;
      fill?: boolean;
      dash?: number[];
    }[];
    if (previous) {
      series.push({ ts: previous.map((b) => toSeconds(b.start) + shiftSeconds), values: previous.map((b) => b.kwh) });
      specs.push({ label: t("meter.previous"), colour: "#94a3b8", dash: [6, 4] });
    }
    const fc = forecastSeries(forecast, bucket);
    if (fc) {
      series.push(fc);
      specs.push({ label: t("meter.forecast"), colour: "#fbbf24", dash: [2, 3] });
    }
    const sum = (bs: Bucket[]) => bs.reduce((a, b) => a + b.kwh, 0);
    const cost = current.reduce((a, b) => a + (b.cost_eur ?? 0), 0);
    return { data: alignSeries(series), specs, total: sum(current), previousTotal: previous ? sum(previous) : null, cost };
    // t changes with the language only
  }, [trend.data, bucket, t]);

  const meterList = meters.data?.items ?? [];

  return (
    <div className="flex flex-col gap-6">
      <PageHeader title={t("meter.title")} subtitle={tenant.name} />
      {meters.data ? <LivePanel meters={meterList} tz={tz} /> : <Spinner />}

      <Card title={t("meter.trend")} testId="trend">
        <div className="mb-4 flex flex-wrap items-end gap-3">
          <Field label={t("meter.bucket")} htmlFor="bucket">
            <Segmented
              label={t("meter.bucket")}
              value={bucket}
              onChange={setBucket}
              options={(["15min", "hour", "day", "month"] as BucketName[]).map((b) => ({ value: b, label: t(`meter.bucket.${b}`) }))}
            />
          </Field>
          <Field label={t("meter.range")} htmlFor="range">
            <Segmented
              label={t("meter.range")}
              value={range}
              onChange={setRange}
              options={(["day", "week", "month", "year"] as RangeName[]).map((r) => ({ value: r, label: t(`meter.range.${r}`) }))}
            />
          </Field>
          <Field label={t("meter.compare")} htmlFor="compare">
            <select id="compare" value={compare} onChange={(e) => setCompare(e.target.value)} className={inputClass}>
              {(["none", "previous_period", "previous_year"] as Compare[]).map((c) => (
                <option key={c} value={c}>{t(`meter.compare.${c}`)}</option>
              ))}
            </select>
          </Field>
          <Field label={t("meter.meter")} htmlFor="meter">
            <select id="meter" value={meterId} onChange={(e) => setMeterId(e.target.value)} className={inputClass}>
              <option value="">{t("meter.siteLoad")}</option>
              {meterList.map((m) => (
                <option key={m.meter_id} value={m.meter_id}>{`${meterLabel(m)} (${t(`meter.kind.${m.kind}`)})`}</option>
              ))}
            </select>
          </Field>
        </div>
        <Loadable state={trend}>
          {() =>
            chart && (
              <div className="flex flex-col gap-4">
                <div className="grid grid-cols-2 gap-3 lg:grid-cols-4">
                  <Stat label={t("meter.total")} value={`${fmtNumber(chart.total, locale, 1)} kWh`} testId="trend-total" raw={chart.total} />
                  <Stat label={t("meter.previous")} value={chart.previousTotal !== null ? `${fmtNumber(chart.previousTotal, locale, 1)} kWh` : "–"} />
                  <Stat
                    label={t("meter.changeLabel")}
                    value={trend.data?.changePct != null ? fmtPct(trend.data.changePct / 100, locale, true) : "–"}
                    tone={trend.data?.changePct != null ? (trend.data.changePct > 0 ? "warn" : "good") : undefined}
                  />
                  <Stat label={t("meter.cost")} value={fmtEur(chart.cost, locale)} />
                </div>
                <Chart
                  testId="trend-chart"
                  label={t("meter.trend")}
                  data={chart.data}
                  series={chart.specs}
                  timeZone={tz}
                  yLabel="kWh"
                  height={320}
                  emptyText={t("common.noData")}
                />
                <div className="flex justify-end">
                  <Badge tone="neutral">{t("meter.points", { n: chart.data.slice(1).reduce((a, c) => a + c.length, 0).toLocaleString(locale) })}</Badge>
                </div>
              </div>
            )
          }
        </Loadable>
      </Card>

      {meterList.length > 0 && <Breakdown meters={meterList} start={start} end={end} tz={tz} />}
      <Simulate tz={tz} />
    </div>
  );
}
