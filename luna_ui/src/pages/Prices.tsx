import { useMemo, useState, type FormEvent } from "react";
import { alignSeries, Chart, toSeconds } from "../components/Chart";
import { Button, Card, Field, inputClass, Loadable, PageHeader, Segmented, Stat } from "../components/ui";
import { api } from "../lib/api";
import { fmtDateTime, fmtNumber, fmtTime, isoDate, zonedMidnight } from "../lib/format";
import { useI18n } from "../lib/i18n";
import { priceColour, priceStats } from "../lib/priceScale";
import { useTenant } from "../lib/tenant";
import type { Price, Prices } from "../lib/types";
import { useApi } from "../lib/useApi";

type Range = "7" | "30" | "90" | "365";

/** Consecutive slots joined into windows, for a readable answer ("01:00–04:00"). */
export function mergeWindows(slots: Price[]): { start: string; end: string; avg: number }[] {
  const windows: { start: string; end: string; sum: number; n: number }[] = [];
  for (const slot of slots) {
    const startMs = Date.parse(slot.ts);
    const endMs = startMs + slot.resolution_minutes * 60_000;
    const last = windows[windows.length - 1];
    if (last && Date.parse(last.end) === startMs) {
      last.end = new Date(endMs).toISOString();
      last.sum += slot.eur_per_mwh;
      last.n += 1;
    } else {
      windows.push({ start: slot.ts, end: new Date(endMs).toISOString(), sum: slot.eur_per_mwh, n: 1 });
    }
  }
  return windows.map((w) => ({ start: w.start, end: w.end, avg: w.sum / w.n }));
}

function PriceScaleLegend() {
  const { t } = useI18n();
  return (
    <div className="flex items-center gap-2 text-xs text-muted" aria-hidden>
      <span>{t("prices.legendCheap")}</span>
      <span className="h-2 w-24 rounded-full" style={{ background: "linear-gradient(90deg, hsl(140 70% 45%), hsl(70 70% 45%), hsl(0 70% 45%))" }} />
      <span>{t("prices.legendExpensive")}</span>
    </div>
  );
}

export default function PricesPage() {
  const { t, locale } = useI18n();
  const tenant = useTenant();
  const tz = tenant.timezone;
  const midnight = zonedMidnight(new Date(), tz);
  const dayKey = isoDate(new Date(), tz);

  const twoDays = useApi(
    () =>
      api.get<Prices>("/market/prices", {
        start: midnight.toISOString(),
        end: zonedMidnight(midnight, tz, 2).toISOString(),
      }),
    `prices-${dayKey}-${tz}`,
    5 * 60_000,
  );

  const [slots, setSlots] = useState(3);
  const [asked, setAsked] = useState(3);
  const cheapest = useApi(
    () => {
      const now = new Date();
      now.setMinutes(0, 0, 0);
      return api.get<Prices>("/market/prices", {
        start: now.toISOString(),
        end: new Date(now.getTime() + 48 * 3_600_000).toISOString(),
        cheapest: asked,
      });
    },
    `cheapest-${asked}`,
  );

  const [range, setRange] = useState<Range>("30");
  const history = useApi(
    () =>
      api.get<Prices>("/market/prices", {
        start: zonedMidnight(midnight, tz, -Number(range)).toISOString(),
        end: zonedMidnight(midnight, tz, 1).toISOString(),
      }),
    `history-${range}-${dayKey}`,
  );

  const lastWeek = (offset: number) => isoDate(zonedMidnight(midnight, tz, offset), tz);
  const [periodA, setPeriodA] = useState({ from: lastWeek(-7), to: lastWeek(0) });
  const [periodB, setPeriodB] = useState({ from: lastWeek(-14), to: lastWeek(-7) });
  const [compared, setCompared] = useState({ a: periodA, b: periodB });
  const comparison = useApi(
    () => {
      const load = (p: { from: string; to: string }) =>
        api.get<Prices>("/market/prices", {
          start: zonedMidnight(new Date(`${p.from}T12:00:00Z`), tz).toISOString(),
          end: zonedMidnight(new Date(`${p.to}T12:00:00Z`), tz).toISOString(),
        });
      return Promise.all([load(compared.a), load(compared.b)]);
    },
    JSON.stringify(compared),
  );

  const todayView = useMemo(() => {
    const prices = twoDays.data?.prices ?? [];
    const stats = priceStats(prices.map((p) => p.eur_per_mwh));
    const colours = prices.map((p) => (stats ? priceColour(p.eur_per_mwh, stats.min, stats.max) : "#888"));
    const data = alignSeries([{ ts: prices.map((p) => toSeconds(p.ts)), values: prices.map((p) => p.eur_per_mwh) }]);
    const tomorrowStart = zonedMidnight(midnight, tz, 1).getTime();
    const hasTomorrow = prices.some((p) => Date.parse(p.ts) >= tomorrowStart);
    const nowMs = Date.now();
    const current = prices.find((p) => Date.parse(p.ts) <= nowMs && nowMs < Date.parse(p.ts) + p.resolution_minutes * 60_000);
    return { prices, stats, colours, data, hasTomorrow, current };
    // midnight is derived from dayKey and tz
  }, [twoDays.data, dayKey, tz]);

  const historyData = useMemo(() => {
    const prices = history.data?.prices ?? [];
    return alignSeries([{ ts: prices.map((p) => toSeconds(p.ts)), values: prices.map((p) => p.eur_per_mwh) }]);
  }, [history.data]);

  const comparisonView = useMemo(() => {
    if (!comparison.data) return null;
    const [a, b] = comparison.data;
    const shift = Date.parse(`${compared.a.from}T00:00:00Z`) / 1000 - Date.parse(`${compared.b.from}T00:00:00Z`) / 1000;
    const data = alignSeries([
      { ts: a.prices.map((p) => toSeconds(p.ts)), values: a.prices.map((p) => p.eur_per_mwh) },
      { ts: b.prices.map((p) => toSeconds(p.ts) + shift), values: b.prices.map((p) => p.eur_per_mwh) },
    ]);
    return { data, a: priceStats(a.prices.map((p) => p.eur_per_mwh)), b: priceStats(b.prices.map((p) => p.eur_per_mwh)) };
  }, [comparison.data, compared]);

  function findCheapest(event: FormEvent) {
    event.preventDefault();
    setAsked(Math.min(48, Math.max(1, slots)));
  }

  const fmtPrice = (v: number | undefined) => (v === undefined ? "–" : `${fmtNumber(v, locale, 2)} €/MWh`);
  // What a kWh costs this tenant now on its own tariff (fees, levies, VAT included), when it has one.
  const allIn = todayView.current?.all_in_ct_kwh;
  const allInHint =
    allIn !== null && allIn !== undefined ? (
      <span data-testid="price-now-all-in">{t("prices.allIn", { price: fmtNumber(allIn, locale, 1) })}</span>
    ) : twoDays.data?.cost_basis === "wholesale" ? (
      t("prices.wholesaleOnly")
    ) : undefined;

  return (
    <div className="flex flex-col gap-6">
      <PageHeader title={t("prices.title")} subtitle={t("prices.subtitle", { zone: twoDays.data?.zone ?? tenant.zone })} actions={<PriceScaleLegend />} />

      <Loadable state={twoDays}>
        {() => (
          <>
            <div className="grid grid-cols-2 gap-4 lg:grid-cols-4">
              <Stat label={t("prices.now")} value={fmtPrice(todayView.current?.eur_per_mwh)} hint={allInHint} testId="price-now" />
              <Stat label={t("prices.min")} value={fmtPrice(todayView.stats?.min)} tone="good" />
              <Stat label={t("prices.avg")} value={fmtPrice(todayView.stats?.avg)} />
              <Stat label={t("prices.max")} value={fmtPrice(todayView.stats?.max)} tone="bad" />
            </div>
            <Card title={`${t("common.today")} & ${t("common.tomorrow")}`} testId="prices-today">
              <Chart
                testId="prices-chart"
                label={`${t("prices.title")}: ${t("common.today")}, ${t("common.tomorrow")}`}
                data={todayView.data}
                series={[{ label: "EUR/MWh", colour: "#818cf8", kind: "bars", pointColours: todayView.colours }]}
                timeZone={tz}
                yLabel="EUR/MWh"
                emptyText={t("common.noData")}
              />
              {!todayView.hasTomorrow && <p className="mt-3 text-sm text-muted">{t("prices.notPublished")}</p>}
              <details className="mt-3 text-sm">
                <summary className="cursor-pointer text-muted">{t("prices.hour")} / {t("prices.price")}</summary>
                <ul className="mt-2 grid grid-cols-2 gap-1 sm:grid-cols-4 lg:grid-cols-6" data-testid="price-cells">
                  {todayView.prices.map((p, i) => (
                    <li key={p.ts} className="flex justify-between rounded px-2 py-1 text-xs text-white" style={{ background: todayView.colours[i] }}>
                      <span>{fmtDateTime(p.ts, locale, tz)}</span>
                      <span className="font-semibold tabular-nums">{fmtNumber(p.eur_per_mwh, locale, 1)}</span>
                    </li>
                  ))}
                </ul>
              </details>
            </Card>
          </>
        )}
      </Loadable>

      <Card title={t("prices.cheapest")} testId="cheapest">
        <p className="mb-3 text-sm text-muted">{t("prices.cheapestHint")}</p>
        <form onSubmit={findCheapest} className="flex flex-wrap items-end gap-3">
          <Field label={t("prices.slots")} htmlFor="cheapest-n">
            <input id="cheapest-n" type="number" min={1} max={48} value={slots} onChange={(e) => setSlots(Number(e.target.value))} className={`${inputClass} w-28`} />
          </Field>
          <Button type="submit" variant="primary">{t("prices.find")}</Button>
        </form>
        <div className="mt-4">
          <Loadable state={cheapest}>
            {(data) => {
              const found = data.cheapest ?? [];
              const stats = priceStats(found.map((p) => p.eur_per_mwh));
              if (!found.length) return <p className="text-sm text-muted">{t("common.noData")}</p>;
              return (
                <div>
                  <p className="text-sm font-medium" data-testid="cheapest-summary">
                    {t("prices.cheapestResult", { n: found.length, avg: fmtNumber(stats?.avg, locale, 2) })}
                  </p>
                  <ul className="mt-2 flex flex-wrap gap-2">
                    {mergeWindows(found).map((w) => (
                      <li key={w.start} className="rounded-lg border border-good/40 bg-good/10 px-3 py-1.5 text-sm">
                        {fmtDateTime(w.start, locale, tz)}–{fmtTime(w.end, locale, tz)} · {fmtNumber(w.avg, locale, 1)}
                      </li>
                    ))}
                  </ul>
                </div>
              );
            }}
          </Loadable>
        </div>
      </Card>

      <Card
        title={t("prices.history")}
        actions={
          <Segmented
            label={t("prices.history")}
            value={range}
            onChange={setRange}
            options={(["7", "30", "90", "365"] as Range[]).map((r) => ({ value: r, label: t(`prices.range.${r}`) }))}
          />
        }
      >
        <Loadable state={history}>
          {() => (
            <Chart testId="prices-history" label={t("prices.history")} data={historyData} series={[{ label: "EUR/MWh", colour: "#818cf8", fill: true }]} timeZone={tz} yLabel="EUR/MWh" emptyText={t("common.noData")} />
          )}
        </Loadable>
      </Card>

      <Card title={t("prices.compare")} testId="compare">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setCompared({ a: periodA, b: periodB });
          }}
          className="flex flex-wrap items-end gap-4"
        >
          {([["a", periodA, setPeriodA], ["b", periodB, setPeriodB]] as const).map(([id, period, set]) => (
            <fieldset key={id} className="flex flex-wrap items-end gap-2">
              <legend className="mb-1 text-xs font-medium text-muted">{t(id === "a" ? "prices.periodA" : "prices.periodB")}</legend>
              <Field label={t("common.from")} htmlFor={`${id}-from`}>
                <input id={`${id}-from`} type="date" value={period.from} onChange={(e) => set({ ...period, from: e.target.value })} className={inputClass} />
              </Field>
              <Field label={t("common.to")} htmlFor={`${id}-to`}>
                <input id={`${id}-to`} type="date" value={period.to} onChange={(e) => set({ ...period, to: e.target.value })} className={inputClass} />
              </Field>
            </fieldset>
          ))}
          <Button type="submit" variant="primary">{t("common.apply")}</Button>
        </form>
        <div className="mt-4">
          <Loadable state={comparison}>
            {() =>
              comparisonView && (
                <div className="flex flex-col gap-4">
                  <div className="grid grid-cols-1 gap-3 sm:grid-cols-3">
                    <Stat label={`${t("prices.periodA")} · ${t("prices.avg")}`} value={fmtPrice(comparisonView.a?.avg)} />
                    <Stat label={`${t("prices.periodB")} · ${t("prices.avg")}`} value={fmtPrice(comparisonView.b?.avg)} />
                    <Stat
                      label={t("prices.difference")}
                      value={comparisonView.a && comparisonView.b ? fmtNumber(comparisonView.a.avg - comparisonView.b.avg, locale, 2) : "–"}
                    />
                  </div>
                  <Chart
                    label={t("prices.compare")}
                    data={comparisonView.data}
                    series={[
                      { label: t("prices.periodA"), colour: "#818cf8" },
                      { label: t("prices.periodB"), colour: "#f59e0b", dash: [5, 4] },
                    ]}
                    timeZone={tz}
                    yLabel="EUR/MWh"
                    emptyText={t("common.noData")}
                  />
                </div>
              )
            }
          </Loadable>
        </div>
      </Card>
    </div>
  );
}
