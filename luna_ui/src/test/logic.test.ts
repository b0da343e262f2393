import { describe, expect, it } from "vitest";
import { decodeClaims, withQuery } from "../lib/api";
import { fmtMonth, greetingName, isoDate, relativeDay, zonedMidnight } from "../lib/format";
import { normalDay } from "../pages/Home";
import { comparisonWindow, forecastSeries, sliceWindow } from "../pages/Meter";
import { mergeWindows } from "../pages/Prices";

describe("time zones", () => {
  it("finds local midnight, also on the days the clocks change", () => {
    expect(zonedMidnight(new Date("2026-03-29T12:00:00Z"), "Europe/Berlin").toISOString()).toBe("2026-03-28T23:00:00.000Z");
    expect(zonedMidnight(new Date("2026-03-29T12:00:00Z"), "Europe/Berlin", 1).toISOString()).toBe("2026-03-29T22:00:00.000Z");
    expect(zonedMidnight(new Date("2026-10-25T12:00:00Z"), "Europe/Berlin", 1).toISOString()).toBe("2026-10-25T23:00:00.000Z");
    expect(isoDate(new Date("2026-06-30T22:30:00Z"), "Europe/Berlin")).toBe("2026-07-01");
  });
});

describe("today or tomorrow, in the tenant's time zone", () => {
  it("names the plan day relative to the local date, across midnight, month end and DST", () => {
    // 00:30 in Berlin on 1 December is still 30 November in UTC.
    expect(relativeDay("2026-12-01", "Europe/Berlin", new Date("2026-11-30T23:30:00Z"))).toBe("today");
    expect(relativeDay("2026-12-02", "Europe/Berlin", new Date("2026-11-30T23:30:00Z"))).toBe("tomorrow");
    expect(relativeDay("2026-12-01", "Europe/Berlin", new Date("2026-11-30T22:30:00Z"))).toBe("tomorrow");
    expect(relativeDay("2026-11-30", "Europe/Berlin", new Date("2026-11-30T23:30:00Z"))).toBeNull();
    // The 25-hour day when summer time ends, and the 23-hour day when it begins.
    expect(relativeDay("2026-10-26", "Europe/Berlin", new Date("2026-10-25T22:59:00Z"))).toBe("tomorrow");
    expect(relativeDay("2026-10-26", "Europe/Berlin", new Date("2026-10-25T23:00:00Z"))).toBe("today");
    expect(relativeDay("2026-03-30", "Europe/Berlin", new Date("2026-03-29T21:59:00Z"))).toBe("tomorrow");
    expect(relativeDay("2026-03-30", "Europe/Berlin", new Date("2026-03-29T22:00:00Z"))).toBe("today");
  });
});

describe("home: a normal day so far", () => {
  it("averages the history's days up to the same local time of day", () => {
    const buckets = [];
    for (const day of ["2026-05-01", "2026-05-02"]) {
      for (let q = 0; q < 96; q++) {
        const start = new Date(Date.parse(`${day}T00:00:00+02:00`) + q * 900_000).toISOString();
        buckets.push({ start, kwh: day === "2026-05-01" ? 1 : 3, cost_eur: null, intervals: 1, unpriced_intervals: 0 });
      }
    }
    const normal = normalDay(buckets, 6 * 60, "Europe/Berlin"); // up to 06:00 local: 24 quarters
    expect(normal.days).toBe(2);
    expect(normal.soFar).toBe(48); // (24 * 1 + 24 * 3) / 2
    expect(normal.profile.get(0)).toEqual({ sum: 4, days: 2 });
  });
});

describe("smart meter", () => {
  it("slices a year of 15-minute data into requests the API accepts", () => {
    const slices = sliceWindow(new Date("2025-01-01T00:00:00Z"), new Date("2026-01-01T00:00:00Z"), 30);
    expect(slices).toHaveLength(13);
    expect(slices[0][0].toISOString()).toBe("2025-01-01T00:00:00.000Z");
    expect(slices.at(-1)![1].toISOString()).toBe("2026-01-01T00:00:00.000Z");
    for (let i = 1; i < slices.length; i++) expect(slices[i][0].getTime()).toBe(slices[i - 1][1].getTime());
  });

  it("compares with the period before or the year before", () => {
    const start = new Date("2026-05-01T00:00:00Z");
    const end = new Date("2026-05-08T00:00:00Z");
    expect(comparisonWindow(start, end, "previous_period").map((d) => d.toISOString())).toEqual(["2026-04-24T00:00:00.000Z", "2026-05-01T00:00:00.000Z"]);
    expect(comparisonWindow(start, end, "previous_year")[0].toISOString()).toBe("2025-05-01T00:00:00.000Z");
  });

  it("spreads an hourly forecast over the quarters at 15-minute resolution", () => {
    const forecast = { target: "load", model_name: "m", model_versions: ["1"], issued_at: null, points: [{ ts: "2026-05-01T10:00:00Z", kwh: 2, model_version: "1" }] };
    const quarters = forecastSeries(forecast, "15min")!;
    expect(Array.from(quarters.values)).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(quarters.ts[3] - quarters.ts[0]).toBe(2700);
    expect(forecastSeries(forecast, "hour")!.values).toEqual([2]);
    expect(forecastSeries(null, "hour")).toBeNull();
  });
});

describe("prices: cheapest windows", () => {
  it("joins consecutive cheapest slots into windows", () => {
    const slot = (ts: string, p: number) => ({ ts, eur_per_mwh: p, resolution_minutes: 60 });
    const windows = mergeWindows([slot("2026-05-01T01:00:00Z", 10), slot("2026-05-01T02:00:00Z", 20), slot("2026-05-01T13:00:00Z", 5)]);
    expect(windows).toEqual([
      { start: "2026-05-01T01:00:00Z", end: "2026-05-01T03:00:00.000Z", avg: 15 },
      { start: "2026-05-01T13:00:00Z", end: "2026-05-01T14:00:00.000Z", avg: 5 },
    ]);
  });
});

describe("api client helpers", () => {
  it("reads the claims of an access token", () => {
    const payload = btoa(JSON.stringify({ sub: "7", tenant: "acme", role: "admin", platform: false, email: "a@b.de", exp: 1 }))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    expect(decodeClaims(`x.${payload}.y`)).toMatchObject({ tenant: "acme", role: "admin" });
  });

  it("drops empty query parameters", () => {
    expect(withQuery("/x", { a: 1, b: null, c: "", d: undefined, e: "é" })).toBe("/x?a=1&e=%C3%A9");
  });
});

describe("names and months as the reader says them", () => {
  it("greets a person by first name and a shared mailbox by nobody's", () => {
    expect(greetingName("anna.schmidt@example.com")).toBe("Anna");
    expect(greetingName("customer@household.luna-demo.example.com")).toBe("");
    expect(greetingName("Info@bakery.example")).toBe("");
    expect(greetingName("user42@example.com")).toBe("");
    expect(greetingName(null)).toBe("");
  });

  it("prints a ledger month as a month, not a date", () => {
    expect(fmtMonth("2026-12-01", "de-DE")).toBe("Dezember 2026");
    expect(fmtMonth("2026-03-01", "en-GB")).toBe("March 2026");
  });
});
