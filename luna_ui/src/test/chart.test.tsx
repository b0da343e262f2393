import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { alignSeries, buildOptions, Chart, pointCount, scalesOf, timeTicks } from "../components/Chart";
import { I18nProvider } from "../lib/i18n";

describe("chart wrapper", () => {
  it("passes series that share their x values through without a merge", () => {
    const ts = [0, 900, 1800];
    const data = alignSeries([
      { ts, values: [1, 2, 3] },
      { ts: [0, 900, 1800], values: [4, null, 6] },
    ]);
    expect(data).toEqual([[0, 900, 1800], [1, 2, 3], [4, null, 6]]);
    expect(pointCount(data)).toBe(6);
  });

  it("joins series on the sorted union of their x values, with gaps as null", () => {
    const data = alignSeries([
      { ts: [0, 3600], values: [1, 2] },
      { ts: [1800, 3600, 7200], values: [5, 6, 7] },
    ]);
    expect(data[0]).toEqual([0, 1800, 3600, 7200]);
    expect(data[1]).toEqual([1, null, 2, null]);
    expect(data[2]).toEqual([null, 5, 6, 7]);
  });

  it("aligns a year of 15-minute data for three series", () => {
    const n = 35_040;
    const ts = Array.from({ length: n }, (_, i) => 1_767_222_000 + i * 900);
    const shifted = ts.map((x) => x + 450);
    const data = alignSeries([
      { ts, values: ts.map((_, i) => i % 96) },
      { ts, values: ts.map(() => 1) },
      { ts: shifted, values: shifted.map(() => 2) },
    ]);
    expect(data[0]).toHaveLength(2 * n);
    expect(pointCount(data)).toBe(3 * 2 * n);
    expect((data[0] as number[]).every((x, i, xs) => i === 0 || xs[i - 1] < x)).toBe(true);
  });

  it("gives a second y scale its own axis on the right", () => {
    const options = buildOptions(
      [
        { label: "price", colour: "#000", scale: "price" },
        { label: "kW", colour: "#111", scale: "kw" },
        { label: "kW optimised", colour: "#222", scale: "kw" },
      ],
      600,
      200,
      "dark",
      "Europe/Berlin",
    );
    expect(scalesOf([{ label: "a", colour: "" }, { label: "b", colour: "", scale: "kw" }])).toEqual(["y", "kw"]);
    expect(options.axes).toHaveLength(3);
    expect(options.axes![2].side).toBe(1);
    expect(options.series.map((s) => s.scale)).toEqual([undefined, "price", "kw", "kw"]);
  });

  it("shows time in the tenant's zone", () => {
    const options = buildOptions([{ label: "a", colour: "#000" }], 600, 200, "light", "Europe/Berlin");
    const shown = options.tzDate!(Date.UTC(2026, 0, 1, 23, 0) / 1000);
    expect(shown.getHours()).toBe(0); // midnight in Berlin
  });

  it("labels ticks in the user's language: 24-hour times, the date at midnight, months for long ranges", () => {
    const de = timeTicks("de-DE", "Europe/Berlin");
    const midnight = Date.UTC(2026, 4, 31, 22) / 1000; // 1 June 00:00 in Berlin
    expect(de([midnight - 3600 * 5, midnight], 3600)).toEqual(["19:00", "1. Juni"]);
    expect(de([midnight], 30 * 86_400)).toEqual(["Juni 2026"]);
    expect(timeTicks("en-GB", "Europe/Berlin")([midnight + 13.5 * 3600], 1800)).toEqual(["13:30"]);
  });

  it("says so instead of drawing an empty canvas", () => {
    render(
      <I18nProvider>
        <Chart data={[[]]} series={[{ label: "kWh", colour: "#000" }]} timeZone="UTC" emptyText="No data yet" label="Consumption" />
      </I18nProvider>,
    );
    const chart = screen.getByRole("img", { name: "Consumption" });
    expect(chart).toHaveTextContent("No data yet");
    expect(chart.querySelector("canvas")).toBeNull();
  });
});
