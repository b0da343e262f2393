"""A meter's reading interval (15, 30 or 60 minutes): set on the meter, or detected from the
timestamps of its first readings and then kept on the meter.

Detection takes the most common gap of up to an hour between consecutive distinct timestamps in
a week of the meter's readings around their median (so neither their order, a gap in the data
nor a stray row changes it).
A meter whose interval is neither set nor detectable (its first single reading) is checked
against the longest interval, 60 minutes, and its interval stays open until more readings come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

INTERVALS = (15, 30, 60)
GRID_MINUTES = 15  # every allowed interval is a multiple of it
ASSUMED_WHEN_UNKNOWN = 60
MIN_GAPS_TO_CONTRADICT = 4
SAMPLE_DAYS = 7


@dataclass(frozen=True)
class MeterInfo:
    max_kw: float
    interval_minutes: int | None = None
    recent: tuple[datetime, ...] = ()  # stored timestamps, used while the interval is unknown


@dataclass(frozen=True)
class MeterInterval:
    minutes: int
    source: str  # "set" (on the meter), "detected" (from this batch), "assumed" (not known yet)
    seen_minutes: int | None = None  # what the batch's own timestamps suggest

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"minutes": self.minutes, "source": self.source}
        if self.seen_minutes is not None and self.seen_minutes != self.minutes:
            out["seen_minutes"] = self.seen_minutes
        return out


def resolve_intervals(frame: pl.DataFrame, meters: dict[str, MeterInfo]) -> dict[str, MeterInterval]:
    """Per known meter in ``frame`` (``_meter``, ``_ts`` on the 15-minute grid): the interval to check by."""
    on_grid = frame.filter(
        pl.col("_ts").is_not_null()
        & pl.col("_meter").is_in(list(meters))
        & (pl.col("_ts").dt.epoch("us") % (GRID_MINUTES * 60_000_000) == 0)
    ).select("_meter", "_ts")
    # A week of each meter's readings around their median tells its interval, in whatever order
    # they came and whatever stray timestamp (a 1926 typo) is among them.
    middle = pl.col("_ts").median().over("_meter")
    week = (pl.col("_ts") - middle).abs() <= timedelta(days=SAMPLE_DAYS / 2)
    on_grid = on_grid.filter(week).unique()
    seen = _common_gaps(on_grid)
    open_meters = [m for m in on_grid["_meter"].unique().to_list() if not meters[m].interval_minutes]
    with_stored = seen
    if any(meters[m].recent for m in open_meters):
        stored = pl.DataFrame(
            {
                "_meter": [m for m in open_meters for _ in meters[m].recent],
                "_ts": [t for m in open_meters for t in meters[m].recent],
            },
            schema={"_meter": pl.Utf8, "_ts": on_grid.schema["_ts"]},
        )
        with_stored = _common_gaps(pl.concat([on_grid.filter(pl.col("_meter").is_in(open_meters)), stored]).unique())
    result: dict[str, MeterInterval] = {}
    for meter in frame["_meter"].drop_nulls().unique().to_list():
        info = meters.get(meter)
        if info is None:
            continue
        gap, gaps = seen.get(meter, (None, 0))
        seen_minutes = interval_from_gap(gap) if gaps >= MIN_GAPS_TO_CONTRADICT else None
        if info.interval_minutes:
            result[meter] = MeterInterval(info.interval_minutes, "set", seen_minutes)
            continue
        detected = interval_from_gap(with_stored.get(meter, (None, 0))[0])
        result[meter] = (
            MeterInterval(detected, "detected", seen_minutes)
            if detected
            else MeterInterval(ASSUMED_WHEN_UNKNOWN, "assumed")
        )
    return result


def _common_gaps(stamps: pl.DataFrame) -> dict[str, tuple[int | None, int]]:
    """Per meter: (the most common gap up to the longest interval in minutes, how many such gaps);
    a longer gap is missing data, not the interval; a tie goes to the shorter gap."""
    gaps = (
        stamps.sort("_meter", "_ts")
        .with_columns(pl.col("_ts").diff().over("_meter").dt.total_minutes().alias("_gap"))
        .filter(pl.col("_gap").is_between(1, max(INTERVALS)))
        .group_by("_meter", "_gap")
        .len()
        .sort("_meter", "len", "_gap", descending=[False, True, False])
    )
    out: dict[str, tuple[int | None, int]] = {}
    for meter, group in gaps.group_by("_meter", maintain_order=True):
        out[meter[0]] = (int(group["_gap"][0]), int(group["len"].sum()))
    return out


def interval_from_gap(gap: int | None) -> int | None:
    """A most common gap of 45 minutes (every third reading missing) means 15."""
    if gap is None:
        return None
    return gap if gap in INTERVALS else GRID_MINUTES


def interval_notes(intervals: dict[str, MeterInterval]) -> list[str]:
    """What the sender should know: a detected interval, one not known yet, one the data contradicts."""
    notes = []
    for meter, interval in sorted(intervals.items()):
        if interval.source == "detected":
            notes.append(f"meter '{meter}': reading interval detected as {interval.minutes} minutes and kept")
        elif interval.source == "assumed":
            notes.append(
                f"meter '{meter}': reading interval not known yet (too few readings); checked as up to "
                f"{interval.minutes} minutes; set it on the meter (luna meters set, PATCH /meters/{meter})"
            )
        elif interval.seen_minutes and interval.seen_minutes != interval.minutes:
            notes.append(
                f"meter '{meter}' is set to {interval.minutes}-minute readings, but these are mostly "
                f"{interval.seen_minutes} minutes apart; if that is how it reads, set its interval to "
                f"{interval.seen_minutes} (luna meters set, PATCH /meters/{meter})"
            )
    return notes
