"""Turn clean readings into the raw file a misbehaving meter gateway would deliver.

Every fault touches its own rows (the sets never overlap), so the report's counts are
exactly what an ingest should find: quarantined rows, folded duplicates, missing rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from luna_core.simulation.rng import stable_hash

FAULT_KINDS = ("gaps", "duplicates", "spikes", "negative", "dst", "late", "garbage")
RAW_SCHEMA = {"meter_id": pl.Utf8, "ts": pl.Utf8, "kwh": pl.Utf8, "quality": pl.Utf8}
TS_FORMAT = "%Y-%m-%dT%H:%M:%S%:z"  # 2026-03-29T01:45:00+00:00
NAIVE_FORMAT = "%Y-%m-%dT%H:%M:%S"
_HOUR_US = 3_600_000_000
_DST_WINDOW_US = 2 * _HOUR_US  # naive stamps from 2 h before to 2 h after each clock change
_JUNK_KWH = ("n/a", "ERR", "--", "#VALUE!", "1.2.3", "kwh")
_JUNK_TS = ("not-a-date", "2026-13-45T25:61:00+00:00", "31.02.2026 24:15", "00:00:00", "NULL")
_MAX_GAP_RUN = 8  # outages last 15 min to 2 h


@dataclass(frozen=True)
class FaultReport:
    """What was injected. ``counts`` has one entry per requested kind:

    gaps: rows removed; duplicates: extra exact copies; spikes/negative/garbage: rows
    with that bad value; dst: rows stamped with naive local time (of which ``details``
    says how many are ambiguous or do not exist); late: valid rows moved to the end.
    """

    rows_in: int
    rows_out: int
    counts: dict[str, int] = field(default_factory=dict)
    details: dict[str, int] = field(default_factory=dict)

    @property
    def expected_quarantine(self) -> int:
        """Rows a strict ingest must reject: bad values, junk, and naive stamps that cannot be
        placed in time (naive stamps outside the ambiguous or missing hour are still valid)."""
        return (
            self.counts.get("spikes", 0)
            + self.counts.get("negative", 0)
            + self.counts.get("garbage", 0)
            + self.details.get("dst_ambiguous", 0)
            + self.details.get("dst_nonexistent", 0)
        )


def parse_faults(faults: Iterable[str] | str | None) -> tuple[str, ...]:
    if faults is None:
        return ()
    names = [f.strip() for f in (faults.split(",") if isinstance(faults, str) else faults) if f.strip()]
    unknown = [f for f in names if f not in FAULT_KINDS]
    if unknown:
        raise ValueError(f"unknown fault kind(s) {', '.join(unknown)}; valid: {', '.join(FAULT_KINDS)}")
    return tuple(dict.fromkeys(names))


def format_clean(df: pl.DataFrame) -> pl.DataFrame:
    """Clean readings as the raw string columns a file carries."""
    return df.select(
        pl.col("meter_id").cast(pl.Utf8),
        pl.col("ts").dt.convert_time_zone("UTC").dt.strftime(TS_FORMAT),
        pl.col("kwh").cast(pl.Utf8),
        pl.col("quality").cast(pl.Utf8),
    )


def inject_faults(
    df: pl.DataFrame,
    faults: Iterable[str],
    seed: int,
    rate: float = 0.01,
    timezone: str = "Europe/Berlin",
    max_kw: Mapping[str, float] | None = None,
) -> tuple[pl.DataFrame, FaultReport]:
    """Raw frame (all columns strings) with the given faults, and what was injected.

    ``rate`` is the share of rows per fault kind (at least one row each). ``max_kw`` (meter
    id -> kW) makes spikes certain to exceed the ingest limit of max_kw * 0.25 kWh; without
    it, spikes are placed far above the largest reading of that meter.
    """
    kinds = parse_faults(faults)
    if not 0.0 <= rate <= 0.5:
        raise ValueError(f"fault rate must be between 0 and 0.5, got {rate}")
    raw = format_clean(df)
    n = df.height
    if not kinds or n == 0:
        return raw, FaultReport(n, n, dict.fromkeys(kinds, 0))

    rng = np.random.default_rng([seed, stable_hash("faults")])
    per_kind = max(1, round(rate * n)) if rate > 0 else 0
    available = np.ones(n, dtype=bool)
    counts: dict[str, int] = {}
    details: dict[str, int] = {}
    ts_col = raw["ts"].to_numpy().astype(object)
    kwh_col = raw["kwh"].to_numpy().astype(object)
    meters = df["meter_id"].to_numpy()
    kwh = df["kwh"].to_numpy()

    if "dst" in kinds:
        rows, naive, ambiguous, missing = _dst_rows(df, timezone)
        ts_col[rows] = naive
        available[rows] = False
        counts["dst"] = len(rows)
        details.update(dst_ambiguous=ambiguous, dst_nonexistent=missing)

    removed = np.zeros(n, dtype=bool)
    if "gaps" in kinds:
        gap_rows = _gap_rows(rng, available, meters, per_kind)
        removed[gap_rows] = True
        available[gap_rows] = False
        counts["gaps"] = len(gap_rows)

    if "spikes" in kinds:
        rows = _take(rng, available, per_kind)
        limits = _spike_floor(df, max_kw)
        kwh_col[rows] = [
            f"{limits[m] * f:.3f}" for m, f in zip(meters[rows], rng.uniform(10, 100, len(rows)), strict=True)
        ]
        counts["spikes"] = len(rows)

    if "negative" in kinds:
        rows = _take(rng, available, per_kind)
        values = -(np.abs(kwh[rows]) + rng.uniform(0.001, 0.5, len(rows)))
        kwh_col[rows] = [f"{v:.3f}" for v in values]
        counts["negative"] = len(rows)

    if "garbage" in kinds:
        rows = _take(rng, available, per_kind)
        bad_ts = rng.random(len(rows)) < 0.5
        ts_col[rows[bad_ts]] = rng.choice(_JUNK_TS, int(bad_ts.sum()))
        kwh_col[rows[~bad_ts]] = rng.choice(_JUNK_KWH, int((~bad_ts).sum()))
        counts["garbage"] = len(rows)
        details.update(garbage_ts=int(bad_ts.sum()), garbage_kwh=int((~bad_ts).sum()))

    duplicated = _take(rng, available, per_kind) if "duplicates" in kinds else np.empty(0, dtype=np.int64)
    late = _take(rng, available, per_kind) if "late" in kinds else np.empty(0, dtype=np.int64)
    if "duplicates" in kinds:
        counts["duplicates"] = len(duplicated)
    if "late" in kinds:
        counts["late"] = len(late)

    order = _row_order(n, removed, duplicated, late, rng)
    out = pl.DataFrame(
        {
            "meter_id": raw["meter_id"],
            "ts": pl.Series(ts_col, dtype=pl.Utf8),
            "kwh": pl.Series(kwh_col, dtype=pl.Utf8),
            "quality": raw["quality"],
        },
        schema=RAW_SCHEMA,
    )[order]
    return out, FaultReport(n, len(order), {k: counts.get(k, 0) for k in kinds}, details)


def _take(rng: np.random.Generator, available: np.ndarray, count: int) -> np.ndarray:
    """``count`` random rows not used by another fault yet, marked as used."""
    pool = np.flatnonzero(available)
    rows = np.sort(rng.choice(pool, size=min(count, len(pool)), replace=False))
    available[rows] = False
    return rows


def _gap_rows(rng: np.random.Generator, available: np.ndarray, meters: np.ndarray, count: int) -> np.ndarray:
    """Outages: runs of consecutive readings of one meter, ``count`` rows in total."""
    chosen: list[int] = []
    taken = np.zeros(len(available), dtype=bool)
    attempts = 0
    while len(chosen) < count and attempts < 10 * count + 100:
        attempts += 1
        start = int(rng.integers(len(available)))
        length = int(rng.integers(1, _MAX_GAP_RUN + 1))
        for row in range(start, min(start + length, len(available))):
            if len(chosen) == count or not available[row] or taken[row] or meters[row] != meters[start]:
                break
            taken[row] = True
            chosen.append(row)
    return np.sort(np.asarray(chosen, dtype=np.int64))


def _spike_floor(df: pl.DataFrame, max_kw: Mapping[str, float] | None) -> dict[str, float]:
    observed = dict(df.group_by("meter_id").agg(pl.col("kwh").max()).iter_rows())
    return {meter: max((max_kw or {}).get(meter, 0.0) * 0.25, float(observed[meter] or 0.0), 1.0) for meter in observed}


def _dst_rows(df: pl.DataFrame, timezone: str) -> tuple[np.ndarray, list[str], int, int]:
    """Rows within 2 h of a clock change, stamped like a logger on naive local time.

    Autumn: plain local wall time, so 02:00-02:45 appears twice (ambiguous). Spring: the
    logger switches an hour late, so the hour after the change is written on the old
    offset as 02:00-02:45, a wall time that does not exist that night.
    """
    ts = df["ts"].dt.convert_time_zone("UTC")
    offsets = _utc_offsets_us(ts, timezone)
    utc_us = ts.dt.epoch("us").to_numpy()
    unique_us = np.unique(utc_us)
    unique_off = _utc_offsets_us(pl.Series(unique_us).cast(pl.Datetime("us", "UTC")), timezone)
    changes = np.flatnonzero(np.diff(unique_off) != 0) + 1
    rows_all: list[np.ndarray] = []
    stamps: list[np.ndarray] = []
    ambiguous = missing = 0
    for i in changes.tolist():
        change_us, before, after = unique_us[i], unique_off[i - 1], unique_off[i]
        rows = np.flatnonzero((utc_us >= change_us - _DST_WINDOW_US) & (utc_us < change_us + _DST_WINDOW_US))
        offset = offsets[rows].copy()
        if after > before:  # spring forward: the first hour after the change keeps the old offset
            late_switch = (utc_us[rows] >= change_us) & (utc_us[rows] < change_us + (after - before))
            offset[late_switch] = before
            missing += int(late_switch.sum())
        else:  # fall back: wall times of the repeated hour occur twice
            wall = utc_us[rows] + offset
            ambiguous += int(((wall >= change_us + after) & (wall < change_us + before)).sum())
        rows_all.append(rows)
        stamps.append(utc_us[rows] + offset)
    if not rows_all:
        return np.empty(0, dtype=np.int64), [], 0, 0
    rows = np.concatenate(rows_all)
    naive = pl.Series(np.concatenate(stamps)).cast(pl.Datetime("us")).dt.strftime(NAIVE_FORMAT).to_list()
    return rows, naive, ambiguous, missing


def _utc_offsets_us(ts: pl.Series, timezone: str) -> np.ndarray:
    local = ts.dt.convert_time_zone(timezone).dt.replace_time_zone(None).cast(pl.Int64).to_numpy()
    return local - ts.dt.replace_time_zone(None).cast(pl.Int64).to_numpy()


def _row_order(
    n: int, removed: np.ndarray, duplicated: np.ndarray, late: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Original order minus gaps and late rows, each duplicate right after its original,
    then the late rows shuffled at the end."""
    keep = ~removed
    keep[late] = False
    repeat = np.ones(n, dtype=np.int64)
    repeat[duplicated] = 2
    body = np.repeat(np.arange(n), np.where(keep, repeat, 0))
    tail = rng.permutation(late)
    return np.concatenate([body, tail])
