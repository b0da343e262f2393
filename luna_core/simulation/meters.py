"""Smart-meter readings for simulated sites: one row per meter and quarter hour.

Every model computes whole UTC days from per-day random streams; the window is cut out
afterwards, so the same (site, seed) gives the same reading for a meter and timestamp in
any window: a 90-day backfill and the live feed for today agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import numpy as np
import polars as pl

from luna_core.simulation.battery import battery_kwh
from luna_core.simulation.ev import ev_kwh
from luna_core.simulation.heat_pump import heat_pump_kwh
from luna_core.simulation.loads import consumption_kwh
from luna_core.simulation.pv import pv_kwh
from luna_core.simulation.rng import stable_hash
from luna_core.simulation.sites import MeterSpec, SiteSpec
from luna_core.simulation.timegrid import DayGrid, window_grid
from luna_core.simulation.weather import temperature_series

MeterModel = Callable[[SiteSpec, MeterSpec, DayGrid, int, int], np.ndarray]
MODELS: dict[str, MeterModel] = {
    "consumption": consumption_kwh,
    "pv": pv_kwh,
    "ev": ev_kwh,
    "heat_pump": heat_pump_kwh,
    "battery": battery_kwh,
}
READING_SCHEMA = {"meter_id": pl.Utf8, "ts": pl.Datetime("us", "UTC"), "kwh": pl.Float64, "quality": pl.Utf8}
KWH_DECIMALS = 3  # smart meters register whole watt-hours


def meter_key(site: SiteSpec, meter: MeterSpec) -> int:
    # The tenant is part of the key: "main" at two sites must not share its noise.
    return stable_hash(f"{site.tenant_id}/{meter.meter_id}")


def simulate_meter(site: SiteSpec, meter: MeterSpec, start: datetime, end: datetime, seed: int = 42) -> np.ndarray:
    """kWh per quarter hour of one meter in [start, end) (floored to 15 min)."""
    problem = meter.simulation_problem()
    if problem:
        raise ValueError(problem)
    grid, window = window_grid(start, end, site.timezone)
    kwh = MODELS[meter.kind](site, meter, grid, seed, meter_key(site, meter))[window]
    # The physical limit holds for clean data: only injected faults may exceed it.
    limit = np.floor(meter.max_kw * 0.25 * 10**KWH_DECIMALS) / 10**KWH_DECIMALS  # rounding never crosses it
    return np.clip(np.round(kwh, KWH_DECIMALS), 0.0, limit)


def simulate_site(site: SiteSpec, start: datetime, end: datetime, seed: int = 42) -> pl.DataFrame:
    """Readings of every meter of the site: ``meter_id, ts (UTC interval start), kwh, quality``,
    sorted by meter (in site order) then time."""
    grid, window = window_grid(start, end, site.timezone)
    ts = pl.Series("ts", grid.utc_us[window]).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    frames = [
        pl.DataFrame(
            {
                "meter_id": pl.repeat(meter.meter_id, len(ts), dtype=pl.Utf8, eager=True),
                "ts": ts,
                "kwh": simulate_meter(site, meter, start, end, seed),
                "quality": pl.repeat("measured", len(ts), dtype=pl.Utf8, eager=True),
            },
            schema=READING_SCHEMA,
        )
        for meter in site.meters
    ]
    return pl.concat(frames, rechunk=True)


def simulate_many(sites: Iterable[SiteSpec], start: datetime, end: datetime, seed: int = 42) -> pl.DataFrame:
    """All sites in one frame, with a leading ``tenant_id`` column."""
    frames = [
        simulate_site(site, start, end, seed).select(pl.lit(site.tenant_id).alias("tenant_id"), pl.all())
        for site in sites
    ]
    return pl.concat(frames, rechunk=True)


__all__ = ["MODELS", "READING_SCHEMA", "simulate_many", "simulate_meter", "simulate_site", "temperature_series"]
