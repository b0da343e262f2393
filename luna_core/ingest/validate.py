"""Row-level validation of meter readings, vectorised in polars.

Input is ``Readings`` (the same for files, HTTP and MQTT). Output is the clean rows in kWh,
the rejected rows with the first reason each failed (with the real values: the timestamp, the
limit, the cut-off and the setting that moves it) and a summary kind per reason, the interval
each meter was checked by, and counts. No row leaves this module without being clean, a counted
exact duplicate, or quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import polars as pl

from luna_core.ingest.columns import Readings
from luna_core.ingest.intervals import GRID_MINUTES, MeterInfo, MeterInterval, resolve_intervals
from luna_core.ingest.timestamps import UTC_TYPE, parse_timestamps
from luna_core.ingest.units import UNIT_NAMES, factor_exprs, parse_numbers, unit_expr

QUALITIES = ("measured", "estimated", "substituted")
SET_INTERVAL = "set its interval (luna meters set, PATCH /meters/{id})"
REGISTER = "register it first (luna meters set)"


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


@dataclass
class Validated:
    clean: pl.DataFrame  # meter_id, ts (UTC), kwh, quality; unique on (meter_id, ts)
    rejected: pl.DataFrame  # row (1-based position in the input), raw (JSON of the row as sent), reason, kind
    duplicates: int  # exact repeats folded into one clean row
    intervals: dict[str, MeterInterval] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)  # unit the clean rows were sent in -> rows


def validate_readings(
    readings: Readings,
    meters: dict[str, MeterInfo],
    timezone: str,
    now: datetime | None = None,
    policy: IngestPolicy | None = None,
) -> Validated:
    now = now or datetime.now(UTC)
    policy = policy or IngestPolicy()
    labels = readings.labels
    frame = readings.frame.with_row_index("_row", offset=1)
    frame = frame.with_columns(pl.col("meter_id").str.strip_chars().alias("_meter"))
    frame = frame.hstack(parse_timestamps(frame["ts"], timezone, labels["ts"]))
    sent_as_text = frame["value"].zip_with(frame["_number"].is_null(), pl.Series([None] * frame.height, dtype=pl.Utf8))
    frame = frame.hstack(
        parse_numbers(frame["value"] if frame["value"].dtype != pl.Utf8 else sent_as_text, labels["value"])
    )

    intervals = resolve_intervals(frame, meters)
    per_meter = pl.DataFrame(
        {
            "_meter": list(intervals),
            "_interval": [i.minutes for i in intervals.values()],
            "_grid": [i.minutes if i.source != "assumed" else GRID_MINUTES for i in intervals.values()],
            "_interval_known": [i.source != "assumed" for i in intervals.values()],
            "_max_kw": [meters[m].max_kw for m in intervals],
        },
        schema={
            "_meter": pl.Utf8,
            "_interval": pl.Int64,
            "_grid": pl.Int64,
            "_interval_known": pl.Boolean,
            "_max_kw": pl.Float64,
        },
    )
    frame = frame.join(per_meter, on="_meter", how="left", maintain_order="left")
    frame = _with_energy(frame, readings)
    frame = frame.with_columns(
        pl.col("quality").str.strip_chars().str.to_lowercase().fill_null("measured").alias("_quality"),
        _grid_offset(frame, timezone).alias("_off_grid"),
    )

    rules = _rules(readings, now - policy.max_age, now + policy.future_tolerance, policy)
    frame = frame.with_columns(_first_failure(rules).alias("_rule"))
    frame = _flag_conflicting_duplicates(frame, len(rules))
    bad = frame.filter(pl.col("_rule").is_not_null())
    good = frame.filter(pl.col("_rule").is_null())
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
    rejected = bad.select(
        pl.col("_row").cast(pl.Int64).alias("row"),
        _explain(rules, "reason").alias("reason"),
        _explain(rules, "kind").alias("kind"),
    )
    rejected = rejected.insert_column(1, readings.raw_rows(rejected["row"] - 1).alias("raw"))
    return Validated(
        clean=clean,
        rejected=rejected,
        duplicates=good.height - clean.height,
        intervals=intervals,
        units=dict(good.group_by("_unit").len().iter_rows()),
    )


def _with_energy(frame: pl.DataFrame, readings: Readings) -> pl.DataFrame:
    """``_value`` in its unit -> ``_kwh``; ``_unit`` the canonical unit, ``_unit_problem`` why there is none."""
    header = readings.header_unit
    # No unit on any row (the usual 'kwh' file): one unit for all, no per-row lookups.
    row_unit = unit_expr("unit") if frame["unit"].null_count() < frame.height else pl.lit(None, pl.Utf8)
    unit = pl.coalesce(row_unit, pl.lit(header.name if header else None, pl.Utf8))
    factor, is_power = factor_exprs(unit)
    label = readings.labels.get("unit", "unit")
    problem = (
        pl.when(pl.col("unit").is_not_null() & row_unit.is_null())
        .then(
            pl.format(
                "unknown unit '{}' in column '{}' (expected {})", pl.col("unit"), pl.lit(label), pl.lit(UNIT_NAMES)
            )
        )
        .when(row_unit.is_null() & pl.lit(header is None))
        .then(pl.lit(f"no unit in column '{label}' (expected {UNIT_NAMES})"))
    )
    if header is not None and readings.header_unit_explicit:
        problem = problem.when(row_unit.is_not_null() & (row_unit != header.name)).then(
            pl.format(
                "unit '{}' in column '{}' contradicts column '{}', which is in {}",
                row_unit,
                pl.lit(label),
                pl.lit(readings.labels["value"]),
                pl.lit(header.name),
            )
        )
    value = pl.coalesce("_number", "_value")
    hours = pl.col("_interval").cast(pl.Float64) / 60
    kwh = pl.when(is_power).then(value * factor * hours).otherwise(value * factor)
    return frame.with_columns(
        value.alias("_value"),
        unit.alias("_unit"),
        is_power.fill_null(False).alias("_is_power"),
        problem.alias("_unit_problem"),
        kwh.alias("_kwh"),
    )


def _grid_offset(frame: pl.DataFrame, timezone: str) -> pl.Expr:
    """Minutes past the meter's grid, in local time (a 60-minute meter reads on the local hour)."""
    local = pl.col("_ts")
    if frame["_grid"].max() is not None and frame["_grid"].max() > GRID_MINUTES:  # type: ignore[operator]
        local = local.dt.convert_time_zone(timezone).dt.replace_time_zone(None)
    grid_us = pl.col("_grid").fill_null(GRID_MINUTES) * 60_000_000
    return local.dt.epoch("us") % grid_us != 0


@dataclass(frozen=True)
class Rule:
    failed: pl.Expr
    reason: pl.Expr  # for the quarantined row: with its values
    kind: pl.Expr  # for the batch summary: the same without the row's own values


def _rules(readings: Readings, earliest: datetime, latest: datetime, policy: IngestPolicy) -> list[Rule]:
    meter, ts, kwh = pl.col("_meter"), pl.col("_ts"), pl.col("_kwh")
    labels = readings.labels
    shown_ts = ts.dt.to_string("%Y-%m-%d %H:%M UTC")
    max_kwh = (pl.col("_max_kw") * pl.col("_interval") / 60).round(3)
    max_age_days, tolerance = policy.max_age.days, int(policy.future_tolerance.total_seconds() // 60)
    old = (
        f"is before {earliest:%Y-%m-%d}, the oldest accepted (LUNA_INGEST_MAX_AGE_DAYS={max_age_days}); "
        "raise the setting to accept older readings"
    )
    future = (
        f"is after {latest:%Y-%m-%d %H:%M} UTC, more than LUNA_INGEST_FUTURE_TOLERANCE_MINUTES={tolerance} "
        "minutes ahead of now"
    )
    grid_words = pl.format("meter '{}' reads every {} minutes", meter, pl.col("_grid"))
    limit = pl.format(
        "the limit of meter '{}' ({} kWh: max_kw {} x {} minutes); check the unit or the meter's max_kw",
        meter,
        max_kwh,
        pl.col("_max_kw"),
        pl.col("_interval"),
    )
    value_label = pl.lit(labels["value"])

    def same(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        return expr, expr

    return [
        Rule(pl.col("_error").is_not_null(), *same(pl.col("_error"))),
        Rule(meter.is_null() | (meter == ""), *same(pl.lit(f"no meter in column '{labels['meter']}'"))),
        Rule(
            pl.col("_max_kw").is_null(),
            pl.format("unknown meter '{}' for this tenant; {}", meter, pl.lit(REGISTER)),
            # The summary goes back to the sender: it never repeats an id no meter of the tenant has.
            pl.lit(f"unknown meter for this tenant; {REGISTER}"),
        ),
        Rule(pl.col("_ts_problem").is_not_null(), pl.col("_ts_problem"), pl.col("_ts_kind")),
        Rule(ts.is_null(), *same(pl.lit(f"no timestamp in column '{labels['ts']}'"))),
        Rule(
            pl.col("_off_grid"),
            pl.format("timestamp {} is not on the meter's {}-minute grid ({})", shown_ts, pl.col("_grid"), grid_words),
            pl.format(
                "timestamp not on the {}-minute grid ({}; Luna accepts readings every 15, 30 or 60 minutes, at :00, "
                ":15, :30, :45; if the meter reads more often, {})",
                pl.col("_grid"),
                grid_words,
                pl.lit(SET_INTERVAL),
            ),
        ),
        Rule(
            ts > pl.lit(latest).cast(UTC_TYPE),
            pl.format("timestamp {} {}", shown_ts, pl.lit(future)),
            pl.lit(f"timestamp {future}"),
        ),
        Rule(
            ts < pl.lit(earliest).cast(UTC_TYPE),
            pl.format("timestamp {} {}", shown_ts, pl.lit(old)),
            pl.lit(f"timestamp {old}"),
        ),
        Rule(pl.col("_value_problem").is_not_null(), pl.col("_value_problem"), pl.col("_value_kind")),
        Rule(pl.col("_value").is_null(), *same(pl.format("no value in column '{}'", value_label))),
        Rule(pl.col("_unit_problem").is_not_null(), *same(pl.col("_unit_problem"))),
        Rule(
            pl.col("_is_power") & ~pl.col("_interval_known"),
            *same(
                pl.format(
                    "a value in {} needs the reading interval of meter '{}', which is not known yet; {} or send "
                    "more readings at once",
                    pl.col("_unit"),
                    meter,
                    pl.lit(SET_INTERVAL),
                )
            ),
        ),
        Rule(
            pl.col("_value").is_nan() | pl.col("_value").is_infinite(),
            pl.format("value {} in column '{}' is not finite", pl.col("_value"), value_label),
            pl.format("value in column '{}' is not finite", value_label),
        ),
        Rule(kwh < 0, pl.format("negative energy {} kWh", kwh), pl.lit("negative energy")),
        Rule(
            kwh > pl.col("_max_kw") * pl.col("_interval") / 60,
            pl.format(
                "implausible spike: {} kWh in {} minutes at {} exceeds {}",
                kwh.round(6),
                pl.col("_interval"),
                shown_ts,
                limit,
            ),
            pl.format("implausible spike: above {}", limit),
        ),
        Rule(
            ~pl.col("_quality").is_in(QUALITIES),
            *same(pl.format("unknown quality '{}' (expected one of {})", "_quality", pl.lit(", ".join(QUALITIES)))),
        ),
    ]


def _first_failure(rules: list[Rule]) -> pl.Expr:
    chain = pl.when(rules[0].failed).then(pl.lit(0, pl.Int16))
    for index, rule in enumerate(rules[1:], start=1):
        chain = chain.when(rule.failed).then(pl.lit(index, pl.Int16))
    return chain.otherwise(pl.lit(None, pl.Int16))


CONFLICT = "conflicting values for the same meter and time in one batch"


def _explain(rules: list[Rule], which: str) -> pl.Expr:
    chain = pl.when(pl.col("_rule") == len(rules)).then(pl.lit(CONFLICT))
    for index, rule in enumerate(rules):
        chain = chain.when(pl.col("_rule") == index).then(getattr(rule, which))
    return chain.otherwise(pl.lit("rejected"))


def _flag_conflicting_duplicates(frame: pl.DataFrame, conflict_rule: int) -> pl.DataFrame:
    """Same meter and time twice with different values: keep neither, say why."""
    key = ["_meter", "_ts"]
    valid_only = frame.filter(pl.col("_rule").is_null())
    if valid_only.height == valid_only.select(key).n_unique():
        return frame
    distinct_values = pl.struct("_kwh", "_quality").n_unique().over(key)
    flagged = valid_only.with_columns((distinct_values > 1).alias("_conflict")).select("_row", "_conflict")
    return (
        frame.join(flagged, on="_row", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("_conflict")).then(pl.lit(conflict_rule, pl.Int16)).otherwise(pl.col("_rule")).alias("_rule")
        )
        .drop("_conflict")
    )
