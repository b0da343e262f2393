/* uPlot wrapper: canvas drawing keeps a year of 15-minute data (35k points per series) fast. */
import { createContext, useContext, useEffect, useRef } from "react";
import { useI18n } from "../lib/i18n";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export type Theme = "dark" | "light";
export const ChartThemeContext = createContext<Theme>("dark");

export interface SeriesSpec {
  label: string;
  colour: string;
  kind?: "line" | "bars" | "step";
  dash?: number[];
  fill?: boolean;
  /** Bars only: one colour per point (the price scale). */
  pointColours?: string[];
  scale?: string;
  width?: number;
}

/** x in seconds since the epoch (uPlot's unit), y values with null for gaps. */
export interface TimeSeries {
  ts: ArrayLike<number>;
  values: ArrayLike<number | null>;
}

/**
 * Joins series on one x axis (uPlot needs that). Series that share the same x array are passed
 * through without copying; otherwise x is the sorted union and missing points are null.
 */
export function alignSeries(series: TimeSeries[]): uPlot.AlignedData {
  if (!series.length) return [[]];
  const first = series[0].ts;
  const shared = series.every((s) => s.ts === first || sameArray(s.ts, first));
  if (shared) return [Array.from(first), ...series.map((s) => Array.from(s.values))] as uPlot.AlignedData;
  const union = new Set<number>();
  for (const s of series) for (let i = 0; i < s.ts.length; i++) union.add(s.ts[i]);
  const xs = Float64Array.from(union).sort();
  const index = new Map<number, number>();
  xs.forEach((x, i) => index.set(x, i));
  const columns = series.map((s) => {
    const column: (number | null)[] = new Array(xs.length).fill(null);
    for (let i = 0; i < s.ts.length; i++) column[index.get(s.ts[i])!] = s.values[i];
    return column;
  });
  return [Array.from(xs), ...columns] as uPlot.AlignedData;
}

function sameArray(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toSeconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

export function pointCount(data: uPlot.AlignedData): number {
  return data.slice(1).reduce((sum, column) => sum + column.length, 0);
}

/** Distinct y scales in order of first use (a second one gets an axis on the right). */
export function scalesOf(series: SeriesSpec[]): string[] {
  return [...new Set(series.map((s) => s.scale ?? "y"))];
}

function themeColours(theme: Theme) {
  return theme === "dark"
    ? { axis: "#9aa8c0", grid: "rgba(154,168,192,0.12)" }
    : { axis: "#475569", grid: "rgba(71,85,105,0.15)" };
}

/** Tick labels in the user's language and the tenant's zone: times below a day, dates above, months above four weeks. */
export function timeTicks(locale: string, timeZone: string) {
  const time = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone });
  const day = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", timeZone });
  const month = new Intl.DateTimeFormat(locale, { month: "short", year: "numeric", timeZone });
  return (splits: number[], increment: number): string[] =>
    splits.map((s) => {
      const date = new Date(s * 1000);
      if (increment >= 28 * 86_400) return month.format(date);
      if (increment >= 86_400) return day.format(date);
      const hhmm = time.format(date);
      return hhmm === "00:00" ? day.format(date) : hhmm;
    });
}

export function buildOptions(
  series: SeriesSpec[],
  width: number,
  height: number,
  theme: Theme,
  timeZone: string,
  yLabel?: string,
  locale = "en-GB",
): uPlot.Options {
  const colours = themeColours(theme);
  const axis = { stroke: colours.axis, grid: { stroke: colours.grid, width: 1 }, ticks: { stroke: colours.grid } };
  const ticks = timeTicks(locale, timeZone);
  const full = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone });
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 3 });
  return {
    width,
    height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone),
    cursor: { drag: { x: true, y: false } },
    legend: { live: true },
    scales: { x: { time: true } },
    axes: [
      { ...axis, values: (_u, splits, _axis, _space, increment) => ticks(splits, increment) },
      ...scalesOf(series).map((scale, i) => ({
        ...axis,
        scale,
        side: i === 0 ? 3 : 1,
        label: i === 0 ? yLabel : undefined,
        size: 60,
        grid: i === 0 ? axis.grid : { show: false },
      })),
    ],
    series: [
      { label: locale.startsWith("de") ? "Zeit" : "Time", value: (_u, v) => (v == null ? "–" : full.format(new Date(v * 1000))) },
      ...series.map((s): uPlot.Series => {
        const base: uPlot.Series = {
          label: s.label,
          stroke: s.colour,
          width: s.width ?? 1.5,
          dash: s.dash,
          scale: s.scale ?? "y",
          spanGaps: false,
          points: { show: false },
          value: (_u, v) => (v == null ? "–" : number.format(v)),
        };
        if (s.kind === "bars") {
          return {
            ...base,
            fill: s.pointColours ? undefined : s.colour + "99",
            paths: uPlot.paths.bars!({
              size: [0.8, 64],
              disp: s.pointColours
                ? { fill: { unit: 3, values: () => s.pointColours! }, stroke: { unit: 3, values: () => s.pointColours! } }
                : undefined,
            }),
          };
        }
        if (s.kind === "step") return { ...base, paths: uPlot.paths.stepped!({ align: 1 }) };
        return { ...base, fill: s.fill ? s.colour + "22" : undefined };
      }),
    ],
  };
}

interface ChartProps {
  data: uPlot.AlignedData;
  series: SeriesSpec[];
  height?: number;
  timeZone: string;
  yLabel?: string;
  emptyText: string;
  label: string;
  testId?: string;
}

export function Chart({ data, series, height = 280, timeZone, yLabel, emptyText, label, testId }: ChartProps) {
  const theme = useContext(ChartThemeContext);
  const { locale } = useI18n();
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shown = useRef<uPlot.AlignedData | null>(null);
  const empty = data[0].length === 0;
  const shape = JSON.stringify({ s: series.map((s) => [s.label, s.colour, s.kind, s.dash, s.scale, s.pointColours?.join()]), height, theme, timeZone, yLabel, locale });
  const points = pointCount(data);

  // (Re)create when the shape changes; only swap data otherwise.
  useEffect(() => {
    const element = container.current;
    if (!element || empty) return;
    const width = Math.max(200, element.clientWidth);
    const options = buildOptions(series, width, height, theme, timeZone, yLabel, locale);
    options.hooks = {
      draw: [
        () => {
          // When the data first showed, in ms since navigation start (read by the e2e tests and bench/ui.py).
          if (!element.dataset.drawnMs) element.dataset.drawnMs = String(Math.round(performance.now()));
          element.setAttribute("data-chart-ready", "true");
        },
      ],
    };
    const created = new uPlot(options, data, element);
    shown.current = data;
    plot.current = created;
    const observer = typeof ResizeObserver !== "undefined"
      ? new ResizeObserver(() => created.setSize({ width: Math.max(200, element.clientWidth), height }))
      : null;
    observer?.observe(element);
    return () => {
      observer?.disconnect();
      created.destroy();
      plot.current = null;
      element.removeAttribute("data-chart-ready");
      delete element.dataset.drawnMs;
    };
    // data is applied by the effect below; series is part of `shape` (colours per point included)
  }, [shape, empty]);

  useEffect(() => {
    if (plot.current && !empty && shown.current !== data) {
      plot.current.setData(data);
      shown.current = data;
    }
  }, [data, empty]);

  if (empty) {
    return (
      <div role="img" aria-label={label} data-testid={testId} data-points={0} className="flex items-center justify-center rounded-lg border border-dashed border-line text-sm text-muted" style={{ height }}>
        {emptyText}
      </div>
    );
  }
  return <div ref={container} role="img" aria-label={label} data-testid={testId} data-points={points} className="w-full overflow-hidden" />;
}
