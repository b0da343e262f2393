"""Reference forecasts every model has to beat: persistence, seasonal naive, mean profile.

Each is ``predict(history, horizon_index) -> np.ndarray``: ``history`` is the load known at the
forecast origin (``ts`` UTC, ``kwh``; everything in it counts as known), ``horizon_index`` the
target interval starts. They always return finite values, falling back to coarser
information when the exact reference is missing, so every method is scored on the same points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
import polars as pl

from luna_core.forecasting.features import TS_DTYPE
from luna_core.settings import default_timezone

HorizonIndex = pl.Series | Sequence[datetime] | np.ndarray
MAX_PERIODS_BACK = 8  # how many periods a naive forecast looks back past a gap


class Baseline(Protocol):
    name: str

    def predict(self, history: pl.DataFrame, horizon_index: HorizonIndex) -> np.ndarray: ...


def as_index(horizon_index: HorizonIndex) -> pl.Series:
    """Target timestamps as a UTC datetime series."""
    series = pl.Series("ts", horizon_index) if not isinstance(horizon_index, pl.Series) else horizon_index.alias("ts")
    if not isinstance(series.dtype, pl.Datetime) or series.dtype.time_zone is None:
        raise ValueError("horizon_index must hold timezone-aware datetimes")
    return series.dt.convert_time_zone("UTC").cast(TS_DTYPE)


def _known(history: pl.DataFrame) -> pl.DataFrame:
    return history.select(pl.col("ts").dt.convert_time_zone("UTC").cast(TS_DTYPE), pl.col("kwh").cast(pl.Float64))


def _fallback(history: pl.DataFrame) -> float:
    mean = history["kwh"].mean()
    return float(mean) if mean is not None else 0.0  # type: ignore[arg-type]


def periodic_naive(history: pl.DataFrame, horizon_index: HorizonIndex, period: timedelta) -> np.ndarray:
    """The value one period before each target, or k periods before when that one is unknown
    (a gap, or a target more than one period past the origin)."""
    known = _known(history).drop_nulls()
    targets = pl.DataFrame({"ts": as_index(horizon_index)})
    values = pl.repeat(None, targets.height, dtype=pl.Float64, eager=True)
    for k in range(1, MAX_PERIODS_BACK + 1):
        shifted = targets.with_columns(pl.col("ts") - period * k).join(
            known, on="ts", how="left", maintain_order="left"
        )
        values = values.fill_null(shifted["kwh"])
        if values.null_count() == 0:
            break
    return values.fill_null(_fallback(known)).to_numpy().astype(float)


@dataclass(frozen=True)
class Persistence:
    """Same time yesterday (24 h earlier)."""

    name: str = "persistence"

    def predict(self, history: pl.DataFrame, horizon_index: HorizonIndex) -> np.ndarray:
        return periodic_naive(history, horizon_index, timedelta(hours=24))


@dataclass(frozen=True)
class SeasonalNaive:
    """Same time last week (168 h earlier): the reference the skill scores are relative to."""

    name: str = "seasonal_naive"

    def predict(self, history: pl.DataFrame, horizon_index: HorizonIndex) -> np.ndarray:
        return periodic_naive(history, horizon_index, timedelta(hours=168))


@dataclass(frozen=True)
class MeanProfile:
    """Mean per local weekday x time of day over the last ``window_days`` of history (None: all).

    A recent window follows the season; four weeks average four values per slot.
    """

    timezone: str = field(default_factory=default_timezone)
    window_days: int | None = 28
    name: str = "mean_profile"

    def _slots(self, ts: pl.Expr) -> list[pl.Expr]:
        local = ts.dt.convert_time_zone(self.timezone)
        return [local.dt.weekday().alias("_dow"), (local.dt.hour() * 60 + local.dt.minute()).alias("_tod")]

    def predict(self, history: pl.DataFrame, horizon_index: HorizonIndex) -> np.ndarray:
        known = _known(history).drop_nulls()
        if self.window_days is not None and not known.is_empty():
            known = known.filter(pl.col("ts") >= known["ts"].max() - timedelta(days=self.window_days))
        slots = known.with_columns(self._slots(pl.col("ts")))
        by_slot = slots.group_by("_dow", "_tod").agg(pl.col("kwh").mean().alias("_slot"))
        by_time = slots.group_by("_tod").agg(pl.col("kwh").mean().alias("_time"))
        targets = pl.DataFrame({"ts": as_index(horizon_index)}).with_columns(self._slots(pl.col("ts")))
        joined = targets.join(by_slot, on=["_dow", "_tod"], how="left", maintain_order="left").join(
            by_time, on="_tod", how="left", maintain_order="left"
        )
        # A slot never seen (short history) falls back to the time of day, then to the mean.
        values = joined.select(pl.coalesce("_slot", "_time", pl.lit(_fallback(known))))
        return values.to_series().to_numpy().astype(float)


def default_baselines(timezone: str | None = None) -> tuple[Baseline, ...]:
    timezone = timezone or default_timezone()
    return (Persistence(), SeasonalNaive(), MeanProfile(timezone=timezone))
