"""Cumulative energy registers (as meters and PLCs expose them) into interval readings.

A counter is read once per interval, at the interval's boundary; the difference to the previous read
is the kWh of the interval that started at the previous read (``meter_readings.ts`` is the interval's
start). What real registers do besides counting up:

- **rollover**: the register wraps to 0 at a fixed value (``rollover_kwh``); a decrease from near that
  value counts the energy past the wrap;
- **reset**: any other decrease (meter exchanged, PLC restarted): the interval is not guessed, the new
  value is the next baseline, and a note says so;
- **gap**: reads were missed (disconnect, server down); the energy between the two reads is spread evenly
  over the intervals it spans, each flagged ``estimated``, and a note names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

ROLLOVER_MARGIN = 0.1  # a decrease counts as a wrap only when the old value was within 10 % of the wrap value


@dataclass(frozen=True)
class CounterRead:
    meter_id: str
    ts: datetime  # the interval boundary the read belongs to (UTC)
    kwh: float  # the register, already in kWh


@dataclass(frozen=True)
class CounterIntervals:
    records: list[dict[str, object]]  # ingest records: meter_id, ts (ISO), kwh, quality
    notes: list[str]


def align(ts: datetime, interval: timedelta) -> datetime:
    """The interval boundary at or before ``ts`` (intervals counted from the Unix epoch, in UTC)."""
    epoch = datetime(1970, 1, 1, tzinfo=ts.tzinfo)
    return ts - (ts - epoch) % interval


def intervals_between(
    previous: CounterRead | None,
    current: CounterRead,
    interval: timedelta,
    rollover_kwh: float | None = None,
) -> CounterIntervals:
    """The readings the step from ``previous`` to ``current`` stands for (none for a first read, a repeated
    read of the same boundary, or a reset)."""
    if previous is None or current.ts <= previous.ts:
        return CounterIntervals([], [])
    meter = current.meter_id
    delta = current.kwh - previous.kwh
    notes: list[str] = []
    if delta < 0:
        if rollover_kwh and previous.kwh >= rollover_kwh * (1 - ROLLOVER_MARGIN) and current.kwh < rollover_kwh:
            delta = rollover_kwh - previous.kwh + current.kwh
            notes.append(f"{meter}: counter rolled over at {rollover_kwh:g} kWh before {current.ts.isoformat()}")
        else:
            return CounterIntervals(
                [],
                [
                    f"{meter}: counter reset ({previous.kwh:g} -> {current.kwh:g} kWh) between "
                    f"{previous.ts.isoformat()} and {current.ts.isoformat()}; that interval is not stored, "
                    "the new value is the baseline"
                ],
            )
    spans = max(1, round((current.ts - previous.ts) / interval))
    quality = "measured" if spans == 1 else "estimated"
    if spans > 1:
        notes.append(
            f"{meter}: gap of {spans - 1} missed read(s) from {previous.ts.isoformat()} to {current.ts.isoformat()}; "
            f"{delta:g} kWh spread over {spans} intervals as estimated"
        )
    share = delta / spans
    records = [
        {"meter_id": meter, "ts": (previous.ts + n * interval).isoformat(), "kwh": share, "quality": quality}
        for n in range(spans)
    ]
    return CounterIntervals(records, notes)
