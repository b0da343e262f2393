"""Tenant KPIs for one day (tenant-local), computed in PostgreSQL from the meters' readings.

Definitions (also in the README):
- interval: the longest reading interval of the tenant's meters (15, 30 or 60 minutes; a meter
  whose interval is not known yet counts as 15), so every interval holds whole readings of all meters;
- load: what the site consumed = consumption + ev + heat_pump meters (sub-meters are separate loads;
  ``energy.site`` defines it);
- grid import per interval = max(load - pv, 0); self-consumed PV = min(load, pv);
- cost without a tariff (``cost_basis`` "wholesale") = grid import x the mean day-ahead price of the
  interval's quarter-hours (each the 15-minute price, else its hour's: ``market.pricing``), EUR; with one ("tariff"):
  today = grid import at the all-in price (VAT included) minus the feed-in credit, the month = the
  month-so-far bill total (luna_core.tariffs: base fee pro rata, demand charge, VAT, credit);
- peak kW = the month's highest interval grid import x 60 / interval minutes;
- self-consumption ratio = self-consumed PV / PV generation (only where a PV meter exists).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.dialects.postgresql import insert

from luna_core.db.schema import tenant_kpis
from luna_core.energy.site import site_load_sql
from luna_core.market.pricing import PRICE_EUR_PER_MWH, price_joins
from luna_core.tariffs import service as tariff_service
from luna_core.tenants import get_tenant

_KPI_SQL = text(
    f"""
    WITH bounds AS (
        SELECT CAST(date_trunc('month', CAST(:as_of AS timestamp)) AS timestamp) AT TIME ZONE :tz AS month_start,
               CAST(:as_of AS timestamp) AT TIME ZONE :tz AS day_start,
               CAST(CAST(:as_of AS date) + 1 AS timestamp) AT TIME ZONE :tz AS day_end
    ),
    intervals AS (
        SELECT date_bin(make_interval(mins => :minutes), r.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS ts,
               coalesce(sum(r.kwh) FILTER (WHERE {site_load_sql()}), 0) AS load_kwh,
               coalesce(sum(r.kwh) FILTER (WHERE m.kind = 'pv'), 0) AS pv_kwh
        FROM meter_readings r
        JOIN meters m ON m.tenant_id = r.tenant_id AND m.meter_id = r.meter_id
        CROSS JOIN bounds b
        WHERE r.tenant_id = :tenant AND r.ts >= b.month_start AND r.ts < b.day_end
        GROUP BY 1
    ),
    priced AS (
        SELECT i.ts, i.load_kwh, i.pv_kwh,
               greatest(i.load_kwh - i.pv_kwh, 0) AS import_kwh,
               least(i.load_kwh, i.pv_kwh) AS self_kwh,
               price.eur_per_mwh
        FROM intervals i
        LEFT JOIN LATERAL (
            SELECT CASE WHEN count({PRICE_EUR_PER_MWH}) = :minutes / 15
                        THEN avg({PRICE_EUR_PER_MWH}) END AS eur_per_mwh
            FROM generate_series(i.ts, i.ts + make_interval(mins => :minutes - 15), interval '15 minutes') AS q
            {price_joins("q", ":zone")}
        ) price ON true
    )
    SELECT
        coalesce(sum(load_kwh) FILTER (WHERE ts >= b.day_start), 0) AS kwh_today,
        coalesce(sum(load_kwh), 0) AS kwh_month,
        sum(import_kwh * eur_per_mwh / 1000) FILTER (WHERE ts >= b.day_start) AS cost_today_eur,
        sum(import_kwh * eur_per_mwh / 1000) AS cost_month_eur,
        count(*) FILTER (WHERE eur_per_mwh IS NULL) AS unpriced_intervals,
        max(import_kwh) * 60 / :minutes AS peak_kw_month,
        (array_agg(ts ORDER BY import_kwh DESC, ts))[1] AS peak_at,
        sum(pv_kwh) AS pv_kwh_month,
        sum(self_kwh) AS self_kwh_month,
        min(ts) AS readings_from,
        max(ts) AS readings_to,
        count(*) AS intervals
    FROM priced CROSS JOIN bounds b
    GROUP BY b.day_start
    """
)

_HAS_PV_SQL = text("SELECT EXISTS (SELECT 1 FROM meters WHERE tenant_id = :tenant AND kind = 'pv')")

# Meters whose interval is not known yet (no readings) count as the finest, 15 minutes.
_INTERVAL_SQL = text("SELECT coalesce(max(interval_minutes), 15) FROM meters WHERE tenant_id = :tenant")

_LATEST_DAY_SQL = text(
    """
    SELECT CAST(max(ts) AT TIME ZONE :tz AS date) FROM meter_readings WHERE tenant_id = :tenant
    """
)


@dataclass
class TenantKpis:
    tenant_id: str
    as_of: date
    kwh_today: float
    kwh_month: float
    cost_today_eur: float | None
    cost_month_eur: float | None
    peak_kw_month: float | None
    peak_at: datetime | None
    pv_kwh_month: float | None
    self_consumption_ratio: float | None
    readings_from: datetime | None
    readings_to: datetime | None
    unpriced_intervals: int = 0
    intervals: int = 0
    cost_basis: str = "wholesale"


def compute_tenant_kpis(connection: Connection, tenant_id: str, as_of: date | None = None) -> TenantKpis | None:
    """KPIs for ``as_of`` (default: the tenant-local day of the newest reading); None without readings.
    Run inside ``tenant_scope``."""
    tenant = get_tenant(connection, tenant_id)
    zone, tz = tenant.zone, tenant.timezone
    if as_of is None:
        as_of = connection.execute(_LATEST_DAY_SQL, {"tenant": tenant_id, "tz": tz}).scalar_one()
        if as_of is None:
            return None
    minutes = connection.execute(_INTERVAL_SQL, {"tenant": tenant_id}).scalar_one()
    params = {"tenant": tenant_id, "tz": tz, "zone": zone, "as_of": as_of, "minutes": minutes}
    row = connection.execute(_KPI_SQL, params).first()
    if row is None:
        return None
    has_pv = connection.execute(_HAS_PV_SQL, {"tenant": tenant_id}).scalar_one()
    pv = row.pv_kwh_month if has_pv else None
    kpis = TenantKpis(
        tenant_id=tenant_id,
        as_of=as_of,
        kwh_today=row.kwh_today,
        kwh_month=row.kwh_month,
        cost_today_eur=row.cost_today_eur,
        cost_month_eur=row.cost_month_eur,
        peak_kw_month=row.peak_kw_month,
        peak_at=row.peak_at,
        pv_kwh_month=pv,
        self_consumption_ratio=(row.self_kwh_month / pv) if pv else None,
        readings_from=row.readings_from,
        readings_to=row.readings_to,
        unpriced_intervals=row.unpriced_intervals,
        intervals=row.intervals,
    )
    return _with_tariff(connection, kpis, tz)


def _with_tariff(connection: Connection, kpis: TenantKpis, tz: str) -> TenantKpis:
    """The euros from the tenant's tariff when it has one (the wholesale figures stay otherwise)."""
    day_start = tariff_service.local_midnight(kpis.as_of, tz)
    day_end = tariff_service.local_midnight(kpis.as_of + timedelta(days=1), tz)
    today = tariff_service.slot_costs(connection, kpis.tenant_id, day_start, day_end)
    if today is None:
        return kpis
    month = tariff_service.month_bill(connection, kpis.tenant_id, f"{kpis.as_of:%Y-%m}", day_end)
    kpis.cost_today_eur = round(float(today[1].sum()), 2)
    kpis.cost_month_eur = month["so_far"]["total_eur"]
    kpis.cost_basis = "tariff"
    return kpis


def store_tenant_kpis(connection: Connection, kpis: TenantKpis) -> None:
    values = {k: v for k, v in asdict(kpis).items() if k in tenant_kpis.c}
    statement = insert(tenant_kpis).values(**values, computed_at=text("now()"))
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[tenant_kpis.c.tenant_id, tenant_kpis.c.as_of],
            set_={k: statement.excluded[k] for k in values if k not in ("tenant_id", "as_of")}
            | {"computed_at": text("now()")},
        )
    )


def stored_tenant_kpis(connection: Connection, tenant_id: str, as_of: date | None = None) -> Any | None:
    """The newest KPIs the pipeline stored (or those of ``as_of``); None if there are none.
    Run inside ``tenant_scope``."""
    query = select(tenant_kpis).where(tenant_kpis.c.tenant_id == tenant_id)
    query = query.where(tenant_kpis.c.as_of == as_of) if as_of else query.order_by(tenant_kpis.c.as_of.desc())
    return connection.execute(query.limit(1)).first()
