"""BDEW standard load profiles from oemof-demand, as shares of a year's energy per quarter.

oemof builds profiles on a naive local calendar (every day has 96 quarters); ``energy_share``
maps real instants onto it, so the spring-forward hour is skipped and the autumn hour
repeats, as a meter on local time experiences them.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from functools import lru_cache

import holidays
import numpy as np
import pandas as pd
from oemof.demand import bdew
from oemof.demand.bdew.elec_slp import dynamisation_function

from luna_core.simulation.timegrid import QUARTER_US, QUARTERS_PER_DAY, year_of, year_start_us

_BDEW_2025 = {"h25": bdew.H25, "g25": bdew.G25, "l25": bdew.L25, "p25": bdew.P25, "s25": bdew.S25}


def _holiday_dict(year: int, state: str | None) -> dict:
    # oemof wants {date: name}; it maps these days to the Sunday profile.
    return dict(holidays.Germany(subdiv=state, years=year))


@lru_cache(maxsize=8)
def _elec_slp(year: int) -> tuple[pd.DataFrame, np.ndarray]:
    """oemof's 1999 profiles without holidays, and the BDEW season of each day.

    ElecSlp takes ~0.2 s per call; building it once per year and moving holidays onto the
    Sunday profile here (which is what oemof does with them) keeps 16 states x 3 years
    from costing ten seconds. A test checks the result against ElecSlp(holidays=...).
    """
    slp = bdew.ElecSlp(year)
    seasons = np.empty(366 if calendar.isleap(year) else 365, dtype=object)
    for name, (m1, d1, m2, d2) in slp._seasons.items():  # oemof has no public accessor
        first = date(year, m1, d1).timetuple().tm_yday - 1
        last = date(year, m2, d2).timetuple().tm_yday
        seasons[first:last] = name[:-1]  # "winter1"/"winter2" share the winter profile
    return slp.get_profiles(), seasons


def _static_profile(profile: str, year: int, state: str | None) -> np.ndarray:
    frame, seasons = _elec_slp(year)
    values = frame[profile].to_numpy(dtype=float).reshape(-1, QUARTERS_PER_DAY).copy()
    jan1_weekday = date(year, 1, 1).weekday()
    sundays = np.flatnonzero((np.arange(len(seasons)) + jan1_weekday) % 7 == 6)
    for day in _holiday_dict(year, state):
        index = day.timetuple().tm_yday - 1
        same_season = sundays[seasons[sundays] == seasons[index]]
        values[index] = values[same_season[np.argmin(np.abs(same_season - index))]]
    return values.ravel()


@lru_cache(maxsize=256)
def yearly_profile(profile: str, year: int, state: str | None) -> np.ndarray:
    """Share of the annual energy in each quarter of the naive local year; sums to 1."""
    if profile in _BDEW_2025:
        index = pd.date_range(datetime(year, 1, 1), datetime(year + 1, 1, 1), freq="15min", inclusive="left")
        values = np.asarray(_BDEW_2025[profile](index, holidays=_holiday_dict(year, state)), dtype=float)
    elif profile == "h0":
        # BDEW prescribes the dynamisation (winter up, summer down) for H0; oemof applies it
        # to the normalised static H0 as its "h0_dyn".
        static = _static_profile("h0", year, state)
        values = static / static.sum() * dynamisation_function(_elec_slp(year)[0].index).to_numpy()
    else:
        values = _static_profile(profile, year, state)
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
