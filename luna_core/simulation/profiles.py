"""BDEW standard load profiles from oemof-demand, as shares of a year's energy per quarter.

oemof builds profiles on a naive local calendar (every day has 96 quarters); ``energy_share``
maps real instants onto it, so the spring-forward hour is skipped and the autumn hour
repeats, as a meter on local time experiences them.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import holidays
import numpy as np
import pandas as pd
from oemof.demand import bdew

from luna_core.simulation.timegrid import QUARTER_US, year_of, year_start_us

_BDEW_2025 = {"h25": bdew.H25, "g25": bdew.G25, "l25": bdew.L25, "p25": bdew.P25, "s25": bdew.S25}


def _holiday_dict(year: int, state: str | None) -> dict:
    # oemof wants {date: name}; it maps these days to the Sunday profile.
    return dict(holidays.Germany(subdiv=state, years=year))


@lru_cache(maxsize=64)
def _elec_slp(year: int, state: str | None) -> pd.DataFrame:
    # ElecSlp computes all eleven 1999 profiles at once (~0.2 s), so cache the whole frame.
    return bdew.ElecSlp(year, holidays=_holiday_dict(year, state)).get_profiles()


@lru_cache(maxsize=256)
def yearly_profile(profile: str, year: int, state: str | None) -> np.ndarray:
    """Share of the annual energy in each quarter of the naive local year; sums to 1."""
    if profile in _BDEW_2025:
        index = pd.date_range(datetime(year, 1, 1), datetime(year + 1, 1, 1), freq="15min", inclusive="left")
        values = np.asarray(_BDEW_2025[profile](index, holidays=_holiday_dict(year, state)), dtype=float)
    else:
        # BDEW prescribes the dynamisation (winter up, summer down) for H0; oemof keeps both.
        column = "h0_dyn" if profile == "h0" else profile
        values = _elec_slp(year, state)[column].to_numpy(dtype=float)
    values = values / values.sum()
    values.flags.writeable = False
    return values


def energy_share(profile: str, state: str | None, local_us: np.ndarray) -> np.ndarray:
    """Per-quarter share of its local year's energy for quarters given as naive local time."""
    years = year_of(local_us)
    out = np.empty(len(local_us))
    for year in np.unique(years).tolist():
        mask = years == year
        values = yearly_profile(profile, int(year), state)
        out[mask] = values[(local_us[mask] - year_start_us(int(year))) // QUARTER_US]
    return out
