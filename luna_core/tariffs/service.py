"""Tariffs of a tenant as the rest of the platform uses them: bills, comparisons, all-in prices and
events. Run inside ``tenant_scope``; ``now`` is always passed in (tests set it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection

from luna_core.tariffs import defaults, store
from luna_core.tariffs.bills import MonthlyAmounts, Usage, monthly_amounts, settle, yearly_totals
from luna_core.tariffs.models import Tariff, TariffError
from luna_core.tariffs.pricing import (
    SLOTS_PER_HOUR,
    Slots,
    all_in_ct,
    calendar,
    feed_in_ct,
    month_start,
    priced,
    slots_between,
    spot_per_slot,
)
from luna_core.tariffs.shifting import Flexible, shifted
from luna_core.tenants import get_tenant

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
COMPARE_MONTHS = 12
SHIFTED_NOTE = (
    "the dynamic offer with the EV and heat-pump energy of each day moved into its cheapest quarter-hours "
    "within their power: the most price-following plans could save (arrival times and comfort ignored)"
)


@dataclass(frozen=True)
class TenantTariffs:
    imports: list[Tariff]
    exports: list[Tariff]

    @property
    def cost_basis(self) -> str:
        """``tariff`` when the tenant set one, else ``wholesale`` (the day-ahead price alone)."""
        return "tariff" if self.imports else "wholesale"

    @property
    def priced_imports(self) -> list[Tariff]:
        return self.imports or [defaults.WHOLESALE]

    def import_on(self, day: date) -> Tariff | None:
        return next((t for t in reversed(self.imports) if t.covers(day)), None)


def tenant_tariffs(connection: Connection, tenant_id: str) -> TenantTariffs:
    found = store.versions(connection, tenant_id)
    return TenantTariffs([t for t in found if t.direction == "import"], [t for t in found if t.direction == "export"])


def set_tariffs(
    connection: Connection,
    tenant_id: str,
    versions: list[Tariff],
    actor: str | None,
    contracted_kw: float | None = None,
    clear_limit: bool = False,
) -> dict:
    """Stores tariff versions and sets (or clears) the power limit; returns what to audit."""
    if contracted_kw is not None and clear_limit:
        raise TariffError("give contracted_kw or clear_limit, not both")
    for tariff in versions:
        store.put_version(connection, tenant_id, tariff, actor)
    if contracted_kw is not None or clear_limit:
        store.set_contracted_kw(connection, tenant_id, contracted_kw, actor)
    return {
        "versions": [f"{t.direction}:{t.kind}:{t.valid_from.isoformat()}" for t in versions],
        "contracted_kw": contracted_kw,
        "clear_limit": clear_limit,
    }


def _place(connection: Connection, tenant_id: str) -> tuple[str, str]:
    tenant = get_tenant(connection, tenant_id)
    return tenant.zone, tenant.timezone


def parse_month(month: str) -> tuple[int, int]:
    found = _MONTH.fullmatch(month or "")
    if not found or not 1 <= int(found.group(2)) <= 12 or not 2000 <= int(found.group(1)) <= 2100:
        raise TariffError(f"month must be YYYY-MM (years 2000-2100, months 01-12), e.g. 2026-10, not {month!r}")
    return int(found.group(1)), int(found.group(2))


def local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)


@dataclass
class Priced:
    usage: Usage
    spot: np.ndarray
    amounts: MonthlyAmounts


def price_period(
    connection: Connection, tenant_id: str, start: datetime, end: datetime, imports: list[Tariff], exports: list[Tariff]
) -> Priced:
    zone, timezone = _place(connection, tenant_id)
    slots = slots_between(start, end, timezone)
    usage = store.usage(connection, tenant_id, slots, start, end)
    spot = _spot(connection, zone, slots, start, end)
    return Priced(usage, spot, monthly_amounts(usage, spot, imports, exports, timezone))


def _spot(connection: Connection, zone: str, slots: Slots, start: datetime, end: datetime) -> np.ndarray:
    found = store.prices(connection, zone, start, end)
    return spot_per_slot(slots, *found[15], *found[60])


def month_bill(connection: Connection, tenant_id: str, month: str, now: datetime) -> dict:
    """The month's itemised bill: complete, or so far (to ``now``) with a projection to month end."""
    year, number = parse_month(month)
    _, timezone = _place(connection, tenant_id)
    start = local_midnight(date(year, number, 1), timezone)
    end = local_midnight(month_start(year, number + 1), timezone)
    if now <= start:
        raise TariffError(f"month {month} has not started yet")
    so_far_end = min(end, now.astimezone(UTC).replace(second=0, microsecond=0))
    so_far_end -= timedelta(minutes=so_far_end.minute % 15)
    chosen = tenant_tariffs(connection, tenant_id)
    result = price_period(
        connection,
        tenant_id,
        start,
        max(so_far_end, start + timedelta(minutes=15)),
        chosen.priced_imports,
        chosen.exports,
    )
    amounts = result.amounts
    complete = so_far_end >= end
    bill = settle(amounts, 0).as_dict()
    projection = None
    if not complete:
        scale = amounts.slots_in_month[0] / amounts.period_slots[0]
        projection = settle(amounts, 0, scale=scale, full_base_fee=True).as_dict()
    peak_at = None
    if amounts.peak_kw[0] > 0:
        peak_at = result.usage.slots.ts[amounts.peak_slot[0]].astype(datetime).replace(tzinfo=UTC)
    return {
        "month": f"{year:04d}-{number:02d}",
        "start": start,
        "end": end,
        "complete": complete,
        "until": so_far_end,
        "cost_basis": chosen.cost_basis,
        "import_kwh": round(float(amounts.import_kwh[0]), 3),
        "export_kwh": round(float(amounts.export_kwh[0]), 3),
        "peak_kw": round(float(amounts.peak_kw[0]), 3),
        "peak_at": peak_at,
        "intervals": int(amounts.period_slots[0]),
        "intervals_with_data": int(amounts.slots_with_data[0]),
        "unpriced_intervals": int(amounts.unpriced_slots[0]),
        "so_far": bill,
        "projection": projection,
    }


def compare(connection: Connection, tenant_id: str, now: datetime, alternatives: list[Tariff] | None = None) -> dict:
    """The last 12 local months and the current one, from the first reading in them to the last,
    priced on the tenant's tariff and on alternatives; each total is the sum of the period's monthly
    bills (base fees pro rata where the readings cover part of a month)."""
    _, timezone = _place(connection, tenant_id)
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    local_now = now.astimezone(ZoneInfo(timezone)).date()
    start = local_midnight(month_start(local_now.year, local_now.month - COMPARE_MONTHS), timezone)
    chosen = tenant_tariffs(connection, tenant_id)
    zone, _ = _place(connection, tenant_id)
    slots = slots_between(start, end, timezone)
    usage = store.usage(connection, tenant_id, slots, start, end)
    flexible = store.flexible(connection, tenant_id, slots, start, end)
    if usage.has_data.any():  # from the first reading to the last
        with_data = np.flatnonzero(usage.has_data)
        part = slice(int(with_data[0]), int(with_data[-1]) + 1)
        usage, flexible = _between(usage, part.start, part.stop), flexible.trimmed(part)
    spot = _spot(connection, zone, usage.slots, start, end)
    return compare_usage(usage, spot, chosen, timezone, alternatives, flexible)


def _between(usage: Usage, first: int, stop: int) -> Usage:
    s, part = usage.slots, slice(first, stop)
    slots = Slots(s.ts[part], s.local_day[part], s.weekday[part], s.minute[part], s.month[part])
    return Usage(slots, usage.import_kwh[part], usage.export_kwh[part], usage.has_data[part])


def compare_usage(
    usage: Usage,
    spot: np.ndarray,
    chosen: TenantTariffs,
    timezone: str,
    alternatives: list[Tariff] | None = None,
    flexible: Flexible | None = None,
) -> dict:
    """The comparison on given arrays (the benchmark calls this with synthetic tenants). With
    flexible loads, the first dynamic offer is priced once more with them shifted ("dynamic_shifted",
    an upper bound: luna_core.tariffs.shifting)."""
    current = chosen.imports[-1] if chosen.imports else None
    offers = alternatives if alternatives is not None else defaults.alternatives(current)
    options = [("current", _reaching_back(chosen.priced_imports), usage)]
    options += [(t.kind, [_always(t)], usage) for t in offers]
    dynamic = next((t for t in offers if t.kind == "dynamic"), None)
    if flexible is not None and dynamic is not None and flexible.kwh.sum() > 0 and flexible.max_kw > 0:
        options.append(("dynamic_shifted", [_always(dynamic)], shifted(usage, flexible, spot)))
    rows = []
    for label, imports, priced_usage in options:
        amounts = monthly_amounts(priced_usage, spot, imports, chosen.exports, timezone)
        rows.append(
            {
                "option": label,
                "name": imports[-1].name,
                "kind": imports[-1].kind,
                "total_eur": yearly_totals(amounts),
                "unpriced_intervals": int(amounts.unpriced_slots.sum()),
                "note": SHIFTED_NOTE if label == "dynamic_shifted" else None,
            }
        )
    base = rows[0]["total_eur"]
    for row in rows:
        row["difference_eur"] = round(row["total_eur"] - base, 2)
    cheapest = min(rows, key=lambda r: r["total_eur"])
    ts = usage.slots.ts
    return {
        "cost_basis": chosen.cost_basis,
        "start": ts[0].astype(datetime).replace(tzinfo=UTC) if len(ts) else None,
        "end": (ts[-1] + np.timedelta64(15, "m")).astype(datetime).replace(tzinfo=UTC) if len(ts) else None,
        "months": len(np.unique(usage.slots.month)),
        "import_kwh": round(float(usage.import_kwh.sum()), 3),
        "options": rows,
        "cheapest": cheapest["option"],
        "saving_eur": round(base - cheapest["total_eur"], 2),
    }


def _reaching_back(versions: list[Tariff]) -> list[Tariff]:
    """The tenant's versions with the first taken as valid before it started: the comparison asks
    what its tariff would have cost over the whole period."""
    first = versions[0].model_copy(update={"valid_from": date(2000, 1, 1)})
    return [first, *versions[1:]]


def _always(tariff: Tariff) -> Tariff:
    """An offer priced over the whole compared period, whatever dates it was written with."""
    return tariff.model_copy(update={"valid_from": date(2000, 1, 1), "valid_to": None})


def all_in_prices(
    connection: Connection, tenant_id: str, starts: list[datetime], eur_per_mwh: list[float]
) -> list[float | None] | None:
    """All-in ct/kWh (VAT included) for day-ahead prices of the given slots; None without a tariff."""
    chosen = tenant_tariffs(connection, tenant_id)
    if not chosen.imports or not starts:
        return None
    _, timezone = _place(connection, tenant_id)
    slots = calendar(
        np.array([s.astimezone(UTC).replace(tzinfo=None) for s in starts], dtype="datetime64[us]"), timezone
    )
    price, _ = priced(chosen.imports, slots, np.array(eur_per_mwh, dtype=float), all_in_ct)
    return [None if np.isnan(p) else round(float(p), 3) for p in price]


def slot_costs(
    connection: Connection, tenant_id: str, start: datetime, end: datetime, meter_id: str | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Money per quarter-hour of [start, end), VAT included: grid import at the all-in price of the
    tariff minus export at its feed-in rate (with ``meter_id``: that meter's energy at the all-in
    price). (UTC slot starts, EUR); None without an import tariff (the caller stays wholesale).
    Base fee and demand charge are monthly and belong to the bill, not to a quarter-hour."""
    chosen = tenant_tariffs(connection, tenant_id)
    if not chosen.imports:
        return None
    zone, timezone = _place(connection, tenant_id)
    slots = slots_between(start, end, timezone)
    usage = store.usage(connection, tenant_id, slots, start, end, meter_id)
    spot = _spot(connection, zone, slots, start, end)
    import_ct, _ = priced(chosen.imports, slots, spot, all_in_ct)
    eur = usage.import_kwh * np.nan_to_num(import_ct) / 100
    if chosen.exports and meter_id is None:
        feed, version = priced(chosen.exports, slots, spot, lambda t, _s, s: feed_in_ct(t, s))
        eur -= usage.export_kwh * np.where(version >= 0, np.nan_to_num(feed), 0.0) / 100
    return slots.ts, eur


def cost_per_bucket(
    connection: Connection,
    tenant_id: str,
    start: datetime,
    end: datetime,
    bucket_starts: list[datetime],
    meter_id: str | None = None,
) -> list[float] | None:
    """``slot_costs`` summed into buckets given by their (sorted) starts; None without a tariff."""
    found = slot_costs(connection, tenant_id, start, end, meter_id)
    if found is None or not bucket_starts:
        return None if found is None else []
    ts, eur = found
    starts = np.array([b.astimezone(UTC).replace(tzinfo=None) for b in bucket_starts], dtype="datetime64[us]")
    into = np.searchsorted(starts, ts, side="right") - 1
    inside = into >= 0
    sums = np.bincount(into[inside], weights=eur[inside], minlength=len(starts))
    return [round(float(v), 6) for v in sums]


def tariff_curve(
    connection: Connection, tenant_id: str, starts: tuple[datetime, ...], eur_per_mwh: np.ndarray
) -> np.ndarray | None:
    """What each kWh of the given day-ahead slots costs the tenant, VAT included, as EUR/MWh (the
    playbook optimises on it); None without an import tariff."""
    all_in = all_in_prices(connection, tenant_id, list(starts), [float(v) for v in eur_per_mwh])
    if all_in is None:
        return None
    return np.array([np.nan if v is None else v * 10 for v in all_in])


def flat_tariff(connection: Connection, tenant_id: str, day: date) -> Tariff | None:
    """The import tariff of ``day`` if every kWh costs the same whenever it is used (fixed, no
    demand charge): shifting a load then saves nothing."""
    found = tenant_tariffs(connection, tenant_id).import_on(day)
    if found is not None and found.kind == "fixed" and not found.windows and found.demand_charge_eur_kw == 0:
        return found
    return None


def find_events(connection: Connection, tenant_id: str, start: datetime, end: datetime) -> int:
    """Records limit breaches (15-minute import above the contracted kW), negative-price hours and
    data gaps (quarter-hours without readings between the first and last) of [start, end); each
    once (events_once). Returns how many were new."""
    zone, timezone = _place(connection, tenant_id)
    slots = slots_between(start, end, timezone)
    usage = store.usage(connection, tenant_id, slots, start, end)
    rows: list[dict] = []
    limit = store.contracted_kw(connection, tenant_id)
    kw = usage.import_kwh * SLOTS_PER_HOUR
    if limit is not None:
        for i in np.flatnonzero(kw > limit):
            rows.append(_event(slots.ts[i], "limit_breach", "warning", kw=round(float(kw[i]), 3), limit_kw=limit))
    found = store.prices(connection, zone, start, end)
    for ts, eur in zip(*found[60], strict=True):
        if eur < 0 and start.astimezone(UTC).replace(tzinfo=None) <= ts.astype(datetime) < end.astimezone(UTC).replace(
            tzinfo=None
        ):
            rows.append(_event(ts, "negative_price", "info", eur_per_mwh=float(eur)))
    if usage.has_data.any():
        first, last = np.flatnonzero(usage.has_data)[[0, -1]]
        missing = ~usage.has_data[first : last + 1]
        edges = np.diff(np.concatenate(([0], missing.astype(np.int8), [0])))
        for begin, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            rows.append(_event(slots.ts[first + begin], "data_gap", "warning", missing_intervals=int(stop - begin)))
    return store.record_events(connection, tenant_id, rows)


def find_month_events(connection: Connection, tenant_id: str, as_of: date) -> int:
    """``find_events`` from the first of ``as_of``'s month to the end of that day (the KPI asset's run)."""
    _, timezone = _place(connection, tenant_id)
    start = local_midnight(as_of.replace(day=1), timezone)
    return find_events(connection, tenant_id, start, local_midnight(as_of + timedelta(days=1), timezone))


def _event(ts: np.datetime64, kind: str, severity: str, **payload) -> dict:
    return {"ts": ts.astype(datetime).replace(tzinfo=UTC), "kind": kind, "severity": severity, "payload": payload}
