"""Tariff comparison benchmark: a year of 15-minute grid flows per tenant priced on its tariff and
on the three default alternatives (fixed, dynamic, time of use), as ``POST /tariffs/compare`` does
after reading the rows (``luna_core.tariffs.service.compare_usage``: local calendar, version lookup,
per-slot prices, monthly bills with rounding, yearly totals).

Synthetic, no database: per tenant a load of a morning and an evening peak with noise, a PV share on
every third tenant (export credited at the EEG rate), hourly day-ahead prices of a daily shape with
noise and some negative hours; 12 local months from --start (35,040 quarter-hours, both clock
changes). Times each tenant's comparison (the calendar is rebuilt per tenant, as per request).
Prints the cheapest option's share, p50/p95 per tenant and, last, ``tariff_compare_p95_ms=<x>``.

    python bench/tariffs.py [--tenants 100] [--start 2025-12-01]
"""

from __future__ import annotations

import argparse
import time as clock
from collections import Counter
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np

from luna_core.tariffs import defaults
from luna_core.tariffs.bills import Usage
from luna_core.tariffs.pricing import SLOTS_PER_HOUR, slots_between, spot_per_slot
from luna_core.tariffs.service import TenantTariffs, compare_usage

TIMEZONE = "Europe/Berlin"


def _year(start: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(TIMEZONE)
    first = datetime.combine(start, time(0), zone).astimezone(UTC)
    last = datetime.combine(start.replace(year=start.year + 1), time(0), zone).astimezone(UTC)
    return first, last


def _prices(rng: np.random.Generator, hours: np.ndarray) -> np.ndarray:
    hour_of_day = (hours.astype("datetime64[h]").astype(np.int64) % 24).astype(float)
    shape = 90 + 35 * np.sin((hour_of_day - 11) / 24 * 2 * np.pi) - 30 * np.exp(-((hour_of_day - 13) ** 2) / 6)
    return shape + rng.normal(0, 25, len(hours))


def _usage(rng: np.random.Generator, slots, index: int) -> Usage:
    minute = slots.minute.astype(float)
    scale = 1.0 if index % 2 else 4.0
    load_kw = scale * (
        0.3 + 0.5 * np.exp(-((minute - 7 * 60) ** 2) / 7200) + 0.9 * np.exp(-((minute - 19 * 60) ** 2) / 9000)
    )
    load = np.maximum(load_kw + rng.normal(0, 0.1 * scale, len(slots)), 0) / SLOTS_PER_HOUR
    pv = np.zeros(len(slots))
    if index % 3 == 0:
        pv = scale * 1.5 * np.maximum(np.sin((minute - 6 * 60) / (12 * 60) * np.pi), 0) / SLOTS_PER_HOUR
    return Usage(slots, np.maximum(load - pv, 0), np.maximum(pv - load, 0), np.ones(len(slots), dtype=bool))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 12, 1))
    args = parser.parse_args()
    start, end = _year(args.start)
    rng = np.random.default_rng(16)
    base_slots = slots_between(start, end, TIMEZONE)
    hours = np.unique(base_slots.ts.astype("datetime64[h]")).astype("datetime64[us]")
    spot_hourly = _prices(rng, hours)
    empty = np.array([], dtype="datetime64[us]")
    tariffs = [defaults.dynamic(), defaults.fixed(), defaults.time_of_use(demand_charge_eur_kw=8.0)]
    timings, cheapest = [], Counter()
    # One untimed comparison first: the first call of a process pays for polars' and numpy's warm-up.
    compare_usage(_usage(rng, base_slots, 0), spot_per_slot(base_slots, empty, np.array([]), hours, spot_hourly),
                  TenantTariffs([tariffs[0]], []), TIMEZONE)  # fmt: skip
    for index in range(args.tenants):
        usage = _usage(rng, base_slots, index)
        chosen = TenantTariffs([tariffs[index % 3]], [defaults.feed_in()] if index % 3 == 0 else [])
        began = clock.perf_counter()
        slots = slots_between(start, end, TIMEZONE)  # per request, as the service does
        spot = spot_per_slot(slots, empty, np.array([]), hours, spot_hourly)
        result = compare_usage(Usage(slots, usage.import_kwh, usage.export_kwh, usage.has_data), spot, chosen, TIMEZONE)
        timings.append((clock.perf_counter() - began) * 1000)
        cheapest[result["cheapest"]] += 1
    p50, p95 = np.percentile(timings, [50, 95])
    print(f"tenants={args.tenants} quarter_hours={len(base_slots)} months=12 options=4")
    print("cheapest: " + ", ".join(f"{k}={v}" for k, v in sorted(cheapest.items())))
    print(f"tariff_compare_p50_ms={p50:.1f}")
    print(f"tariff_compare_p95_ms={p95:.1f}")


if __name__ == "__main__":
    main()
