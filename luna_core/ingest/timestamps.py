"""Timestamps of readings: ISO 8601 (with or without seconds, offset or ``Z``) and the German
``dd.mm.yyyy HH:MM[:SS]``. Naive times are wall-clock times in the tenant's zone; the DST
fall-back hour is ambiguous and the spring-forward hour does not exist, so both are refused,
never guessed. Each format is tried only on the rows the ones before it could not read,
formats that fit a sample of the column first, so a file in one format is parsed in one pass."""

from __future__ import annotations

import polars as pl

UTC_TYPE = pl.Datetime("us", "UTC")
AWARE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%#z",
    "%Y-%m-%d %H:%M:%S%#z",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M%#z",
    "%Y-%m-%d %H:%M%#z",
)
NAIVE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    # Two-digit years first: %Y would read "20.06.26" as the year 26 (a tie in the sample keeps this order).
    "%d.%m.%y %H:%M",
    "%d.%m.%y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
)
ACCEPTED = (
    "accepted: ISO 8601 such as 2026-06-20T00:15:00+02:00 or 2026-06-20 00:15 (seconds and offset optional; "
    "without an offset in the tenant's time zone) or 20.06.2026 00:15 (also 20.06.26)"
)
_SAMPLE = 200


def parse_timestamps(values: pl.Series, timezone: str, label: str) -> pl.DataFrame:
    """``_ts`` (UTC), ``_ts_problem`` (why a timestamp could not be placed in time, with its value)
    and ``_ts_kind`` (the same without the value, for the batch summary)."""
    n = values.len()
    if isinstance(values.dtype, pl.Datetime):
        if values.dtype.time_zone is None:
            return _localise(values, timezone)
        return pl.DataFrame(
            {"_ts": values.dt.convert_time_zone("UTC").cast(UTC_TYPE), "_ts_problem": _nulls(n), "_ts_kind": _nulls(n)}
        )
    text = values.cast(pl.Utf8).str.strip_chars()
    aware = _parse_formats(text, AWARE_FORMATS, time_zone="UTC")
    if aware.null_count() == text.null_count():
        return pl.DataFrame({"_ts": aware, "_ts_problem": _nulls(n), "_ts_kind": _nulls(n)})
    rest = text.zip_with(aware.is_null(), _nulls(n))
    naive = _parse_formats(rest, NAIVE_FORMATS, time_zone=None)
    local = _localise(naive, timezone)
    unparseable = aware.is_null() & naive.is_null() & text.is_not_null()
    return (
        pl.DataFrame({"_text": text, "_bad": unparseable, "_aware": aware})
        .hstack(local)
        .select(
            pl.coalesce("_aware", "_ts").alias("_ts"),
            pl.when("_bad")
            .then(pl.format("unparseable timestamp '{}' in column '{}'; {}", "_text", pl.lit(label), pl.lit(ACCEPTED)))
            .otherwise("_ts_problem")
            .alias("_ts_problem"),
            pl.when("_bad")
            .then(pl.lit(f"unparseable timestamp in column '{label}'; {ACCEPTED}"))
            .otherwise("_ts_kind")
            .alias("_ts_kind"),
        )
    )


def _parse_formats(text: pl.Series, formats: tuple[str, ...], time_zone: str | None) -> pl.Series:
    dtype = pl.Datetime("us", time_zone)
    out = pl.Series(text.name, [None] * text.len(), dtype=dtype)
    sample = text.drop_nulls().head(_SAMPLE)
    fits = {f: _parse(sample, f, time_zone).is_not_null().sum() for f in formats}
    todo = text.is_not_null()
    for fmt in sorted(formats, key=lambda f: -fits[f]):
        rows = todo.arg_true()
        if rows.len() == 0:
            break
        parsed = _parse(text.gather(rows), fmt, time_zone)
        ok = parsed.is_not_null()
        if ok.any():
            out = out.scatter(rows.filter(ok), parsed.filter(ok))
            todo = todo.scatter(rows.filter(ok), False)
    return out


def _parse(text: pl.Series, fmt: str, time_zone: str | None) -> pl.Series:
    return text.str.to_datetime(format=fmt, strict=False, time_zone=time_zone, time_unit="us")


def _localise(naive: pl.Series, timezone: str) -> pl.DataFrame:
    col = pl.col("naive")
    strict = col.dt.replace_time_zone(timezone, ambiguous="null", non_existent="null")
    lenient = col.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    gap = f"local time does not exist in {timezone} (DST spring-forward gap)"
    ambiguous = f"ambiguous local time in {timezone} (DST fall-back hour); send a UTC offset"
    shown = col.dt.to_string("%Y-%m-%d %H:%M")
    return pl.DataFrame({"naive": naive}).select(
        strict.dt.convert_time_zone("UTC").cast(UTC_TYPE).alias("_ts"),
        pl.when(col.is_null())
        .then(pl.lit(None, pl.Utf8))
        .when(lenient.is_null())
        .then(pl.format("{}: {}", shown, pl.lit(gap)))
        .when(strict.is_null())
        .then(pl.format("{}: {}", shown, pl.lit(ambiguous)))
        .alias("_ts_problem"),
        pl.when(col.is_null())
        .then(pl.lit(None, pl.Utf8))
        .when(lenient.is_null())
        .then(pl.lit(gap))
        .when(strict.is_null())
        .then(pl.lit(ambiguous))
        .alias("_ts_kind"),
    )


def _nulls(n: int) -> pl.Series:
    return pl.Series([None] * n, dtype=pl.Utf8)
