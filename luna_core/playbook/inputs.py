"""What a day's plan is made of, read from PostgreSQL inside ``tenant_scope``: the day-ahead prices
of the tenant's zone, the load forecast, measured load, and each flexible or PV meter's recent
profile for the same kind of day (workday or weekend)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, select, text

from luna_core.db.schema import forecasts, market_prices, meters
from luna_core.energy.site import is_load
from luna_core.forecasting.store import site_load
from luna_core.playbook.conditions import DayFrame
from luna_core.playbook.optimizer import PriceCurve
from luna_core.tariffs import service as tariff_service
from luna_core.tenants import get_tenant

PROFILE_DAYS = 28
FLEXIBLE_KINDS = ("ev", "heat_pump", "battery")


class NoPrices(LookupError):
    """The day-ahead prices of the day are not (completely) published yet."""


@dataclass(frozen=True)
class MeterInfo:
    meter_id: str
    kind: str
    max_kw: float


@dataclass
class DayInputs:
    tenant_id: str
    timezone: str
    zone: str
    day: date
    curve: PriceCurve
    frame: DayFrame
    meters: list[MeterInfo]
    profiles: dict[str, np.ndarray] = field(default_factory=dict)  # kW per slot, same day type, recent mean
    # All-in ct/kWh of a fixed tariff without demand charge: shifting saves nothing (None otherwise).
    flat_price_ct: float | None = None
    # EUR per kW of the month's 15-minute peak on the day's import tariff (0: none).
    demand_charge_eur_kw: float = 0.0

    def meters_of(self, kind: str) -> list[MeterInfo]:
        return [m for m in self.meters if m.kind == kind]

    def slot_at(self, hhmm: str) -> int:
        """First slot starting at or after the local time ``hhmm`` of the day (len if none)."""
        hour, minute = (int(x) for x in hhmm.split(":"))
        moment = datetime.combine(self.day, time(hour, minute), ZoneInfo(self.timezone)).astimezone(UTC)
        return next((i for i, start in enumerate(self.curve.starts) if start >= moment), len(self.curve))

    def local(self, slot: int) -> str:
        if slot >= len(self.curve):
            return "24:00"
        return self.curve.starts[slot].astimezone(ZoneInfo(self.timezone)).strftime("%H:%M")

    def slot_start(self, slot: int) -> datetime:
        if slot >= len(self.curve):
            return self.curve.starts[-1] + timedelta(hours=self.curve.hours)
        return self.curve.starts[slot]

    @property
    def pv_kw(self) -> np.ndarray:
        return np.asarray(self.frame.pv_kw, dtype=float)


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def day_curve(connection: Connection, zone: str, day: date, timezone: str) -> PriceCurve:
    """The hourly day-ahead prices of the tenant-local day; ``NoPrices`` unless every hour is there."""
    start, end = day_bounds(day, timezone)
    rows = connection.execute(
        select(market_prices.c.ts, market_prices.c.eur_per_mwh)
        .where(market_prices.c.zone == zone, market_prices.c.resolution_minutes == 60)
        .where(market_prices.c.ts >= start, market_prices.c.ts < end)
        .order_by(market_prices.c.ts)
    ).all()
    expected = int((end - start).total_seconds() // 3600)
    if len(rows) < expected:
        raise NoPrices(f"day-ahead prices for {day} ({zone}) are not published yet: {len(rows)} of {expected} hours")
    return PriceCurve(tuple(r.ts for r in rows), np.array([r.eur_per_mwh for r in rows]), hours=1.0)


_PROFILE_SQL = text(
    """
    SELECT meter_id,
           extract(hour FROM hour AT TIME ZONE :tz)::int AS local_hour,
           extract(isodow FROM hour AT TIME ZONE :tz)::int >= 6 AS weekend,
           sum(kwh) AS kwh
    FROM consumption_hourly
    WHERE tenant_id = :tenant AND meter_id = ANY(:meters) AND hour >= :start AND hour < :end
    GROUP BY 1, 2, 3
    """
)

_DAYS_SQL = text(
    """
    SELECT meter_id, extract(isodow FROM d)::int >= 6 AS weekend, count(*) AS days
    FROM (SELECT DISTINCT meter_id, CAST(hour AT TIME ZONE :tz AS date) AS d
          FROM consumption_hourly
          WHERE tenant_id = :tenant AND meter_id = ANY(:meters) AND hour >= :start AND hour < :end) x
    GROUP BY 1, 2
    """
)


def recent_profiles(
    connection: Connection, tenant_id: str, meter_ids: list[str], day: date, timezone: str, starts: tuple[datetime, ...]
) -> dict[str, np.ndarray]:
    """Mean kWh per local hour over the last ``PROFILE_DAYS`` days of the same day type, as kW per slot."""
    if not meter_ids:
        return {}
    start, _ = day_bounds(day - timedelta(days=PROFILE_DAYS), timezone)
    end, _ = day_bounds(day, timezone)
    weekend = day.isoweekday() >= 6
    params = {"tenant": tenant_id, "meters": meter_ids, "start": start, "end": end, "tz": timezone}
    # Divided by every day of the type the meter reported on: an hour without charging counts as zero.
    days = {(r.meter_id, r.weekend): r.days for r in connection.execute(_DAYS_SQL, params)}
    sums: dict[str, np.ndarray] = {m: np.zeros(24) for m in meter_ids}
    for row in connection.execute(_PROFILE_SQL, params):
        if row.weekend == weekend:
            sums[row.meter_id][row.local_hour] = row.kwh / days[(row.meter_id, weekend)]
    zone = ZoneInfo(timezone)
    hours = np.array([s.astimezone(zone).hour for s in starts])
    return {m: sums[m][hours] for m in meter_ids if days.get((m, weekend))}


def load_day(connection: Connection, tenant_id: str, day: date) -> DayInputs:
    """Everything a day's plan needs; raises ``NoPrices`` when the auction result is not in yet."""
    tenant = get_tenant(connection, tenant_id)
    zone, timezone = tenant.zone, tenant.timezone
    curve = day_curve(connection, zone, day, timezone)
    day_ahead = curve.eur_per_mwh
    # With a tariff, plans are costed in what the tenant pays (all-in, VAT included); conditions and
    # alerts keep reading the day-ahead price (frame.price).
    tariffed = tariff_service.tariff_curve(connection, tenant_id, curve.starts, curve.eur_per_mwh)
    if tariffed is not None and np.all(np.isfinite(tariffed)):
        curve = PriceCurve(curve.starts, tariffed, hours=curve.hours)
    flat = tariff_service.flat_tariff(connection, tenant_id, day)
    start, end = day_bounds(day, timezone)
    found = [
        MeterInfo(r.meter_id, r.kind, r.max_kw)
        for r in connection.execute(
            select(meters.c.meter_id, meters.c.kind, meters.c.max_kw)
            .where(meters.c.tenant_id == tenant_id)
            .order_by(meters.c.meter_id)
        )
    ]
    index = {ts: i for i, ts in enumerate(curve.starts)}
    forecast = np.full(len(curve), np.nan)
    for row in connection.execute(
        select(forecasts.c.ts, forecasts.c.kwh).where(
            forecasts.c.tenant_id == tenant_id,
            forecasts.c.target == "load",
            forecasts.c.ts >= start,
            forecasts.c.ts < end,
        )
    ):
        if row.ts in index:
            forecast[index[row.ts]] = row.kwh  # kWh in one hour = mean kW
    measured = np.full(len(curve), np.nan)
    for ts, kwh in site_load(connection, tenant_id, start, end).iter_rows():
        if ts in index:
            measured[index[ts]] = kwh
    wanted = [m.meter_id for m in found if m.kind in (*FLEXIBLE_KINDS, "pv", "consumption")]
    profiles = recent_profiles(connection, tenant_id, wanted, day, timezone, curve.starts)
    pv_ids = [m.meter_id for m in found if m.kind == "pv"]
    pv = sum((profiles[m] for m in pv_ids if m in profiles), start=np.zeros(len(curve))) if pv_ids else None
    if np.all(np.isnan(forecast)):
        # No forecast yet: the recent profile of the site's load stands in for it.
        loads = [profiles[m.meter_id] for m in found if is_load(m.kind) and m.meter_id in profiles]
        if loads:
            forecast = np.sum(loads, axis=0)
    zone_info = ZoneInfo(timezone)
    frame = DayFrame(
        starts=curve.starts,
        local_hour=np.array([s.astimezone(zone_info).hour for s in curve.starts], dtype=float),
        price=day_ahead,
        forecast_kw=forecast,
        consumption_kw=measured,
        pv_kw=pv if pv is not None else np.full(len(curve), np.nan),
    )
    flat_ct = float(curve.eur_per_mwh[0]) / 10 if flat is not None and tariffed is not None else None
    on_day = tariff_service.tenant_tariffs(connection, tenant_id).import_on(day)
    return DayInputs(
        tenant_id,
        timezone,
        zone,
        day,
        curve,
        frame,
        found,
        profiles,
        flat_price_ct=flat_ct,
        demand_charge_eur_kw=on_day.demand_charge_eur_kw if on_day else 0.0,
    )
