"""Prices per 15-minute slot, vectorised: one numpy array per figure over a period's slots.

A period is cut into UTC quarter-hours; each slot carries its tenant-local date, ISO weekday,
minute of the day and month, so a local October day with the clock change has 100 slots and a
March one 92. Hourly day-ahead prices apply to each of their hour's four slots (``spot_per_slot``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from luna_core.tariffs.models import Tariff

SLOT = timedelta(minutes=15)
SLOTS_PER_HOUR = 4


@dataclass(frozen=True)
class Slots:
    """The quarter-hours of [start, end) and their tenant-local calendar."""

    ts: np.ndarray  # datetime64[us], UTC
    local_day: np.ndarray  # datetime64[D]
    weekday: np.ndarray  # 1 = Monday ... 7 = Sunday
    minute: np.ndarray  # minute of the local day
    month: np.ndarray  # year * 12 + month - 1, local

    def __len__(self) -> int:
        return len(self.ts)


def slots_between(start: datetime, end: datetime, timezone: str) -> Slots:
    if end <= start:
        return calendar(np.array([], dtype="datetime64[us]"), timezone)
    series = pl.datetime_range(start, end - SLOT, interval="15m", time_zone="UTC", eager=True)
    return calendar(series.dt.replace_time_zone(None).to_numpy(), timezone)


def calendar(ts_utc: np.ndarray, timezone: str) -> Slots:
    local = pl.Series("ts", ts_utc, dtype=pl.Datetime("us")).dt.replace_time_zone("UTC").dt.convert_time_zone(timezone)
    frame = pl.DataFrame({"local": local}).select(
        day=pl.col("local").dt.date(),
        weekday=pl.col("local").dt.weekday().cast(pl.Int8),
        minute=(pl.col("local").dt.hour().cast(pl.Int16) * 60 + pl.col("local").dt.minute().cast(pl.Int16)),
        month=pl.col("local").dt.year().cast(pl.Int32) * 12 + pl.col("local").dt.month().cast(pl.Int32) - 1,
    )
    return Slots(
        ts=ts_utc.astype("datetime64[us]"),
        local_day=frame["day"].to_numpy().astype("datetime64[D]"),
        weekday=frame["weekday"].to_numpy(),
        minute=frame["minute"].to_numpy(),
        month=frame["month"].to_numpy(),
    )


def month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def spot_per_slot(slots: Slots, ts15: np.ndarray, eur15: np.ndarray, ts60: np.ndarray, eur60: np.ndarray) -> np.ndarray:
    """EUR/MWh per slot: the slot's 15-minute price, else its hour's, else NaN (unpriced)."""
    spot = np.full(len(slots), np.nan)
    _place(spot, slots.ts, ts60, eur60, hourly=True)
    _place(spot, slots.ts, ts15, eur15, hourly=False)
    return spot


def _place(target: np.ndarray, slot_ts: np.ndarray, ts: np.ndarray, values: np.ndarray, hourly: bool) -> None:
    if len(ts) == 0 or len(slot_ts) == 0:
        return
    keys = slot_ts.astype("datetime64[h]").astype("datetime64[us]") if hourly else slot_ts
    order = np.argsort(ts)
    ts, values = ts.astype("datetime64[us]")[order], np.asarray(values, dtype=float)[order]
    at = np.clip(np.searchsorted(ts, keys), 0, len(ts) - 1)
    found = ts[at] == keys
    target[found] = values[at[found]]


def version_index(versions: Sequence[Tariff], slots: Slots) -> np.ndarray:
    """For each slot the index of the version valid on its local day, -1 where none is."""
    index = np.full(len(slots), -1, dtype=np.int32)
    for i, version in enumerate(versions):
        valid = slots.local_day >= np.datetime64(version.valid_from, "D")
        if version.valid_to is not None:
            valid &= slots.local_day < np.datetime64(version.valid_to, "D")
        index[valid] = i
    return index


def energy_ct(tariff: Tariff, slots: Slots, spot: np.ndarray) -> np.ndarray:
    """Net energy price in ct/kWh per slot (without grid fee, levies and VAT); NaN where a dynamic
    tariff has no day-ahead price."""
    if tariff.kind == "dynamic":
        return spot / 10.0 + tariff.markup_ct_kwh
    if tariff.kind == "feed_in":
        return feed_in_ct(tariff, spot)
    price = np.full(len(slots), float(tariff.energy_ct_kwh or 0.0))
    for window in tariff.windows:
        start, end = window.minutes()
        inside = np.isin(slots.weekday, window.weekdays) & (slots.minute >= start) & (slots.minute < end)
        price[inside] = window.energy_ct_kwh
    return price


def feed_in_ct(tariff: Tariff, spot: np.ndarray) -> np.ndarray:
    """ct/kWh paid per exported kWh: the EEG rate, or the market value of the slot (never below zero:
    no market premium is paid for hours of negative prices, so a plant is not charged for feeding in)."""
    if tariff.feed_in == "fixed":
        return np.full(len(spot), float(tariff.feed_in_ct_kwh or 0.0))
    return np.maximum(spot / 10.0, 0.0)


def all_in_ct(tariff: Tariff, slots: Slots, spot: np.ndarray) -> np.ndarray:
    """What one more kWh costs in the slot, VAT included: energy + grid fee + levies, times VAT."""
    return (energy_ct(tariff, slots, spot) + tariff.per_kwh_extras_ct) * (1 + tariff.vat_pct / 100)


def priced(
    versions: Sequence[Tariff], slots: Slots, spot: np.ndarray, pricer=energy_ct
) -> tuple[np.ndarray, np.ndarray]:
    """(price per slot from the version valid then, version index per slot)."""
    index = version_index(versions, slots)
    price = np.full(len(slots), np.nan)
    for i, version in enumerate(versions):
        mask = index == i
        if mask.any():
            price[mask] = pricer(version, _subset(slots, mask), spot[mask])
    return price, index


def _subset(slots: Slots, mask: np.ndarray) -> Slots:
    return Slots(slots.ts[mask], slots.local_day[mask], slots.weekday[mask], slots.minute[mask], slots.month[mask])


def round_cents(amounts: np.ndarray | float) -> np.ndarray:
    """Half up to the cent, as bills round (numpy's own rounding is half to even); the inner round
    removes float noise such as 44.365 stored as 44.36499999."""
    return np.floor(np.round(np.asarray(amounts, dtype=float) * 100, 6) + 0.5) / 100
