"""Heat-pump meters: heat demand from outdoor temperature, divided by a temperature-dependent COP.

Space heat follows heating degrees below 15 °C of a smoothed temperature (a building
reacts to the last half day, not the last hour); hot water is a steady daily pattern.
The electricity is scaled so a typical year of the site's climate sums to annual_kwh.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from luna_core.simulation.rng import ar1, day_normals, lognormal_factor
from luna_core.simulation.sites import MeterSpec, SiteSpec
from luna_core.simulation.timegrid import QUARTER_US, QUARTERS_PER_DAY, DayGrid
from luna_core.simulation.weather import HOURS_PER_YEAR, TryYear, interp_hourly, site_weather, try_position

HEATING_LIMIT_C = 15.0
BUILDING_TIME_CONSTANT_H = 12.0
DHW_SHARE = 0.18  # hot water's share of the heat
CARNOT_EFFICIENCY = 0.45
MAX_COP = 5.5


def supply_temperature_c(outdoor_c: np.ndarray) -> np.ndarray:
    # Heating curve of an underfloor/low-temperature radiator system: 30 °C mild, 50 °C frost.
    return np.clip(35.0 + 0.6 * (HEATING_LIMIT_C - outdoor_c), 30.0, 55.0)


def cop(outdoor_c: np.ndarray, supply_c: np.ndarray) -> np.ndarray:
    """Air-source COP: a fixed share of the Carnot COP, so it falls as it gets colder."""
    lift = np.maximum(supply_c - outdoor_c, 5.0)
    return np.clip(CARNOT_EFFICIENCY * (supply_c + 273.15) / lift, 1.5, MAX_COP)


def _daily_pattern(local_hour: np.ndarray) -> np.ndarray:
    # Night setback 22-05 h, morning boost 05-08 h; mean over a day is ~1.
    return np.where((local_hour >= 22) | (local_hour < 5), 0.75, np.where(local_hour < 8, 1.35, 1.05))


def _hot_water_pattern(local_hour: np.ndarray) -> np.ndarray:
    """Showers in the morning, kitchen and baths in the evening; daily mean 1."""
    morning = np.exp(-0.5 * ((local_hour - 7.0) / 1.2) ** 2)
    evening = 0.8 * np.exp(-0.5 * ((local_hour - 19.5) / 1.5) ** 2)
    return (morning + evening) / (1.2 + 0.8 * 1.5) * 24 / np.sqrt(2 * np.pi)


@lru_cache(maxsize=16)
def _smoothed_temperature(weather: TryYear) -> np.ndarray:
    """Exponentially smoothed temperature of the cyclic typical year (two passes settle it)."""
    alpha = 1.0 / BUILDING_TIME_CONSTANT_H
    out = np.empty(HOURS_PER_YEAR)
    level = float(weather.temp_c.mean())
    for _ in range(2):
        for i, t in enumerate(weather.temp_c.tolist()):
            level += alpha * (t - level)
            out[i] = level
    out.flags.writeable = False
    return out


@lru_cache(maxsize=16)
def _hot_water_kw(weather: TryYear) -> float:
    # Hot water is DHW_SHARE of the year's heat, so its level follows the climate's heat need.
    space = np.maximum(HEATING_LIMIT_C - _smoothed_temperature(weather), 0.0).mean()
    return float(DHW_SHARE / (1 - DHW_SHARE) * space)


def _electric_kw(weather: TryYear, outdoor_c: np.ndarray, smoothed_c: np.ndarray, local_hour: np.ndarray) -> np.ndarray:
    """Electric power for one kW of heat per heating degree (scaled to annual_kwh later)."""
    space_heat = np.maximum(HEATING_LIMIT_C - smoothed_c, 0.0) * _daily_pattern(local_hour)
    space_el = space_heat / cop(outdoor_c, supply_temperature_c(outdoor_c))
    hot_water = _hot_water_kw(weather) * _hot_water_pattern(local_hour)
    return space_el + hot_water / cop(outdoor_c, np.full_like(outdoor_c, 50.0))


@lru_cache(maxsize=16)
def _annual_unit_kwh(weather: TryYear) -> float:
    # Local hour in the typical year is approximated by CET (UTC+1); one hour off in summer
    # barely matters for a mostly-winter load.
    hours = np.arange(HOURS_PER_YEAR, dtype=float)
    return float(_electric_kw(weather, weather.temp_c, _smoothed_temperature(weather), (hours + 1) % 24).sum())


def heat_pump_kwh(site: SiteSpec, meter: MeterSpec, grid: DayGrid, seed: int, key: int) -> np.ndarray:
    weather = site_weather(site)
    position = try_position(grid.utc_us + QUARTER_US // 2)
    outdoor = interp_hourly(weather.temp_c, position)
    smoothed = interp_hourly(_smoothed_temperature(weather), position)
    kw = _electric_kw(weather, outdoor, smoothed, grid.local_hour)
    scale = float(meter.annual_kwh or 0.0) / _annual_unit_kwh(weather)
    # Compressor modulation and cycling: stronger, slower noise than a building's base load.
    z = ar1(day_normals(seed, key, grid.days, QUARTERS_PER_DAY, stream=1), phi=0.8)
    return kw * scale * 0.25 * lognormal_factor(z.ravel(), 0.12)
