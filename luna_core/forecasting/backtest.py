"""Rolling-origin backtest (in the spirit of BuildingsBench) and its report.

Protocol: origins at local midnight every ``step_days`` days, the first after ``min_history_days``
of data. At each origin every method sees only the load before the origin and predicts the
next ``horizon_hours`` UTC hours; the baselines predict exactly the same targets, and only
targets with a measured value are scored. ``backtest`` retrains the model on all data before
the origin (expanding window) at the first origin and then every ``retrain_every`` origins;
between retrains the model gets the newer load as history but keeps its trees, as a monthly
retrain in production would. Temperature over the horizon is the actual one (perfect
foresight): this measures the load model, not the weather forecast.

Metrics: MAE, normalised MAE (MAE / mean load of the scored targets), RMSE and skill against
seasonal naive (1 - MAE / MAE of seasonal naive). Never MAPE: it explodes near zero load.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from luna_core.forecasting.baselines import Baseline, default_baselines
from luna_core.forecasting.features import LOOKBACK, STEP, TS_DTYPE, Resolution, to_resolution
from luna_core.forecasting.model import LoadModel
from luna_core.settings import default_timezone

REFERENCE = "seasonal_naive"
_HISTORY_SPAN = timedelta(days=35)  # what baselines get: a mean profile's window plus a week of slack


class Forecaster(Protocol):
    """Anything that predicts from an origin given the load known then (LoadModel does)."""

    def predict(
        self,
        origin: datetime,
        hours: int = 24,
        temperature_future: pl.DataFrame | None = None,
        history: pl.DataFrame | None = None,
    ) -> pl.DataFrame: ...


def rolling_origins(
    load: pl.DataFrame,
    *,
    timezone: str | None = None,
    min_history_days: int = 28,
    step_days: int = 1,
    horizon_hours: int = 24,
    start: date | None = None,
    end: date | None = None,
) -> list[datetime]:
    """Local midnights (as UTC) with ``min_history_days`` of data before them and a whole
    horizon of data after, every ``step_days`` days, optionally within [start, end] local dates."""
    timezone = timezone or default_timezone()
    if step_days < 1 or min_history_days < 0:
        raise ValueError("step_days must be >= 1 and min_history_days >= 0")
    known = load.drop_nulls("kwh")
    if known.is_empty():
        return []
    zone = ZoneInfo(timezone)
    first_ts: datetime = known["ts"].min()  # type: ignore[assignment]
    data_end: datetime = known["ts"].max() + _step_of(known)  # type: ignore[operator]
    day = (first_ts.astimezone(zone) + timedelta(days=min_history_days)).date()
    # The first origin's history must span min_history_days whole days after the first reading.
    if datetime.combine(day, time(), tzinfo=zone) - timedelta(days=min_history_days) < first_ts:
        day += timedelta(days=1)
    if start is not None and start > day:
        day = start
    origins = []
    while end is None or day <= end:
        origin = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
        if origin + timedelta(hours=horizon_hours) > data_end:
            break
        origins.append(origin)
        day += timedelta(days=step_days)
    return origins


def _step_of(load: pl.DataFrame) -> timedelta:
    diffs = load["ts"].sort().diff().drop_nulls()
    return diffs.min() if diffs.len() else STEP["hour"]  # type: ignore[return-value]


@dataclass(frozen=True)
class _BaselineForecaster:
    baseline: Baseline
    step: timedelta

    def predict(
        self,
        origin: datetime,
        hours: int = 24,
        temperature_future: pl.DataFrame | None = None,
        history: pl.DataFrame | None = None,
    ) -> pl.DataFrame:
        targets = pl.datetime_range(
            origin, origin + timedelta(hours=hours) - self.step, self.step, time_zone="UTC", time_unit="us", eager=True
        )
        known = history if history is not None else pl.DataFrame(schema={"ts": TS_DTYPE, "kwh": pl.Float64})
        return pl.DataFrame({"ts": targets, "kwh_pred": self.baseline.predict(known, targets)})


@dataclass(frozen=True)
class BacktestReport:
    """Every prediction of a backtest (``method, origin, ts, kwh, kwh_pred``) and its scores."""

    predictions: pl.DataFrame
    reference: str = REFERENCE

    @property
    def methods(self) -> list[str]:
        return self.predictions["method"].unique(maintain_order=True).to_list()

    @property
    def origins(self) -> list[datetime]:
        return self.predictions["origin"].unique().sort().to_list()

    def table(self) -> pl.DataFrame:
        """One row per method: n_origins, n_points, mae, nmae, rmse, skill (vs the reference)."""
        error = pl.col("kwh_pred") - pl.col("kwh")
        scores = self.predictions.group_by("method", maintain_order=True).agg(
            pl.col("origin").n_unique().alias("n_origins"),
            pl.len().alias("n_points"),
            error.abs().mean().alias("mae"),
            (error.abs().mean() / pl.col("kwh").mean()).alias("nmae"),
            (error**2).mean().sqrt().alias("rmse"),
        )
        reference = scores.filter(pl.col("method") == self.reference)["mae"]
        ref_mae = reference[0] if reference.len() else None
        skill = 1 - pl.col("mae") / ref_mae if ref_mae else pl.lit(None, pl.Float64)
        return scores.with_columns(skill.alias("skill"))

    def _metric(self, method: str, column: str) -> float:
        row = self.table().filter(pl.col("method") == method)
        if row.is_empty():
            raise KeyError(f"no method {method!r} in this backtest; have {self.methods}")
        value = row[column][0]
        return float(value) if value is not None else math.nan

    def mae(self, method: str) -> float:
        return self._metric(method, "mae")

    def nmae(self, method: str) -> float:
        return self._metric(method, "nmae")

    def rmse(self, method: str) -> float:
        return self._metric(method, "rmse")

    def skill(self, method: str) -> float:
        """1 - MAE(method) / MAE(seasonal naive) on the same targets; > 0 beats the reference."""
        return self._metric(method, "skill")

    def beats(self, challenger: str, champion: str, *, margin: float = 0.0) -> bool:
        """True if the challenger's MAE is below the champion's by more than ``margin`` (relative),
        on the same origins and targets (guaranteed: both were scored in one backtest)."""
        return self.mae(challenger) < self.mae(champion) * (1.0 - margin)


def _score_origin(
    series: pl.DataFrame,
    temperature: pl.DataFrame | None,
    origin: datetime,
    horizon_hours: int,
    forecasters: Mapping[str, Forecaster],
) -> list[pl.DataFrame]:
    horizon_end = origin + timedelta(hours=horizon_hours)
    truth = series.filter((pl.col("ts") >= origin) & (pl.col("ts") < horizon_end)).drop_nulls("kwh")
    if truth.is_empty():
        return []
    # Strictly before the origin: this cut is what keeps the future out of every method.
    history = series.filter((pl.col("ts") < origin) & (pl.col("ts") >= origin - max(_HISTORY_SPAN, LOOKBACK)))
    temps = None
    if temperature is not None:
        temps = temperature.filter((pl.col("ts") >= origin - timedelta(hours=48)) & (pl.col("ts") < horizon_end))
    frames = []
    for name, forecaster in forecasters.items():
        predicted = forecaster.predict(origin, horizon_hours, temperature_future=temps, history=history)
        scored = truth.join(predicted, on="ts", how="left")
        if scored["kwh_pred"].is_null().any() or not np.isfinite(scored["kwh_pred"].to_numpy()).all():
            raise ValueError(f"{name} left targets of origin {origin.isoformat()} without a finite prediction")
        frames.append(
            scored.select(pl.lit(name).alias("method"), pl.lit(origin).alias("origin"), "ts", "kwh", "kwh_pred")
        )
    return frames


def _report(frames: list[pl.DataFrame], reference: str) -> BacktestReport:
    if not frames:
        raise ValueError("no origin had data to score")
    predictions = pl.concat(frames).with_columns(pl.col("origin").cast(TS_DTYPE))
    return BacktestReport(predictions=predictions, reference=reference)


def _prepare(load: pl.DataFrame, temperature: pl.DataFrame | None, resolution: Resolution):
    series = to_resolution(load, resolution)
    temps = None
    if temperature is not None:
        temps = temperature.select(pl.col("ts").dt.convert_time_zone("UTC").cast(TS_DTYPE), "temp_c")
    return series, temps


def backtest_window(
    load: pl.DataFrame,
    temperature: pl.DataFrame | None,
    origins: Sequence[datetime],
    models: Mapping[str, Forecaster],
    *,
    timezone: str | None = None,
    horizon_hours: int = 24,
    resolution: Resolution = "hour",
    baselines: Sequence[Baseline] | None = None,
) -> BacktestReport:
    """Score already fitted models (and the baselines) on exactly the given origins.

    For promote-if-better: ``backtest_window(load, temps, origins, {"champion": a, "challenger": b})
    .beats("challenger", "champion")``. Choose origins after both models' training windows
    (``describe()["training_window"]["end"]``), or the score is partly in-sample.
    """
    timezone = timezone or default_timezone()
    series, temps = _prepare(load, temperature, resolution)
    chosen = default_baselines(timezone) if baselines is None else tuple(baselines)
    forecasters: dict[str, Forecaster] = dict(models)
    for baseline in chosen:
        forecasters.setdefault(baseline.name, _BaselineForecaster(baseline, STEP[resolution]))
    frames: list[pl.DataFrame] = []
    for origin in origins:
        frames.extend(_score_origin(series, temps, origin, horizon_hours, forecasters))
    return _report(frames, REFERENCE)


def backtest(
    load: pl.DataFrame,
    temperature: pl.DataFrame | None = None,
    state: str | None = None,
    timezone: str | None = None,
    *,
    model_factory: Callable[[], LoadModel] = LoadModel,
    model_name: str = "model",
    origins: Sequence[datetime] | None = None,
    min_history_days: int = 28,
    step_days: int = 1,
    retrain_every: int = 28,
    horizon_hours: int = 24,
    resolution: Resolution = "hour",
    baselines: Sequence[Baseline] | None = None,
) -> BacktestReport:
    """Rolling-origin backtest of a model trained from scratch, against the baselines.

    ``origins`` default to ``rolling_origins(load, min_history_days, step_days)``. The model is
    refit on everything before the origin at the first origin and every ``retrain_every`` origins.
    """
    timezone = timezone or default_timezone()
    if retrain_every < 1:
        raise ValueError("retrain_every must be >= 1")
    series, temps = _prepare(load, temperature, resolution)
    if origins is None:
        origins = rolling_origins(
            series,
            timezone=timezone,
            min_history_days=min_history_days,
            step_days=step_days,
            horizon_hours=horizon_hours,
        )
    chosen = default_baselines(timezone) if baselines is None else tuple(baselines)
    forecasters: dict[str, Forecaster] = {b.name: _BaselineForecaster(b, STEP[resolution]) for b in chosen}
    frames: list[pl.DataFrame] = []
    for i, origin in enumerate(origins):
        if i % retrain_every == 0:
            past = series.filter(pl.col("ts") < origin)
            past_temps = None if temps is None else temps.filter(pl.col("ts") < origin)
            forecasters[model_name] = model_factory().fit(past, past_temps, state, timezone)
        frames.extend(_score_origin(series, temps, origin, horizon_hours, forecasters))
    return _report(frames, REFERENCE)
