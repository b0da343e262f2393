"""The quarter-hour grid: whole UTC days, their local wall-clock times and day types.

Simulators always compute whole UTC days and the caller slices the window out of them,
which keeps every value independent of where a window starts or ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import holidays
import numpy as np
import polars as pl

QUARTER_US = 15 * 60 * 1_000_000
HOUR_US = 4 * QUARTER_US
DAY_US = 24 * HOUR_US
QUARTERS_PER_DAY = 96


def to_utc_us(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} is naive: pass a timezone-aware datetime")
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def floor_quarter(moment: datetime) -> datetime:
    us = to_utc_us(moment)
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us - us % QUARTER_US)


@dataclass(frozen=True, eq=False)
class DayGrid:
    """Quarter-hour interval starts for ``n_days`` whole UTC days from ``first_day``."""

    first_day: int  # days since 1970-01-01 (UTC)
    n_days: int
    timezone: str
    utc_us: np.ndarray  # interval start, µs since epoch
    local_us: np.ndarray  # the same instant as naive local wall time, µs

    @property
    def days(self) -> np.ndarray:
        return np.arange(self.first_day, self.first_day + self.n_days)

    @property
    def local_day(self) -> np.ndarray:
        """Local calendar day (days since 1970-01-01) of each quarter."""
        return self.local_us // DAY_US

    @property
    def local_hour(self) -> np.ndarray:
        """Local wall-clock hour as a float (8.25 is 08:15), for daily behaviour patterns."""
        return (self.local_us % DAY_US) / HOUR_US


def to_local_naive_us(utc_us: np.ndarray, timezone: str) -> np.ndarray:
    """Instants (µs since epoch) as naive local wall-clock µs, vectorised through polars."""
    return (
        pl.Series(utc_us, dtype=pl.Int64)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(timezone)
        .dt.replace_time_zone(None)
        .cast(pl.Int64)
        .to_numpy()
    )


@lru_cache(maxsize=32)
def day_grid(first_day: int, n_days: int, timezone: str) -> DayGrid:
    utc_us = first_day * DAY_US + np.arange(n_days * QUARTERS_PER_DAY, dtype=np.int64) * QUARTER_US
    local = to_local_naive_us(utc_us, timezone)
    for array in (utc_us, local):
        array.flags.writeable = False  # cached and shared between meters
    return DayGrid(first_day, n_days, timezone, utc_us, local)


def window_grid(start: datetime, end: datetime, timezone: str) -> tuple[DayGrid, slice]:
    """The whole-day grid covering [start, end) (both floored to 15 min) and the window's slice."""
    start_us = to_utc_us(start)
    end_us = to_utc_us(end)
    start_us -= start_us % QUARTER_US
    end_us -= end_us % QUARTER_US
    if end_us <= start_us:
        raise ValueError(f"empty window: end {end.isoformat()} is not after start {start.isoformat()}")
    first_day = start_us // DAY_US
    last_day = (end_us - 1) // DAY_US
    grid = day_grid(int(first_day), int(last_day - first_day + 1), timezone)
    offset = first_day * DAY_US
    return grid, slice(int((start_us - offset) // QUARTER_US), int((end_us - offset) // QUARTER_US))


@lru_cache(maxsize=256)
def _holiday_days_of_year(state: str | None, year: int) -> frozenset[int]:
    calendar = holidays.Germany(subdiv=state, years=year)
    return frozenset((day - datetime(1970, 1, 1).date()).days for day in calendar)


def is_holiday(local_day: np.ndarray, state: str | None) -> np.ndarray:
    """Public holidays of a German state (``None``: nationwide ones only)."""
    years = local_day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    days: set[int] = set()
    for year in np.unique(years).tolist():
        days |= _holiday_days_of_year(state, int(year))
    return np.isin(local_day, np.fromiter(days, dtype=np.int64, count=len(days)))


def weekday(local_day: np.ndarray) -> np.ndarray:
    """Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday)."""
    return (local_day + 3) % 7


def year_of(us: np.ndarray) -> np.ndarray:
    return us.astype("datetime64[us]").astype("datetime64[Y]").astype(np.int64) + 1970


def year_start_us(year: int) -> int:
    return int(np.datetime64(f"{year:04d}-01-01T00:00", "us").astype(np.int64))
