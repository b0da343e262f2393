"""Simulated EPEX day-ahead prices for DE-LU from a residual-load merit order.

Price = merit order(demand - solar - wind) x fuel level, plus noise and rare scarcity
spikes. Demand follows the BDEW profiles with national holidays; sun and wind come from the
same DWD test reference year as the PV meters, so sunny, windy, quiet days (spring and
summer weekends) get negative midday prices, and a site's PV peaks when prices drop.
Every draw is keyed by the delivery day, so a day's prices never depend on the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from luna_core.simulation.profiles import energy_share
from luna_core.simulation.rng import day_rng, stable_hash
from luna_core.simulation.timegrid import (
    DAY_US,
    HOUR_US,
    QUARTER_US,
    QUARTERS_PER_DAY,
    is_holiday,
    to_local_naive_us,
    to_utc_us,
    weekday,
)
from luna_core.simulation.weather import interp_hourly, load_try, national_hourly, try_position

MIN_PRICE, MAX_PRICE = -500.0, 4000.0  # EPEX SDAC harmonised clearing limits
PRICE_SCHEMA = {
    "zone": pl.Utf8,
    "ts": pl.Datetime("us", "UTC"),
    "resolution_minutes": pl.Int16,
    "eur_per_mwh": pl.Float64,
    "source": pl.Utf8,
}


@dataclass(frozen=True)
class ZoneParams:
    timezone: str
    demand_twh: float  # grid load per year
    demand_mix: tuple[tuple[str, float], ...]  # BDEW profiles for households and trade
    industry_share: float  # the rest: a flat load that only eases at weekends and holidays
    solar_gw_per_w_m2: float  # feed-in per W/m² of national mean irradiance
    wind_mean_gw: float
    wind_capacity_gw: float
    fuel_eur_mwh: float  # marginal cost of the price-setting gas plant, annual mean


ZONES = {
    # 2024/25 orders of magnitude: ~465 TWh load, ~72 TWh PV, ~136 TWh wind, gas ~80 €/MWh.
    "DE-LU": ZoneParams(
        timezone="Europe/Berlin",
        demand_twh=465.0,
        demand_mix=(("h0", 0.28), ("g0", 0.27)),
        industry_share=0.45,
        solar_gw_per_w_m2=0.07,
        wind_mean_gw=15.5,
        wind_capacity_gw=72.0,
        fuel_eur_mwh=88.0,
    ),
}


def simulate_day_ahead_prices(
    zone: str,
    start_day: date,
    end_day: date,
    resolution_minutes: Literal[15, 60] = 60,
    seed: int = 7,
) -> pl.DataFrame:
    """Day-ahead prices for the local delivery days [start_day, end_day]: ``zone, ts (UTC
    delivery start), resolution_minutes, eur_per_mwh, source``. 23/25 hours on DST days;
    a quarter-hour series averages (to the cent) to the hourly one."""
    if zone not in ZONES:
        raise ValueError(f"unknown bidding zone {zone!r}; simulated zones: {', '.join(ZONES)}")
    if resolution_minutes not in (15, 60):
        raise ValueError(f"resolution_minutes must be 15 or 60, got {resolution_minutes}")
    if end_day < start_day:
        raise ValueError(f"end_day {end_day} is before start_day {start_day}")
    params = ZONES[zone]
    key = stable_hash(f"market/{zone}")
    # One day either side, so the quarter-hour ramps at the window's edges see real neighbours.
    hours_us, hour_day, prices = _hourly(params, start_day - timedelta(days=1), end_day + timedelta(days=1), seed, key)
    inside = (hour_day >= start_day.toordinal()) & (hour_day <= end_day.toordinal())
    if resolution_minutes == 60:
        ts_us, values = hours_us[inside], np.round(prices[inside], 2)
    else:
        ts_us, values = _quarters(hours_us, hour_day, prices, inside, seed, key)
    return pl.DataFrame(
        {
            "zone": pl.repeat(zone, len(ts_us), dtype=pl.Utf8, eager=True),
            "ts": pl.Series(ts_us).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            "resolution_minutes": pl.repeat(resolution_minutes, len(ts_us), dtype=pl.Int16, eager=True),
            "eur_per_mwh": values,
            "source": pl.repeat("sim", len(ts_us), dtype=pl.Utf8, eager=True),
        },
        schema=PRICE_SCHEMA,
    )


def _local_midnight_us(day: date, timezone: str) -> int:
    return to_utc_us(datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone)))


def _hourly(
    params: ZoneParams, first: date, last: date, seed: int, key: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Delivery-hour starts (UTC µs), their local delivery day (ordinal) and prices."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    bounds = [_local_midnight_us(d, params.timezone) for d in [*days, last + timedelta(days=1)]]
    hours_us = np.arange(bounds[0], bounds[-1], HOUR_US, dtype=np.int64)
    hour_day = np.repeat([d.toordinal() for d in days], np.diff(bounds) // HOUR_US)
    residual = _demand_gw(params, hours_us) - _solar_gw(params, hours_us) - _wind_gw(params, hours_us)
    prices = np.empty(len(hours_us))
    for day in days:
        mask = hour_day == day.toordinal()
        prices[mask] = _day_prices(params, day, residual[mask], hours_us[mask], seed, key)
    return hours_us, hour_day, prices


def _demand_gw(params: ZoneParams, hours_us: np.ndarray) -> np.ndarray:
    quarters = (hours_us[:, None] + np.arange(4) * QUARTER_US).ravel()
    local = to_local_naive_us(quarters, params.timezone)
    share = sum(w * energy_share(profile, None, local) for profile, w in params.demand_mix)
    share = share + params.industry_share * _industry_share(local)
    # share of the year's energy per quarter x GWh per year x 4 quarters/h = mean GW
    return (share * params.demand_twh * 1000 * 4).reshape(-1, 4).mean(axis=1)


def _industry_share(local_us: np.ndarray) -> np.ndarray:
    """Share of a year's industrial energy per quarter: flat, lower on Saturdays, Sundays
    and national holidays (normalised to a year of 250 workdays)."""
    local_day = local_us // DAY_US
    dow = weekday(local_day)
    factor = np.where(is_holiday(local_day, None) | (dow == 6), 0.75, np.where(dow == 5, 0.85, 1.0))
    return factor / ((250 + 52 * 0.85 + 63 * 0.75) * QUARTERS_PER_DAY)


def _solar_gw(params: ZoneParams, hours_us: np.ndarray) -> np.ndarray:
    ghi = interp_hourly(national_hourly("ghi_w_m2"), try_position(hours_us + HOUR_US // 2))
    return params.solar_gw_per_w_m2 * ghi


@lru_cache(maxsize=4)
def _wind_capacity_factor() -> np.ndarray:
    # Per-region power curve on hub-height wind (10 m x 1.6), averaged over regions, then
    # scaled to the zone's annual mean: one station's calm is not the country's calm.
    curves = []
    for region in range(1, 16):
        hub = load_try(region).wind_ms * 1.6
        curves.append(np.clip((hub - 3.0) / (12.0 - 3.0), 0.0, 1.0) ** 3)
    return np.mean(curves, axis=0)


def _wind_gw(params: ZoneParams, hours_us: np.ndarray) -> np.ndarray:
    raw = _wind_capacity_factor()
    cf = interp_hourly(raw, try_position(hours_us + HOUR_US // 2)) / raw.mean() * params.wind_mean_gw
    return np.minimum(cf, 0.9 * params.wind_capacity_gw)


# Residual load (GW) -> price as a multiple of the gas plant's cost: lignite and coal below
# ~25 GW, gas up to ~50 GW, then oil and demand response. Below ~3 GW must-run plants and
# subsidised renewables outbid each other downward (a fixed €/MWh per GW, not fuel-linked).
_MERIT_GW = np.array([3.0, 8.0, 15.0, 25.0, 40.0, 50.0, 60.0, 70.0])
_MERIT_X_FUEL = np.array([0.0, 0.15, 0.55, 0.82, 1.05, 1.35, 2.0, 3.2])
_STEEPEST = (_MERIT_X_FUEL[-1] - _MERIT_X_FUEL[-2]) / (_MERIT_GW[-1] - _MERIT_GW[-2])
NEGATIVE_EUR_PER_GW = 4.5


def merit_order(residual_gw: np.ndarray, fuel: float) -> np.ndarray:
    """€/MWh for a residual load (demand minus solar and wind) at a given gas cost."""
    r = residual_gw
    multiple = np.interp(r, _MERIT_GW, _MERIT_X_FUEL) + _STEEPEST * np.maximum(r - _MERIT_GW[-1], 0.0)
    return np.where(r >= _MERIT_GW[0], fuel * multiple, -NEGATIVE_EUR_PER_GW * (_MERIT_GW[0] - r))


def _fuel_level(params: ZoneParams, day: date, seed: int, key: int) -> float:
    """Gas and carbon: winter premium, slow waves (fixed per seed), a week of daily news."""
    phase = np.random.default_rng([seed, key, 0]).uniform(0, 2 * np.pi, 2)
    n = day.toordinal()
    seasonal = 1.0 + 0.12 * np.cos(2 * np.pi * (day.timetuple().tm_yday - 20) / 365.25)
    waves = 0.10 * np.sin(2 * np.pi * n / 91 + phase[0]) + 0.06 * np.sin(2 * np.pi * n / 377 + phase[1])
    news = sum(day_rng(seed, key, n - lag, stream=1).standard_normal() for lag in range(7)) / np.sqrt(7)
    return float(params.fuel_eur_mwh * seasonal * np.exp(waves + 0.05 * news))


def _day_prices(
    params: ZoneParams, day: date, residual: np.ndarray, hours_us: np.ndarray, seed: int, key: int
) -> np.ndarray:
    rng = day_rng(seed, key, day.toordinal(), stream=0)
    n = len(residual)
    # Forecast error of the day's renewables shifts the whole day's residual a little.
    residual = residual + rng.normal(0.0, 2.5)
    prices = merit_order(residual, _fuel_level(params, day, seed, key))
    white = rng.standard_normal(25)[:n]  # fixed draw count: 23/24/25-hour days share a stream
    noise = np.empty(n)
    noise[0] = white[0]
    for h in range(1, n):
        noise[h] = 0.6 * noise[h - 1] + 0.8 * white[h]
    prices = prices * (1.0 + 0.04 * noise) + 4.0 * noise
    prices = _scarcity(prices, hours_us, params, rng, day)
    return np.clip(prices, MIN_PRICE, MAX_PRICE)


def _scarcity(
    prices: np.ndarray, hours_us: np.ndarray, params: ZoneParams, rng: np.random.Generator, day: date
) -> np.ndarray:
    """A few evening (or morning) hours a year clear far above gas: outages, forecast misses."""
    winter = day.month in (11, 12, 1, 2)
    draw, size, extreme, start = rng.random(), rng.uniform(1.6, 3.5), rng.uniform(4.0, 10.0), rng.random()
    if draw > (0.04 if winter else 0.015):
        return prices
    local_hour = (to_local_naive_us(hours_us, params.timezone) % (24 * HOUR_US)) // HOUR_US
    first = 17 + int(start * 3) if start < 0.7 else 7 + int(start * 2)
    hit = (local_hour >= first) & (local_hour < first + 1 + int(size) // 2)
    factor = extreme if draw < 0.003 else size
    return np.where(hit & (prices > 0), prices * factor, prices)


def _quarters(
    hours_us: np.ndarray, hour_day: np.ndarray, prices: np.ndarray, inside: np.ndarray, seed: int, key: int
) -> tuple[np.ndarray, np.ndarray]:
    """Quarter-hours = hourly price + a ramp toward the neighbouring hours + noise, shifted
    so the four quarters average to the hour exactly."""
    slope = (np.roll(prices, -1) - np.roll(prices, 1)) / 2.0
    ramp = np.outer(slope, np.array([-0.375, -0.125, 0.125, 0.375]) * 0.8)
    noise = np.empty_like(ramp)
    for ordinal in np.unique(hour_day).tolist():
        rows = np.flatnonzero(hour_day == ordinal)
        noise[rows] = day_rng(seed, key, ordinal, stream=2).normal(0.0, 3.0, (25, 4))[: len(rows)]
    deviation = ramp + noise
    deviation -= deviation.mean(axis=1, keepdims=True)
    hourly = np.round(prices, 2)[:, None]
    # Shrink an hour's deviations if they would cross a price limit: the mean stays the hour's.
    room_up = (MAX_PRICE - hourly) / np.maximum(deviation.max(axis=1, keepdims=True), 1e-9)
    room_down = (hourly - MIN_PRICE) / np.maximum(-deviation.min(axis=1, keepdims=True), 1e-9)
    scale = np.clip(np.minimum(room_up, room_down), 0.0, 1.0)
    values = np.round(hourly + deviation * scale, 2)[inside].ravel()
    ts_us = (hours_us[inside][:, None] + np.arange(4) * QUARTER_US).ravel()
    return ts_us, values
