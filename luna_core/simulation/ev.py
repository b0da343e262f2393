"""EV charging meters: workplace charging sessions at 11 kW chargers.

Each UTC day draws its own sessions (arrival, energy need); a session charges at full
power until the need is met, waiting for a free charger if all are busy. Sessions are
drawn from the day before as well, because a late session can run past midnight.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from luna_core.simulation.rng import day_rng
from luna_core.simulation.sites import EV_CHARGER_KW, MeterSpec, SiteSpec
from luna_core.simulation.timegrid import QUARTERS_PER_DAY, DayGrid, is_holiday, weekday

MEAN_SESSION_KWH = 16.0
# Relative number of sessions by day type: workplace charging is a weekday business.
_DAY_WEIGHT = {"workday": 1.0, "saturday": 0.15, "sunday": 0.05}
_WORKDAYS_EQUIVALENT = 250 * 1.0 + 52 * 0.15 + 63 * 0.05  # per year, for scaling annual_kwh


def _chargers(meter: MeterSpec) -> int:
    # The meter's limit is the feed's fuse; it holds as many 11 kW chargers as fit under it.
    return max(1, int(meter.max_kw // EV_CHARGER_KW))


def _sessions(meter: MeterSpec, day: int, weight: float, seed: int, key: int) -> tuple[np.ndarray, np.ndarray]:
    """(arrival local hour, energy kWh) of one day's sessions."""
    rng = day_rng(seed, key, day, stream=3)
    per_workday = float(meter.annual_kwh or 0.0) / _WORKDAYS_EQUIVALENT / MEAN_SESSION_KWH
    count = min(rng.poisson(per_workday * weight), 3 * _chargers(meter))
    commuters = rng.random(count) < 0.75
    arrival = np.where(commuters, rng.normal(8.25, 0.8, count), rng.normal(12.5, 1.6, count))
    arrival = np.clip(arrival, 6.0, 19.0)
    # Lognormal with the given mean; clipping at a small car's battery moves the mean <1%.
    sigma = 0.55
    energy = rng.lognormal(np.log(MEAN_SESSION_KWH) - 0.5 * sigma**2, sigma, count)
    return arrival, np.clip(energy, 2.0, 75.0)


def _schedule(arrival_h: np.ndarray, energy: np.ndarray, chargers: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end hours when cars queue for the first free charger."""
    order = np.argsort(arrival_h, kind="stable")
    free_at = [0.0] * chargers
    starts = np.empty(len(arrival_h))
    ends = np.empty(len(arrival_h))
    for i in order.tolist():
        slot = min(range(chargers), key=free_at.__getitem__)
        start = max(arrival_h[i], free_at[slot])
        free_at[slot] = start + energy[i] / EV_CHARGER_KW
        starts[i], ends[i] = start, free_at[slot]
    return starts, ends


def _utc_offsets_h(days: np.ndarray, timezone: str) -> np.ndarray:
    # Offset at noon of each day, from the day number alone (not from the grid), so a day's
    # sessions are the same whether or not the day lies inside the requested window.
    zone = ZoneInfo(timezone)
    return np.array(
        [datetime.fromtimestamp(day * 86_400 + 43_200, tz=zone).utcoffset().total_seconds() / 3600 for day in days]
    )


def ev_kwh(site: SiteSpec, meter: MeterSpec, grid: DayGrid, seed: int, key: int) -> np.ndarray:
    days = np.arange(grid.first_day - 1, grid.first_day + grid.n_days)  # the day before spills over
    dow = weekday(days)  # noon UTC falls on the same calendar day in European time zones
    holiday = is_holiday(days, site.state)
    offsets = _utc_offsets_h(days, site.timezone)
    out = np.zeros((len(days) + 1) * QUARTERS_PER_DAY)
    quarter_start_h = np.arange(2 * QUARTERS_PER_DAY) / 4.0  # two days: sessions may pass midnight
    for j, day in enumerate(days.tolist()):
        kind = "sunday" if holiday[j] or dow[j] == 6 else "saturday" if dow[j] == 5 else "workday"
        arrival_local, energy = _sessions(meter, day, _DAY_WEIGHT[kind], seed, key)
        if len(energy) == 0:
            continue
        starts, ends = _schedule(arrival_local - offsets[j], energy, _chargers(meter))
        # Energy per quarter = charger power x overlap of [start, end) with the quarter.
        overlap = np.clip(
            np.minimum(ends[:, None], quarter_start_h + 0.25) - np.maximum(starts[:, None], quarter_start_h),
            0.0,
            0.25,
        )
        out[j * QUARTERS_PER_DAY : (j + 2) * QUARTERS_PER_DAY] += overlap.sum(axis=0) * EV_CHARGER_KW
    return out[QUARTERS_PER_DAY : (grid.n_days + 1) * QUARTERS_PER_DAY]
