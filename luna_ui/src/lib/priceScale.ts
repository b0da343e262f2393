/* Colour scale for prices: green (cheap) through amber to red (expensive), relative to the range shown. */

export type PriceBand = "cheap" | "normal" | "expensive";

/** 0 for the cheapest price shown, 1 for the most expensive; 0.5 when all are equal. */
export function pricePosition(price: number, min: number, max: number): number {
  if (!Number.isFinite(price) || !Number.isFinite(min) || !Number.isFinite(max) || max <= min) return 0.5;
  return Math.min(1, Math.max(0, (price - min) / (max - min)));
}

/** Hue 140 (green) to 0 (red) through amber; lightness kept readable on dark and light backgrounds. */
export function priceColour(price: number, min: number, max: number): string {
  const hue = Math.round(140 * (1 - pricePosition(price, min, max)));
  return `hsl(${hue} 70% 45%)`;
}

/** Lowest third of the range shown is cheap, highest third expensive. */
export function priceBand(price: number, min: number, max: number): PriceBand {
  const position = pricePosition(price, min, max);
  if (max <= min) return "normal";
  if (position < 1 / 3) return "cheap";
  if (position > 2 / 3) return "expensive";
  return "normal";
}

export function priceStats(prices: number[]): { min: number; max: number; avg: number } | null {
  const finite = prices.filter(Number.isFinite);
  if (!finite.length) return null;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const p of finite) {
    if (p < min) min = p;
    if (p > max) max = p;
    sum += p;
  }
  return { min, max, avg: sum / finite.length };
}
