"""Day-ahead load model: gradient-boosted trees on calendar, lag and temperature features.

``mode="absolute"`` (the default) learns kWh directly. ``mode="ratio"`` learns the load relative
to its recent level (the mean of the week ending 24 h before the target) and multiplies the
level back in: a scale-free model that transfers between tenants of different size, which is
what the global model (``anonymise``) uses. On a single tenant's own history absolute kWh did
better (tuned on January-May only, see ``bench/forecast.py --tune``).

The loss is the absolute error: forecasts are scored by MAE, whose optimal point forecast is
the median, and spiky loads (appliances, EV charging) have a median well below their mean.

The model keeps the tail of its training history, so ``predict(origin)`` right after ``fit``
needs nothing else; later origins pass the newer load as ``history``. Only load before the
origin is ever read (see ``features`` for the leakage rule).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import sklearn
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from luna_core.forecasting.features import (
    LOAD_VALUED,
    LOOKBACK,
    STEP,
    STEPS_PER_HOUR,
    TS_DTYPE,
    Resolution,
    build_features,
    check_resolution,
    feature_columns,
    to_resolution,
)
from luna_core.settings import default_timezone

Mode = Literal["ratio", "absolute"]
MIN_TRAINING_ROWS = 24
_LEVEL_FLOOR = 1e-9  # below this a series is "off"; ratios to it would be noise
_TEMPERATURE_LEAD = timedelta(hours=48)  # temperature kept before an origin for the rolling mean


@dataclass(frozen=True)
class ModelParams:
    """HistGradientBoostingRegressor settings. No early stopping: its validation split would
    make results depend on the row order; a fixed number of small steps is fast and stable."""

    max_iter: int = 300
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 20
    l2_regularization: float = 1.0
    loss: str = "absolute_error"
    random_state: int = 0
    # OpenMP threads for fit and predict (None: all cores). Measured on a 2-core machine: a small
    # fit took a steady 0.4 s on one thread and 0.4-6 s on two (barrier waits when a core is
    # busy elsewhere); backtests are many small fits and predictions, so one thread is the default.
    n_threads: int | None = 1

    def threads(self) -> threadpool_limits:
        return threadpool_limits(limits=self.n_threads, user_api="openmp")

    def regressor(self) -> HistGradientBoostingRegressor:
        return HistGradientBoostingRegressor(
            loss=self.loss,
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=False,
            random_state=self.random_state,
        )


def level_of(features: pl.DataFrame, fallback: float | None = None) -> np.ndarray:
    """The recent level each row is measured against: last week's mean, else last day's."""
    level = features.select(pl.coalesce("mean_prev_week", "mean_prev_day")).to_series().to_numpy().astype(float)
    if fallback is not None:
        level = np.where(np.isnan(level), fallback, level)
    return level


def design(
    features: pl.DataFrame, columns: list[str], mode: Mode, fallback_level: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, level): the matrix the trees see, the target (NaN where unknown) and the factor
    that turns a prediction back into kWh."""
    x = features.select(pl.col(columns).cast(pl.Float64)).to_numpy()
    y = features["kwh"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    if mode == "absolute":
        return x, y, np.ones(len(y))
    level = level_of(features, fallback_level)
    usable = level > _LEVEL_FLOOR
    safe = np.where(usable, level, np.nan)
    for i, name in enumerate(columns):
        if name in LOAD_VALUED:
            x[:, i] = x[:, i] / safe
    return x, y / safe, np.where(usable, level, 0.0)


def no_empty_columns(x: np.ndarray) -> np.ndarray:
    """sklearn's binning fails on an all-missing column (a 168 h lag with a week of history);
    a constant instead is never split on, so the column is simply unused."""
    empty = np.isnan(x).all(axis=0)
    if empty.any():
        x = x.copy()
        x[:, empty] = 0.0
    return x


def _training_window(load: pl.DataFrame) -> dict[str, Any]:
    known = load.drop_nulls("kwh")
    if known.is_empty():
        return {"start": None, "end": None, "rows": 0}
    return {"start": known["ts"].min().isoformat(), "end": known["ts"].max().isoformat(), "rows": known.height}


@dataclass
class LoadModel:
    """Fit on a tenant's load history, predict the next hours from an origin."""

    resolution: Resolution = "hour"
    mode: Mode = "absolute"
    params: ModelParams = field(default_factory=ModelParams)
    country: str = "DE"

    def __post_init__(self) -> None:
        check_resolution(self.resolution)
        if self.mode not in ("ratio", "absolute"):
            raise ValueError(f"mode must be 'ratio' or 'absolute', got {self.mode!r}")
        self._regressor: HistGradientBoostingRegressor | None = None
        self._columns: list[str] = []
        self._timezone = default_timezone()
        self._state: str | None = None
        self._with_temperature = False
        self._history = pl.DataFrame(schema={"ts": TS_DTYPE, "kwh": pl.Float64})
        self._temperature: pl.DataFrame | None = None
        self._window: dict[str, Any] = {}
        self._source = "local"

    # -- fitting -------------------------------------------------------------------------

    def fit(
        self,
        history_load: pl.DataFrame,
        temperature: pl.DataFrame | None = None,
        state: str | None = None,
        timezone: str | None = None,
    ) -> LoadModel:
        """Learn from ``history_load`` (``ts`` UTC, ``kwh``) and, if given, its temperature."""
        timezone = timezone or default_timezone()
        ZoneInfo(timezone)  # fail early on a typo, not at the first prediction
        features = build_features(history_load, temperature, state, timezone, self.resolution, country=self.country)
        columns = feature_columns(self.resolution, temperature is not None)
        x, y, _ = design(features, columns, self.mode)
        rows = np.isfinite(y)
        if rows.sum() < MIN_TRAINING_ROWS:
            raise ValueError(f"only {int(rows.sum())} usable training rows; need at least {MIN_TRAINING_ROWS}")
        with self.params.threads():
            regressor = self.params.regressor().fit(no_empty_columns(x[rows]), y[rows])
        series = to_resolution(history_load, self.resolution)
        self._bind(regressor, columns, series, temperature, state, timezone)
        self._window = _training_window(series) | {"training_rows": int(rows.sum())}
        return self

    def _bind(
        self,
        regressor: HistGradientBoostingRegressor,
        columns: list[str],
        series: pl.DataFrame,
        temperature: pl.DataFrame | None,
        state: str | None,
        timezone: str,
    ) -> None:
        self._regressor = regressor
        self._columns = list(columns)
        self._timezone = timezone
        self._state = state
        self._with_temperature = temperature is not None
        # Only the tail the features can reach is kept: a small pickle and no stale data.
        end = series["ts"].max() if not series.is_empty() else None
        self._history = series if end is None else series.filter(pl.col("ts") > end - LOOKBACK - STEP["hour"])
        if temperature is not None and end is not None:
            temps = temperature.select(pl.col("ts").dt.convert_time_zone("UTC").cast(TS_DTYPE), "temp_c")
            self._temperature = temps.filter(pl.col("ts") > end - _TEMPERATURE_LEAD)
        else:
            self._temperature = None

    @classmethod
    def from_regressor(
        cls,
        regressor: HistGradientBoostingRegressor,
        columns: list[str],
        history_load: pl.DataFrame,
        temperature: pl.DataFrame | None,
        state: str | None,
        timezone: str,
        *,
        resolution: Resolution = "hour",
        country: str = "DE",
        params: ModelParams | None = None,
        source: str = "global",
        window: dict[str, Any] | None = None,
    ) -> LoadModel:
        """A ratio model around an already trained regressor (the global model scaled to a tenant)."""
        model = cls(resolution=resolution, mode="ratio", params=params or ModelParams(), country=country)
        series = to_resolution(history_load, resolution)
        model._bind(regressor, columns, series, temperature, state, timezone)
        model._source = source
        model._window = window or {}
        model._window = model._window | {"scaled_to": _training_window(series)}
        return model

    # -- predicting ----------------------------------------------------------------------

    @property
    def fitted(self) -> bool:
        return self._regressor is not None

    def predict(
        self,
        origin: datetime,
        hours: int = 24,
        temperature_future: pl.DataFrame | None = None,
        history: pl.DataFrame | None = None,
    ) -> pl.DataFrame:
        """Forecast ``hours`` UTC hours from ``origin``: ``ts`` (UTC interval start), ``kwh_pred`` >= 0.

        ``history``: load known at the origin (rows at or after ``origin`` are ignored), merged
        with the tail kept from training. ``temperature_future``: ``ts``, ``temp_c`` covering the
        horizon (and ideally the 24 h before it); required if the model was fit with temperature.
        Beyond 24 h the model feeds its own predictions back as lags, one day at a time.
        """
        if self._regressor is None:
            raise RuntimeError("LoadModel is not fitted")
        if hours < 1:
            raise ValueError("hours must be at least 1")
        origin = self._check_origin(origin)
        if self._with_temperature and temperature_future is None and self._temperature is None:
            raise ValueError("this model was fit with temperature: pass temperature_future")
        known = self._known_before(origin, history)
        temps = self._temperature_for(origin, hours, temperature_future)
        step = STEP[self.resolution]
        per_block = 24 * STEPS_PER_HOUR[self.resolution]
        targets = pl.datetime_range(
            origin, origin + timedelta(hours=hours) - step, step, time_zone="UTC", time_unit="us", eager=True
        )
        fallback = known["kwh"].mean()
        fallback_level = float(fallback) if fallback is not None else 0.0  # type: ignore[arg-type]
        predictions: list[pl.DataFrame] = []
        for first in range(0, len(targets), per_block):
            block = pl.DataFrame({"ts": targets[first : first + per_block]}).with_columns(
                pl.lit(None, pl.Float64).alias("kwh")
            )
            features = build_features(
                pl.concat([known, block]), temps, self._state, self._timezone, self.resolution, country=self.country
            ).filter(pl.col("ts") >= block["ts"][0])
            x, _, level = design(features, self._columns, self.mode, fallback_level)
            with self.params.threads():
                raw = self._regressor.predict(x)
            values = np.clip(raw * level, 0.0, None)
            predicted = pl.DataFrame({"ts": features["ts"], "kwh": values})
            predictions.append(predicted)
            known = pl.concat([known, predicted]).filter(pl.col("ts") > predicted["ts"][-1] - LOOKBACK - step)
        return pl.concat(predictions).rename({"kwh": "kwh_pred"})

    def predict_day(
        self,
        day: date,
        temperature_future: pl.DataFrame | None = None,
        history: pl.DataFrame | None = None,
    ) -> pl.DataFrame:
        """Forecast one local calendar day from its local midnight: 23, 24 or 25 hours around DST."""
        zone = ZoneInfo(self._timezone)
        start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
        return self.predict(start, int((end - start) / timedelta(hours=1)), temperature_future, history)

    def _check_origin(self, origin: datetime) -> datetime:
        if origin.tzinfo is None or origin.utcoffset() is None:
            raise ValueError("origin must be timezone-aware")
        origin = origin.astimezone(UTC)
        if (origin - datetime(1970, 1, 1, tzinfo=UTC)) % STEP[self.resolution]:
            raise ValueError(f"origin {origin.isoformat()} is not on the {self.resolution} grid")
        return origin

    def _known_before(self, origin: datetime, history: pl.DataFrame | None) -> pl.DataFrame:
        frames = [self._history]
        if history is not None:
            # Cut before resampling, so an hour straddling the origin cannot sneak in.
            recent = history.filter(pl.col("ts") < origin)
            if not recent.is_empty():
                frames.append(to_resolution(recent, self.resolution))
        merged = pl.concat(frames).unique("ts", keep="last", maintain_order=True).sort("ts")
        return merged.filter((pl.col("ts") < origin) & (pl.col("ts") >= origin - LOOKBACK - STEP["hour"]))

    def _temperature_for(
        self, origin: datetime, hours: int, temperature_future: pl.DataFrame | None
    ) -> pl.DataFrame | None:
        if not self._with_temperature:
            return None
        frames = [] if self._temperature is None else [self._temperature]
        if temperature_future is not None:
            frames.append(temperature_future.select(pl.col("ts").dt.convert_time_zone("UTC").cast(TS_DTYPE), "temp_c"))
        window = (pl.col("ts") >= origin - _TEMPERATURE_LEAD) & (pl.col("ts") < origin + timedelta(hours=hours))
        temps = pl.concat(frames).unique("ts", keep="last", maintain_order=True).sort("ts").filter(window)
        if temps.filter(pl.col("ts") >= origin).is_empty():
            raise ValueError("temperature_future does not cover the forecast horizon")
        return temps

    # -- metadata ------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """What MLflow logs: features, parameters and the training window (JSON-serialisable)."""
        return {
            "model": "LoadModel",
            "source": self._source,
            "fitted": self.fitted,
            "estimator": "sklearn.ensemble.HistGradientBoostingRegressor",
            "mode": self.mode,
            "resolution": self.resolution,
            "features": list(self._columns),
            "params": asdict(self.params),
            "timezone": self._timezone,
            "state": self._state,
            "country": self.country,
            "uses_temperature": self._with_temperature,
            "training_window": dict(self._window),
            "versions": {
                "python": sys.version.split()[0],
                "scikit-learn": sklearn.__version__,
                "polars": pl.__version__,
            },
        }
