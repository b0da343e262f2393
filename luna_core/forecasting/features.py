"""Feature table for day-ahead load forecasting.

Leakage rule: a feature of the interval starting at ``t`` uses load of intervals starting at
``t - 24 h`` or earlier, never later. A forecast made at origin ``O`` (everything before ``O``
is known) for targets in ``[O, O + 24 h)`` therefore only reads known load. Horizons beyond
24 h are served by ``LoadModel`` recursively (its own predictions stand in for the unknown
load). Calendar flags and temperature are exogenous: the calendar is known in advance and
temperature stands for a weather forecast (with the simulator: the DWD TRY series).

Lags are taken in absolute time (24 h, 48 h, 168 h before); daily behaviour is described by
the calendar features, which are in the tenant's local time, so a DST day shifts a lag by one
wall-clock hour for one day while the hour-of-day feature stays right.
"""

from __future__ import annotations

import math
from datetime import timedelta
from functools import lru_cache
from typing import Literal

import holidays
import polars as pl

from luna_core.settings import default_timezone

Resolution = Literal["15min", "hour"]
STEP: dict[str, timedelta] = {"15min": timedelta(minutes=15), "hour": timedelta(hours=1)}
_EVERY = {"15min": "15m", "hour": "1h"}
STEPS_PER_HOUR = {"15min": 4, "hour": 1}
TS_DTYPE = pl.Datetime("us", "UTC")

# The forecast may read load no closer than this to the target (see the module docstring).
MIN_LAG = timedelta(hours=24)
LAGS_H = (24, 48, 168)
SAME_SLOT_WEEKS = 4  # weeks averaged for the same weekday and time of day
# How much history before an origin the features reach back: the four-week slot mean.
LOOKBACK = timedelta(hours=168 * SAME_SLOT_WEEKS)

CALENDAR_PARTS = ("hour", "weekday", "day_of_year", "is_holiday")
CALENDAR_DERIVED = ("is_weekend", "is_offday", "doy_sin", "doy_cos")
# Load-valued columns: the ones a level-normalised ("ratio") model divides by the level.
LOAD_VALUED = (
    "lag_24h",
    "lag_48h",
    "lag_168h",
    "lag_same_daytype",
    "mean_same_slot_4w",
    "mean_prev_day",
    "mean_prev_week",
)
HISTORY_FEATURES = (*LOAD_VALUED, "offday_24h_ago", "offday_168h_ago")
TEMPERATURE_FEATURES = ("temp_c", "temp_mean_24h")


def check_resolution(resolution: str) -> Resolution:
    if resolution not in STEP:
        raise ValueError(f"resolution must be one of {tuple(STEP)}, got {resolution!r}")
    return resolution  # type: ignore[return-value]


def calendar_part_columns(resolution: str) -> tuple[str, ...]:
    # A quarter-hour column only carries information at 15-min resolution.
    return (*CALENDAR_PARTS, "quarter") if resolution == "15min" else CALENDAR_PARTS


def feature_columns(resolution: str, with_temperature: bool) -> list[str]:
    """The model's input columns, in a fixed order. The raw day of year is left out: within a
    year of training it identifies single dates, which trees would memorise; sin/cos carry the season."""
    parts = [c for c in calendar_part_columns(resolution) if c != "day_of_year"]
    columns = [*parts, *CALENDAR_DERIVED, *HISTORY_FEATURES]
    return columns + list(TEMPERATURE_FEATURES) if with_temperature else columns


def _utc_ts(frame: pl.DataFrame, what: str) -> pl.DataFrame:
    dtype = frame.schema.get("ts")
    if not isinstance(dtype, pl.Datetime):
        raise ValueError(f"{what}: needs a datetime column 'ts'")
    if dtype.time_zone is None:
        # Naive timestamps are ambiguous around DST; the ingest path refuses to guess too.
        raise ValueError(f"{what}: 'ts' is naive; pass timezone-aware (UTC) timestamps")
    return frame.with_columns(pl.col("ts").dt.convert_time_zone("UTC").cast(TS_DTYPE))


def _native_step(ts: pl.Series) -> timedelta | None:
    diffs = ts.unique().sort().diff().drop_nulls()
    if diffs.len() == 0:
        return None
    return diffs.mode().min()  # type: ignore[return-value]


def to_resolution(load: pl.DataFrame, resolution: str = "hour", column: str = "kwh") -> pl.DataFrame:
    """Energy per interval at ``resolution`` on a complete UTC grid: ``ts``, ``column``.

    A coarser interval is the sum of its finer readings, and null unless all of them are
    present: a missing quarter hour must not look like a low hour. Duplicate timestamps keep
    the last row. Missing intervals appear as nulls.
    """
    resolution = check_resolution(resolution)
    frame = _utc_ts(load.select("ts", column), "load").unique("ts", keep="last", maintain_order=True)
    if frame.is_empty():
        return frame.with_columns(pl.col(column).cast(pl.Float64))
    step = STEP[resolution]
    native = _native_step(frame["ts"]) or step
    if native > step:
        raise ValueError(f"load is at {native} steps, coarser than the requested {resolution}")
    per_bucket = max(1, int(step / native))
    # group_by_dynamic over sorted rows sums in time order: a hash group_by's order varies
    # between runs, and a last-bit difference is enough to change a tree's split.
    binned = (
        frame.sort("ts")
        .group_by_dynamic("ts", every=_EVERY[resolution])
        .agg(pl.col(column).sum().alias("_sum"), pl.col(column).count().alias("_n"))
        .select("ts", pl.when(pl.col("_n") == per_bucket).then(pl.col("_sum")).alias(column))
    )
    return _complete_grid(binned, resolution).with_columns(pl.col(column).cast(pl.Float64))


def _complete_grid(frame: pl.DataFrame, resolution: str) -> pl.DataFrame:
    grid = pl.datetime_range(
        frame["ts"].min(), frame["ts"].max(), _EVERY[resolution], time_zone="UTC", time_unit="us", eager=True
    )
    return pl.DataFrame({"ts": grid}).join(frame, on="ts", how="left")


def temperature_at(temperature: pl.DataFrame, resolution: str = "hour") -> pl.DataFrame:
    """Mean temperature per interval on a complete grid: ``ts``, ``temp_c``."""
    frame = _utc_ts(temperature.select("ts", "temp_c"), "temperature").unique("ts", keep="last", maintain_order=True)
    binned = (
        frame.sort("ts")
        .group_by_dynamic("ts", every=_EVERY[check_resolution(resolution)])
        .agg(pl.col("temp_c").mean().cast(pl.Float64))
    )
    return _complete_grid(binned, resolution)


@lru_cache(maxsize=256)
def _holiday_dates(country: str, state: str | None, year: int) -> frozenset:
    return frozenset(holidays.country_holidays(country, subdiv=state, years=year))


def holiday_dates(country: str, state: str | None, years: range) -> list:
    return sorted(day for year in years for day in _holiday_dates(country, state, year))


def calendar_parts(ts: pl.Series, timezone: str, state: str | None, country: str = "DE") -> pl.DataFrame:
    """Local-time calendar of UTC instants: hour, quarter, weekday (Mon=0), day of year, holiday."""
    local = ts.dt.convert_time_zone(timezone)
    frame = pl.DataFrame({"local": local})
    if frame.is_empty():
        years = range(0)
    else:
        years = range(int(local.dt.year().min()), int(local.dt.year().max()) + 1)  # type: ignore[arg-type]
    return frame.select(
        pl.col("local").dt.hour().cast(pl.Int8).alias("hour"),
        (pl.col("local").dt.minute() // 15).cast(pl.Int8).alias("quarter"),
        (pl.col("local").dt.weekday() - 1).cast(pl.Int8).alias("weekday"),
        pl.col("local").dt.ordinal_day().cast(pl.Int16).alias("day_of_year"),
        pl.col("local").dt.date().is_in(holiday_dates(country, state, years)).alias("is_holiday"),
    )


def derive_features(frame: pl.DataFrame, resolution: str, value: str = "kwh") -> pl.DataFrame:
    """Derived calendar, history and temperature features of a sorted frame on a complete grid.

    ``frame`` has the calendar parts, ``value`` (load, null where unknown) and optionally
    ``temp_c``. Shared by ``build_features`` and the global model, which only sees anonymised
    shapes, so both compute features the same way.
    """
    per_hour = STEPS_PER_HOUR[check_resolution(resolution)]
    day, week = 24 * per_hour, 168 * per_hour
    offday = (pl.col("weekday") >= 5) | pl.col("is_holiday")
    # Shifting by at least a day is what enforces the leakage rule: see the module docstring.
    out = frame.with_columns(
        (pl.col("weekday") >= 5).alias("is_weekend"),
        offday.alias("is_offday"),
        (2 * math.pi * (pl.col("day_of_year") - 1) / 365.25).sin().alias("doy_sin"),
        (2 * math.pi * (pl.col("day_of_year") - 1) / 365.25).cos().alias("doy_cos"),
        *(pl.col(value).shift(lag * per_hour).alias(f"lag_{lag}h") for lag in LAGS_H),
        # Monday looks like Friday, not like Sunday: the latest day of the same kind (work or off).
        pl.coalesce(
            pl.when(offday.shift(k * day) == offday).then(pl.col(value).shift(k * day)) for k in range(1, 8)
        ).alias("lag_same_daytype"),
        # The mean-profile baseline as a feature: same weekday and time over the last weeks.
        pl.mean_horizontal(pl.col(value).shift(k * week) for k in range(1, SAME_SLOT_WEEKS + 1)).alias(
            "mean_same_slot_4w"
        ),
        pl.col(value).rolling_mean(day, min_samples=per_hour * 6).shift(day).alias("mean_prev_day"),
        pl.col(value).rolling_mean(week, min_samples=day).shift(day).alias("mean_prev_week"),
        offday.shift(day).alias("offday_24h_ago"),
        offday.shift(week).alias("offday_168h_ago"),
    )
    if "temp_c" in out.columns and "temp_mean_24h" not in out.columns:
        # Buildings answer to the last day's weather, not only the current hour's.
        out = out.with_columns(pl.col("temp_c").rolling_mean(day, min_samples=1).alias("temp_mean_24h"))
    return out


def build_features(
    load: pl.DataFrame,
    temperature: pl.DataFrame | None = None,
    state: str | None = None,
    timezone: str | None = None,
    resolution: Resolution = "hour",
    *,
    country: str = "DE",
) -> pl.DataFrame:
    """One row per interval of ``load`` (complete UTC grid): ``ts``, ``kwh`` and the features.

    ``load``: ``ts`` (UTC interval start), ``kwh``; rows to forecast carry a null ``kwh``.
    ``temperature``: ``ts``, ``temp_c`` at any resolution up to ``resolution`` (history: actual;
    future: the forecast), or None to leave temperature out. ``state``: holiday subdivision of
    ``country`` (German states by default; None: nationwide holidays only).
    """
    timezone = timezone or default_timezone()
    resolution = check_resolution(resolution)
    series = to_resolution(load, resolution)
    frame = pl.concat(
        [series, calendar_parts(series["ts"], timezone, state, country).select(calendar_part_columns(resolution))],
        how="horizontal",
    )
    if temperature is not None:
        # The rolling temperature mean may reach before the load's first row: compute it on
        # the temperature's own grid and only then join it to the load's rows.
        temps = temperature_at(temperature, resolution).with_columns(
            pl.col("temp_c").rolling_mean(24 * STEPS_PER_HOUR[resolution], min_samples=1).alias("temp_mean_24h")
        )
        frame = frame.join(temps, on="ts", how="left")
    out = derive_features(frame, resolution)
    return out.select("ts", "kwh", *feature_columns(resolution, temperature is not None))


def aggregate_load(
    readings: pl.DataFrame, meter_ids: list[str] | None = None, resolution: str = "hour"
) -> pl.DataFrame:
    """Sum some meters' readings (``meter_id, ts, kwh``) into one load series at ``resolution``.

    An interval is null if any chosen meter lacks a reading in it, so gaps stay visible.
    """
    chosen = readings if meter_ids is None else readings.filter(pl.col("meter_id").is_in(meter_ids))
    meters = chosen["meter_id"].unique().sort().to_list()
    series = [to_resolution(chosen.filter(pl.col("meter_id") == m), resolution).rename({"kwh": m}) for m in meters]
    if not series:
        raise ValueError("no readings for the chosen meters")
    wide = series[0]
    for other in series[1:]:
        wide = wide.join(other, on="ts", how="full", coalesce=True)
    # sum_horizontal ignores nulls; a partial sum would understate the load.
    total = pl.when(pl.any_horizontal(pl.col(meters).is_null())).then(None).otherwise(pl.sum_horizontal(meters))
    return wide.sort("ts").select("ts", total.cast(pl.Float64).alias("kwh"))
