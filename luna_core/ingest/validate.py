"""Row-level validation of meter readings, vectorised in polars.

Input is a raw frame (strings from CSV or JSON, typed columns from Parquet). Output is
the clean rows, the rejected rows with the first reason each failed, and counts. No row
leaves this module without being either clean, a counted exact duplicate, or quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from luna_core.ingest.errors import IngestError

REQUIRED_COLUMNS = ("meter_id", "ts", "kwh")
QUALITIES = ("measured", "estimated", "substituted")
INTERVAL_MINUTES = 15
_AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%#z", "%Y-%m-%d %H:%M:%S%#z", "%Y-%m-%dT%H:%M:%S%.f%#z")
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M")
_UTC = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class IngestPolicy:
    """What the platform accepts in time: not too far ahead, not implausibly old (an old typo
    like 1926 for 2026 would otherwise silently create a century of partitions)."""

    future_tolerance: timedelta = timedelta(hours=1)
    max_age: timedelta = timedelta(days=3660)

    @classmethod
    def from_settings(cls, settings) -> IngestPolicy:
        return cls(
            future_tolerance=timedelta(minutes=settings.ingest_future_tolerance_minutes),
            max_age=timedelta(days=settings.ingest_max_age_days),
        )


@dataclass(frozen=True)
class MeterLimits:
    """What validation needs to know about a tenant's meters: id -> max power in kW."""

    max_kw: dict[str, float]


@dataclass
class Validated:
    clean: pl.DataFrame  # meter_id, ts (UTC), kwh, quality; unique on (meter_id, ts)
    rejected: pl.DataFrame  # raw (JSON text of the original row), reason
    duplicates: int  # exact repeats folded into one clean row


def validate_readings(
    raw: pl.DataFrame,
    limits: MeterLimits,
    timezone: str,
    now: datetime | None = None,
    policy: IngestPolicy | None = None,
) -> Validated:
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise IngestError(
            f"missing required column(s) {', '.join(missing)}; expected {', '.join(REQUIRED_COLUMNS)}"
            f" (and optionally quality), found {', '.join(raw.columns) or 'none'}"
        )
    now = now or datetime.now(UTC)
    policy = policy or IngestPolicy()
    # PostgreSQL text and jsonb cannot hold NUL: keep it visible as an escape, never fail on it.
    raw = raw.with_columns(pl.col(pl.Utf8).str.replace_all("\x00", "\\u0000", literal=True))
    frame = raw.with_row_index("_row")
    if "quality" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.Utf8).alias("quality"))

    frame = frame.with_columns(
        pl.col("meter_id").cast(pl.Utf8).str.strip_chars().alias("_meter"),
        _parse_kwh(frame.schema["kwh"]).alias("_kwh"),
        pl.col("quality").cast(pl.Utf8).str.strip_chars().str.to_lowercase().fill_null("measured").alias("_quality"),
    )
    frame = _parse_timestamps(frame, timezone)

    max_kw = pl.DataFrame(
        {
            "_meter": list(limits.max_kw),
            "_max_kwh": [kw * INTERVAL_MINUTES / 60 for kw in limits.max_kw.values()],
        },
        schema={"_meter": pl.Utf8, "_max_kwh": pl.Float64},
    )
    frame = frame.join(max_kw, on="_meter", how="left", maintain_order="left")
    # Adapters mark records they already know are bad (an MQTT payload that is not JSON) with "_error".
    known_error = pl.col("_error").cast(pl.Utf8) if "_error" in frame.columns else pl.lit(None, pl.Utf8)
    frame = frame.with_columns(
        pl.coalesce(known_error, _first_failure(now - policy.max_age, now + policy.future_tolerance)).alias("_reason")
    )

    frame = _flag_conflicting_duplicates(frame)
    bad = frame.filter(pl.col("_reason").is_not_null())
    good = frame.filter(pl.col("_reason").is_null())
    clean = (
        good.select(
            pl.col("_meter").alias("meter_id"),
            pl.col("_ts").alias("ts"),
            pl.col("_kwh").alias("kwh"),
            pl.col("_quality").alias("quality"),
        )
        .unique(subset=["meter_id", "ts"], keep="first", maintain_order=True)
        .sort("meter_id", "ts")
    )
    rejected = bad.select(_raw_json(raw.columns).alias("raw"), pl.col("_reason").alias("reason"))
    return Validated(clean=clean, rejected=rejected, duplicates=good.height - clean.height)


def _parse_kwh(dtype: pl.DataType) -> pl.Expr:
    if dtype.is_numeric():
        return pl.col("kwh").cast(pl.Float64)
    return pl.col("kwh").cast(pl.Utf8).str.strip_chars().cast(pl.Float64, strict=False)


def _parse_timestamps(frame: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Adds ``_ts`` (UTC) and ``_ts_problem`` (why a timestamp could not be placed in time)."""
    dtype = frame.schema["ts"]
    if isinstance(dtype, pl.Datetime):
        ts = pl.col("ts")
        if dtype.time_zone is None:
            return _localise(frame.with_columns(ts.alias("_naive")), timezone)
        return frame.with_columns(ts.dt.convert_time_zone("UTC").cast(_UTC).alias("_ts"), _no_problem())

    text = pl.col("ts").cast(pl.Utf8).str.strip_chars()
    aware = pl.coalesce(
        [text.str.to_datetime(format=f, strict=False, time_zone="UTC", time_unit="us") for f in _AWARE_FORMATS]
    )
    frame = frame.with_columns(aware.alias("_ts"))
    if frame["_ts"].null_count() == 0:
        return frame.with_columns(_no_problem())
    naive = pl.coalesce([text.str.to_datetime(format=f, strict=False, time_unit="us") for f in _NAIVE_FORMATS])
    localised = _localise(frame.with_columns(naive.alias("_naive")), timezone)
    return localised.with_columns(
        pl.coalesce(pl.col("_ts"), pl.col("_ts_local")).alias("_ts"),
        pl.when(pl.col("_ts").is_null()).then(pl.col("_ts_problem")).otherwise(None).alias("_ts_problem"),
    ).drop("_ts_local")


def _localise(frame: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Naive wall-clock times in ``timezone``: the DST fall-back hour is ambiguous, the
    spring-forward hour does not exist; both are quarantined, never guessed."""
    naive = pl.col("_naive")
    strict = naive.dt.replace_time_zone(timezone, ambiguous="null", non_existent="null")
    lenient = naive.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    problem = (
        pl.when(naive.is_null())
        .then(pl.lit("unparseable timestamp"))
        .when(lenient.is_null())
        .then(pl.lit(f"local time does not exist in {timezone} (DST spring-forward gap)"))
        .when(strict.is_null())
        .then(pl.lit(f"ambiguous local time in {timezone} (DST fall-back hour); send a UTC offset"))
    )
    localised = strict.dt.convert_time_zone("UTC").cast(_UTC)
    target = "_ts_local" if "_ts" in frame.columns else "_ts"
    return frame.with_columns(localised.alias(target), problem.alias("_ts_problem")).drop("_naive")


def _no_problem() -> pl.Expr:
    return pl.lit(None, pl.Utf8).alias("_ts_problem")


def _first_failure(earliest_allowed: datetime, latest_allowed: datetime) -> pl.Expr:
    kwh, ts, meter = pl.col("_kwh"), pl.col("_ts"), pl.col("_meter")
    interval_us = INTERVAL_MINUTES * 60 * 1_000_000
    return (
        pl.when(meter.is_null() | (meter == ""))
        .then(pl.lit("missing meter_id"))
        .when(pl.col("_max_kwh").is_null())
        .then(pl.format("unknown meter '{}' for this tenant", meter))
        .when(pl.col("_ts_problem").is_not_null())
        .then(pl.col("_ts_problem"))
        .when(ts.is_null())
        .then(pl.lit("unparseable timestamp"))
        .when(ts.dt.epoch("us") % interval_us != 0)
        .then(pl.lit(f"timestamp not on the {INTERVAL_MINUTES}-minute grid"))
        .when(ts > pl.lit(latest_allowed).cast(_UTC))
        .then(pl.lit("timestamp in the future"))
        .when(ts < pl.lit(earliest_allowed).cast(_UTC))
        .then(pl.lit(f"timestamp before {earliest_allowed:%Y-%m-%d} is implausibly old"))
        .when(kwh.is_null())
        .then(pl.lit("kwh is not a number"))
        .when(kwh.is_nan() | kwh.is_infinite())
        .then(pl.lit("kwh is not finite"))
        .when(kwh < 0)
        .then(pl.format("negative energy {} kWh", kwh))
        .when(kwh > pl.col("_max_kwh"))
        .then(pl.format("implausible spike: {} kWh in 15 min exceeds the meter limit of {} kWh", kwh, "_max_kwh"))
        .when(~pl.col("_quality").is_in(QUALITIES))
        .then(pl.format("unknown quality '{}' (expected one of {})", "_quality", pl.lit(", ".join(QUALITIES))))
        .otherwise(None)
    )


def _flag_conflicting_duplicates(frame: pl.DataFrame) -> pl.DataFrame:
    """Same meter and time twice with different values: keep neither, say why."""
    key = ["_meter", "_ts"]
    distinct_values = pl.struct("_kwh", "_quality").n_unique().over(key)
    conflict = pl.col("_reason").is_null() & (distinct_values > 1)
    valid_only = frame.filter(pl.col("_reason").is_null())
    if valid_only.height == valid_only.select(key).n_unique():
        return frame
    flagged = valid_only.with_columns(conflict.alias("_conflict")).select("_row", "_conflict")
    return (
        frame.join(flagged, on="_row", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("_conflict"))
            .then(pl.lit("conflicting values for the same meter and time in one batch"))
            .otherwise(pl.col("_reason"))
            .alias("_reason")
        )
        .drop("_conflict")
    )


def _raw_json(columns: list[str]) -> pl.Expr:
    return pl.struct([pl.col(c).cast(pl.Utf8) for c in columns]).struct.json_encode()
