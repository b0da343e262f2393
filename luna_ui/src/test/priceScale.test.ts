import { describe, expect, it } from "vitest";
import { priceBand, priceColour, pricePosition, priceStats } from "../lib/priceScale";

describe("price colour scale", () => {
  it("runs from green for the cheapest to red for the most expensive price shown", () => {
    expect(priceColour(20, 20, 120)).toBe("hsl(140 70% 45%)");
    expect(priceColour(120, 20, 120)).toBe("hsl(0 70% 45%)");
    expect(priceColour(70, 20, 120)).toBe("hsl(70 70% 45%)");
  });

  it("is monotonic: a dearer hour never gets a greener colour", () => {
    const hue = (p: number) => Number(/hsl\((\d+)/.exec(priceColour(p, -50, 300))![1]);
    const prices = [-50, -10, 0, 35.5, 80, 150, 299, 300];
    const hues = prices.map(hue);
    expect([...hues].sort((a, b) => b - a)).toEqual(hues);
  });

  it("handles negative prices, equal prices and outliers outside the range", () => {
    expect(pricePosition(-20, -20, 40)).toBe(0);
    expect(pricePosition(55, 55, 55)).toBe(0.5);
    expect(pricePosition(500, 0, 100)).toBe(1);
    expect(pricePosition(Number.NaN, 0, 100)).toBe(0.5);
  });

  it("splits the range into thirds: cheap, normal, expensive", () => {
    expect(priceBand(10, 0, 90)).toBe("cheap");
    expect(priceBand(45, 0, 90)).toBe("normal");
    expect(priceBand(80, 0, 90)).toBe("expensive");
    expect(priceBand(42, 42, 42)).toBe("normal");
  });

  it("summarises prices, ignoring gaps", () => {
    expect(priceStats([10, Number.NaN, 30, 20])).toEqual({ min: 10, max: 30, avg: 20 });
    expect(priceStats([])).toBeNull();
  });
});
