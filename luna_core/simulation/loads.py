"""Consumption meters: a BDEW profile scaled to the annual energy, plus noise.

A BDEW profile is the average of many customers, far smoother than one meter. Large
customers get mild drifting noise; small (household-like) ones additionally lose part of
the smooth base to discrete appliance events (cooking, washing), which is what makes a
single household's 15-min curve spiky.
"""

from __future__ import annotations

import numpy as np

from luna_core.simulation.profiles import energy_share
from luna_core.simulation.rng import ar1, day_normals, day_rng, lognormal_factor
from luna_core.simulation.sites import MeterSpec, SiteSpec
from luna_core.simulation.timegrid import QUARTERS_PER_DAY, DayGrid

_HOUSEHOLD_PROFILES = ("h0", "h25", "p25", "s25")
EVENT_SHARE = 0.3  # of a household's energy that comes in appliance bursts
_EVENT_KW = (0.8, 3.0)
_EVENT_QUARTERS = (1, 4)
_MEAN_EVENT_KWH = np.mean(_EVENT_KW) * np.mean(_EVENT_QUARTERS) * 0.25


def noise_sigma(annual_kwh: float) -> float:
    # Aggregates average out: relative noise shrinks roughly with the square root of size.
    return float(np.clip(0.6 / np.sqrt(annual_kwh / 1000.0), 0.04, 0.35))


def consumption_kwh(site: SiteSpec, meter: MeterSpec, grid: DayGrid, seed: int, key: int) -> np.ndarray:
    annual = float(meter.annual_kwh or 0.0)
    base = energy_share(meter.profile or "h0", site.state, grid.local_us) * annual
    z = ar1(day_normals(seed, key, grid.days, QUARTERS_PER_DAY, stream=1), phi=0.7)
    kwh = base * lognormal_factor(z.ravel(), noise_sigma(annual))
    if meter.profile in _HOUSEHOLD_PROFILES and annual < 20_000:
        kwh = kwh * (1.0 - EVENT_SHARE) + _appliance_events(base, grid, seed, key)
    return kwh


def _appliance_events(base: np.ndarray, grid: DayGrid, seed: int, key: int) -> np.ndarray:
    """Bursts of 0.8-3 kW for 15-60 min, more likely when the profile says people are active."""
    days = base.reshape(grid.n_days, QUARTERS_PER_DAY)
    out = np.zeros_like(days)
    for i, day in enumerate(grid.days.tolist()):
        shape = days[i]
        total = shape.sum()
        if total <= 0:
            continue
        rng = day_rng(seed, key, day, stream=2)
        count = rng.poisson(EVENT_SHARE * total / _MEAN_EVENT_KWH)
        starts = rng.choice(QUARTERS_PER_DAY, size=count, p=shape / total)
        lengths = rng.integers(_EVENT_QUARTERS[0], _EVENT_QUARTERS[1] + 1, size=count)
        power = rng.uniform(*_EVENT_KW, size=count)
        for start, length, kw in zip(starts.tolist(), lengths.tolist(), power.tolist(), strict=True):
            out[i, start : start + length] += kw * 0.25
    return out.ravel()
