"""A meter's reading interval (15, 30 or 60 minutes): set on the meter, or detected from the
timestamps of its first readings and then kept on the meter.

Detection takes the most common gap of up to an hour between consecutive distinct timestamps
(so a gap in the data or a stray row does not change it).
A meter whose interval is neither set nor detectable (its first single reading) is checked
against the longest interval, 60 minutes, and its interval stays open until more readings come.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import polars as pl

INTERVALS = (15, 30, 60)
GRID_MINUTES = 15  # every allowed interval is a multiple of it
ASSUMED_WHEN_UNKNOWN = 60
MIN_GAPS_TO_CONTRADICT = 4


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


def interval_from_gaps(gaps_minutes: list[int]) -> int | None:
    """The most common gap up to the longest interval (a longer one is missing data, not the
    interval); 45 minutes (every third reading missing) means 15."""
    counts = Counter(g for g in gaps_minutes if 0 < g <= max(INTERVALS))
    if not counts:
        return None
    most_common = max(counts.items(), key=lambda item: (item[1], -item[0]))[0]
    return most_common if most_common in INTERVALS else GRID_MINUTES


def resolve_intervals(frame: pl.DataFrame, meters: dict[str, MeterInfo]) -> dict[str, MeterInterval]:
    """Per known meter in ``frame`` (``_meter``, ``_ts`` on the 15-minute grid): the interval to check by."""
    on_grid = frame.filter(
        pl.col("_ts").is_not_null()
        & pl.col("_meter").is_in(list(meters))
        & (pl.col("_ts").dt.epoch("us") % (GRID_MINUTES * 60_000_000) == 0)
    ).select("_meter", "_ts")
    seen: dict[str, list[datetime]] = {}
    for meter, stamps in on_grid.group_by("_meter").agg(pl.col("_ts").unique().sort()).iter_rows():
        seen[meter] = stamps
    result: dict[str, MeterInterval] = {}
    for meter in frame["_meter"].drop_nulls().unique().to_list():
        info = meters.get(meter)
        if info is None:
            continue
        stamps = seen.get(meter, [])
        batch_gaps = _gaps(stamps)
        seen_minutes = interval_from_gaps(batch_gaps) if len(batch_gaps) >= MIN_GAPS_TO_CONTRADICT else None
        if info.interval_minutes:
            result[meter] = MeterInterval(info.interval_minutes, "set", seen_minutes)
            continue
        detected = interval_from_gaps(_gaps(sorted(set(stamps) | set(info.recent))))
        if detected:
            result[meter] = MeterInterval(detected, "detected", seen_minutes)
        else:
            result[meter] = MeterInterval(ASSUMED_WHEN_UNKNOWN, "assumed")
    return result


def _gaps(stamps: list[datetime]) -> list[int]:
    return [int((b - a).total_seconds() // 60) for a, b in itertools.pairwise(stamps)]


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
