"""Anonymised load shapes and a global model learnt from many of them.

A new tenant has days, not months, of history. A global model learns what load shapes look
like from many tenants and is scaled to the new tenant's volume. What leaves a tenant for
that purpose is only its shape: the load divided by its own mean (so no absolute kWh), indexed
by a relative step (no timestamps, no tenant id) with the local calendar the shape depends
on (hour, weekday, day of year, holiday) and, if given, the outdoor temperature.

The global model is the ratio variant of ``LoadModel``'s trees: features and target are
relative to the recent level, so a shape scaled by its series mean and a tenant's raw kWh
give the same inputs, and ``scale_to`` only has to supply the tenant's recent level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingRegressor

from luna_core.forecasting.features import (
    LOOKBACK,
    STEP,
    STEPS_PER_HOUR,
    Resolution,
    calendar_part_columns,
    calendar_parts,
    check_resolution,
    derive_features,
    feature_columns,
    temperature_at,
    to_resolution,
)
from luna_core.forecasting.model import MIN_TRAINING_ROWS, LoadModel, ModelParams, design, no_empty_columns
from luna_core.settings import default_timezone

SHAPE = "shape"


def anonymised_columns(resolution: str = "hour", with_temperature: bool = False) -> tuple[str, ...]:
    """The only columns an anonymised profile has."""
    temperature = ("temp_c",) if with_temperature else ()
    return ("step", *calendar_part_columns(resolution), *temperature, SHAPE)


def anonymise_profile(
    load: pl.DataFrame,
    temperature: pl.DataFrame | None = None,
    state: str | None = None,
    timezone: str | None = None,
    resolution: Resolution = "hour",
    *,
    country: str = "DE",
) -> pl.DataFrame:
    """The load's shape: ``step`` (intervals since its first one), local calendar, ``shape``.

    ``shape`` is the load divided by the series mean, so multiplying the input by any constant
    gives the same frame. Missing intervals keep their step with a null shape, so lags stay right.
    """
    timezone = timezone or default_timezone()
    series = to_resolution(load, resolution)
    mean = series["kwh"].mean()
    if mean is None or not float(mean) > 0:  # type: ignore[arg-type]
        raise ValueError("a profile needs a positive mean load")
    parts = calendar_parts(series["ts"], timezone, state, country).select(calendar_part_columns(resolution))
    frame = pl.concat([pl.DataFrame({"step": np.arange(series.height, dtype=np.int32)}), parts], how="horizontal")
    if temperature is not None:
        temps = series.select("ts").join(temperature_at(temperature, resolution), on="ts", how="left")
        frame = frame.with_columns(temps["temp_c"])
    shape = (series["kwh"] / float(mean)).alias(SHAPE)  # type: ignore[arg-type]
    return frame.with_columns(shape).select(anonymised_columns(resolution, temperature is not None))


def _regular(profile: pl.DataFrame, resolution: str, columns: list[str]) -> pl.DataFrame:
    """The profile on a complete step grid (missing intervals as null rows), shape as ``kwh``."""
    missing = set(anonymised_columns(resolution, "temp_c" in columns)) - set(profile.columns)
    if missing:
        raise ValueError(f"profile lacks columns {sorted(missing)}; build it with anonymise_profile")
    ordered = profile.sort("step").with_columns(pl.col("step").cast(pl.Int64))
    grid = pl.DataFrame({"step": np.arange(int(ordered["step"].max()) + 1, dtype=np.int64)})
    return grid.join(ordered, on="step", how="left").rename({SHAPE: "kwh"})


def _cold_start_views(frame: pl.DataFrame, resolution: str, history_days: Sequence[int]) -> pl.DataFrame:
    """Rows as a tenant with only N days of history sees them: the profile cut into blocks of
    N days plus one target day, each followed by a null gap longer than any lag, so one pass
    of ``derive_features`` computes every block without one block seeing the previous."""
    day = 24 * STEPS_PER_HOUR[resolution]
    gap = int(LOOKBACK / STEP[resolution])
    spacer = pl.DataFrame({"_target": pl.repeat(False, gap, eager=True)})
    blocks: list[pl.DataFrame] = []
    for days in history_days:
        size = (days + 1) * day
        for start in range(0, frame.height - size + 1, size):
            block = frame.slice(start, size).with_columns((pl.int_range(pl.len()) >= days * day).alias("_target"))
            blocks.extend((block, spacer))
    return pl.concat(blocks, how="diagonal_relaxed") if blocks else pl.DataFrame()


def _profile_design(
    profile: pl.DataFrame, resolution: str, columns: list[str], history_days: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    frame = _regular(profile, resolution, columns)
    # Full history teaches the long-run shape; the cut views teach what a week of data can say.
    full = derive_features(frame, resolution)
    views = _cold_start_views(frame, resolution, history_days)
    if not views.is_empty():
        cut = derive_features(views, resolution).filter(pl.col("_target"))
        full = pl.concat([full, cut.drop("_target")], how="diagonal_relaxed")
    x, y, _ = design(full, columns, "ratio")
    usable = np.isfinite(y)
    return x[usable], y[usable]


@dataclass
class GlobalModel:
    """Trees learnt from many tenants' anonymised profiles; ``scale_to`` fits them to one tenant."""

    resolution: Resolution = "hour"
    params: ModelParams = field(default_factory=ModelParams)
    # Also train on views with only this many days of history: that is what a new tenant has.
    history_days: tuple[int, ...] = (7, 14, 28)

    def __post_init__(self) -> None:
        check_resolution(self.resolution)
        self._regressor: HistGradientBoostingRegressor | None = None
        self._columns: list[str] = []
        self._profiles = 0
        self._rows = 0

    def fit(self, profiles: Sequence[pl.DataFrame]) -> GlobalModel:
        """Train on anonymised profiles (``anonymise_profile``); temperature is used only if every
        profile carries it."""
        if not profiles:
            raise ValueError("need at least one profile")
        with_temperature = all("temp_c" in p.columns for p in profiles)
        columns = feature_columns(self.resolution, with_temperature)
        parts = [_profile_design(p, self.resolution, columns, self.history_days) for p in profiles]
        x = np.vstack([part[0] for part in parts])
        y = np.concatenate([part[1] for part in parts])
        if len(y) < MIN_TRAINING_ROWS:
            raise ValueError(f"only {len(y)} usable training rows; need at least {MIN_TRAINING_ROWS}")
        with self.params.threads():
            self._regressor = self.params.regressor().fit(no_empty_columns(x), y)
        self._columns = columns
        self._profiles = len(profiles)
        self._rows = len(y)
        return self

    @property
    def uses_temperature(self) -> bool:
        return "temp_c" in self._columns

    def scale_to(
        self,
        history: pl.DataFrame,
        temperature: pl.DataFrame | None = None,
        state: str | None = None,
        timezone: str | None = None,
        *,
        country: str = "DE",
    ) -> LoadModel:
        """A forecaster for one tenant: the global shape model times the tenant's recent level,
        taken from ``history`` (``ts``, ``kwh``; a week is enough, less works with a day's mean)."""
        timezone = timezone or default_timezone()
        if self._regressor is None:
            raise RuntimeError("GlobalModel is not fitted")
        if self.uses_temperature and temperature is None:
            raise ValueError("this global model uses temperature: pass the tenant's temperature")
        return LoadModel.from_regressor(
            self._regressor,
            self._columns,
            history,
            temperature if self.uses_temperature else None,
            state,
            timezone,
            resolution=self.resolution,
            country=country,
            params=self.params,
            window={"global_profiles": self._profiles, "global_rows": self._rows},
        )

    def describe(self) -> dict[str, Any]:
        return {
            "model": "GlobalModel",
            "estimator": "sklearn.ensemble.HistGradientBoostingRegressor",
            "mode": "ratio",
            "resolution": self.resolution,
            "features": list(self._columns),
            "params": asdict(self.params),
            "history_days": list(self.history_days),
            "profiles": self._profiles,
            "training_rows": self._rows,
        }
