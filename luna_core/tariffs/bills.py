"""Itemised bills per local calendar month, computed for all months of a period at once.

Line items (net, EUR): energy, grid fees, levies, base fee, demand charge; VAT on their sum; the
feed-in credit after VAT (small PV operators invoice no VAT on feed-in). Every line is rounded half
up to the cent and VAT is computed on the rounded net, as a German bill does.
- base fee: the monthly fee spread over the month's quarter-hours, so a tariff change mid-month or
  a month so far is charged pro rata to the quarter-hour;
- demand charge: the month's highest 15-minute grid import as kW (kWh x 4) times the EUR/kW of the
  version valid in that quarter-hour;
- VAT: the rate of the version valid in the month's last priced quarter-hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np

from luna_core.tariffs.models import Tariff
from luna_core.tariffs.pricing import (
    SLOT,
    SLOTS_PER_HOUR,
    Slots,
    energy_ct,
    feed_in_ct,
    month_start,
    priced,
    round_cents,
)

NET_LINES = ("energy", "grid_fees", "levies", "base_fee", "demand_charge")


@dataclass(frozen=True)
class Usage:
    """Metered grid flows per slot of a period (zero where ``has_data`` is False)."""

    slots: Slots
    import_kwh: np.ndarray
    export_kwh: np.ndarray
    has_data: np.ndarray


@dataclass
class MonthlyAmounts:
    """Unrounded amounts per month of a period; index i is month key ``months[i]``."""

    months: np.ndarray
    lines: dict[str, np.ndarray]
    feed_in_credit: np.ndarray
    vat_rate: np.ndarray
    import_kwh: np.ndarray
    export_kwh: np.ndarray
    peak_kw: np.ndarray
    peak_slot: np.ndarray
    slots_with_data: np.ndarray
    slots_in_month: np.ndarray
    period_slots: np.ndarray  # slots of the month inside the period (all of them for a whole month)
    unpriced_slots: np.ndarray


def month_slot_count(month_key: int, timezone: str) -> int:
    """Quarter-hours of a local month: 2976 for a 31-day month, 2980 in October, 2972 in March (Berlin)."""
    zone = ZoneInfo(timezone)
    first = month_start(month_key // 12, month_key % 12 + 1)
    after = month_start(month_key // 12, month_key % 12 + 2)
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(after, time(0), zone).astimezone(UTC)
    return int((end - start) / SLOT)


def monthly_amounts(
    usage: Usage,
    spot: np.ndarray,
    imports: Sequence[Tariff],
    exports: Sequence[Tariff],
    timezone: str,
) -> MonthlyAmounts:
    slots = usage.slots
    # Slots are in time order, so each local month is one run: sums per run with reduceat, no sort.
    starts = np.flatnonzero(np.r_[True, slots.month[1:] != slots.month[:-1]]) if len(slots) else np.array([], int)
    months = slots.month[starts]
    n = len(months)
    bounds = np.r_[starts, len(slots)]
    runs = np.repeat(np.arange(n), np.diff(bounds))
    per_month = np.array([month_slot_count(int(m), timezone) for m in months], dtype=float)

    def total(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, starts) if n else np.zeros(0)

    price, version = priced(imports, slots, spot, energy_ct)
    has_version = version >= 0
    # Imported energy without a price: no tariff version that day, or a dynamic one without a spot price.
    unpriced = (~has_version | np.isnan(price)) & (usage.import_kwh > 0)
    pick = np.where(has_version, version, 0)

    everywhere = len(imports) == 1 and bool(has_version.all())

    def per_version(attribute: str) -> np.ndarray:
        values = np.array([getattr(t, attribute) for t in imports] or [0.0], dtype=float)
        if everywhere:  # the common case: one version over the whole period
            return np.full(len(slots), values[0])
        return np.where(has_version, values[pick], 0.0)

    grid_ct, levies_ct = per_version("grid_fee_ct_kwh"), per_version("levies_ct_kwh")
    base_fee = per_version("base_fee_eur_month") / per_month[runs] if n else np.zeros(0)
    demand_rate, vat_pct = per_version("demand_charge_eur_kw"), per_version("vat_pct")

    # Per month: the first slot of the highest import (argmax takes the first), the last priced slot.
    firsts = np.array([start + np.argmax(usage.import_kwh[start:stop]) for start, stop in pairwise(bounds)], int)
    peak_kw = usage.import_kwh[firsts] * SLOTS_PER_HOUR if n else np.zeros(0)
    last_priced = np.array([_last(has_version, start, stop) for start, stop in pairwise(bounds)], int)

    feed_price, feed_version = priced(exports, slots, spot, lambda t, _s, s: feed_in_ct(t, s))
    feed_price = np.where(feed_version >= 0, np.nan_to_num(feed_price), 0.0)

    lines = {
        "energy": total(usage.import_kwh * np.nan_to_num(price)) / 100,
        "grid_fees": total(usage.import_kwh * grid_ct) / 100,
        "levies": total(usage.import_kwh * levies_ct) / 100,
        "base_fee": total(base_fee),
        "demand_charge": peak_kw * demand_rate[firsts] if n else np.zeros(0),
    }
    return MonthlyAmounts(
        months=months,
        lines=lines,
        feed_in_credit=total(usage.export_kwh * feed_price) / 100,
        vat_rate=np.where(last_priced >= 0, vat_pct[np.maximum(last_priced, 0)], 0.0) / 100 if n else np.zeros(0),
        import_kwh=total(usage.import_kwh),
        export_kwh=total(usage.export_kwh),
        peak_kw=peak_kw,
        peak_slot=firsts,
        slots_with_data=total(usage.has_data.astype(float)),
        slots_in_month=per_month,
        period_slots=total(np.ones(len(slots))),
        unpriced_slots=total(unpriced.astype(float)),
    )


def _last(mask: np.ndarray, start: int, stop: int) -> int:
    found = np.flatnonzero(mask[start:stop])
    return int(start + found[-1]) if len(found) else -1


@dataclass
class Bill:
    lines: dict[str, float]
    net_eur: float
    vat_eur: float
    feed_in_credit_eur: float
    total_eur: float
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "lines": self.lines,
            "net_eur": self.net_eur,
            "vat_eur": self.vat_eur,
            "feed_in_credit_eur": self.feed_in_credit_eur,
            "total_eur": self.total_eur,
            **self.extra,
        }


def settle(amounts: MonthlyAmounts, i: int, scale: float = 1.0, full_base_fee: bool = False) -> Bill:
    """Month i as a bill; ``scale`` multiplies the per-kWh lines (a projection), the base fee is the
    whole month's with ``full_base_fee``; the demand charge is never scaled (a peak does not add up)."""
    raw = {key: float(values[i]) for key, values in amounts.lines.items()}
    for key in ("energy", "grid_fees", "levies"):
        raw[key] *= scale
    if full_base_fee and amounts.period_slots[i]:
        raw["base_fee"] *= amounts.slots_in_month[i] / amounts.period_slots[i]
    lines = {key: float(round_cents(value)) for key, value in raw.items()}
    net = float(round_cents(sum(lines.values())))
    vat = float(round_cents(net * amounts.vat_rate[i]))
    credit = float(round_cents(amounts.feed_in_credit[i] * scale))
    return Bill(lines, net, vat, credit, float(round_cents(net + vat - credit)))


def yearly_totals(amounts: MonthlyAmounts) -> float:
    """The sum of the period's monthly bill totals, each rounded as its bill is."""
    lines = np.vstack([round_cents(amounts.lines[key]) for key in NET_LINES])
    net = round_cents(lines.sum(axis=0))
    vat = round_cents(net * amounts.vat_rate)
    return float(round_cents((net + vat - round_cents(amounts.feed_in_credit)).sum()))
