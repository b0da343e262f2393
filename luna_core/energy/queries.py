"""Read-side queries on readings: raw listing and bucketed aggregates with cost.

Buckets are cut in the tenant's local time (a day across a DST change has 23 or 25 hours);
``kwh`` is the selected meter's energy, or without a meter the site load
(consumption + ev + heat_pump); ``cost_eur`` is money from the tenant's tariff where it has one
(``cost_basis`` "tariff": the site's grid import at the all-in price, VAT included, minus its feed-in
credit; a meter's energy at the all-in price), else the site's grid import (load above PV), or the
meter's energy, at the day-ahead price of each quarter-hour (the 15-minute price, else the hour's;
``cost_basis`` "wholesale").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, select, text

from luna_core.db.schema import meter_readings, meters
from luna_core.energy.site import site_load_sql
from luna_core.market.pricing import PRICE_EUR_PER_MWH, price_joins
from luna_core.tariffs.service import cost_per_bucket

BUCKETS = {"15min": None, "hour": "hour", "day": "day", "week": "week", "month": "month"}
# Largest window per bucket, so one request cannot ask for millions of rows.
MAX_WINDOW = {
    "15min": timedelta(days=31),
    "hour": timedelta(days=366),
    "day": timedelta(days=3660),
    "week": timedelta(days=3660),
    "month": timedelta(days=3660),
}
COMPARISONS = ("previous_period", "previous_year")


class QueryError(ValueError):
    """Bad query parameters: the message names the parameter and what is wrong."""


AGGREGATE_SQL = text(
    f"""
    WITH tenant AS (SELECT timezone, zone FROM tenants WHERE id = :tenant),
    intervals AS (
        -- The site's cost is its grid import (load above PV, as the KPIs count it); a meter's, its energy.
        SELECT r.ts,
               sum(r.kwh) FILTER (WHERE CASE WHEN CAST(:meter AS text) IS NULL
                                             THEN {site_load_sql()}
                                             ELSE r.meter_id = :meter END) AS kwh,
               coalesce(sum(r.kwh) FILTER (WHERE CAST(:meter AS text) IS NULL AND m.kind = 'pv'), 0) AS pv_kwh
        FROM meter_readings r
        JOIN meters m ON m.tenant_id = r.tenant_id AND m.meter_id = r.meter_id
        WHERE r.tenant_id = :tenant AND r.ts >= :start AND r.ts < :end
          AND (CAST(:meter AS text) IS NULL OR r.meter_id = :meter)
        GROUP BY r.ts
        HAVING count(*) FILTER (WHERE CASE WHEN CAST(:meter AS text) IS NULL
                                           THEN {site_load_sql()}
                                           ELSE r.meter_id = :meter END) > 0
    )
    SELECT CASE WHEN CAST(:unit AS text) IS NULL THEN i.ts ELSE date_trunc(:unit, i.ts, t.timezone) END AS start,
           sum(i.kwh) AS kwh,
           sum(greatest(i.kwh - i.pv_kwh, 0) * {PRICE_EUR_PER_MWH} / 1000) AS cost_eur,
           count(*) AS intervals,
           count(*) FILTER (WHERE {PRICE_EUR_PER_MWH} IS NULL) AS unpriced_intervals
    FROM intervals i
    CROSS JOIN tenant t
    {price_joins("i.ts", "t.zone")}
    GROUP BY 1
    ORDER BY 1
    """
)


@dataclass(frozen=True)
class Series:
    start: datetime
    end: datetime
    buckets: list[dict[str, Any]]
    cost_basis: str = "wholesale"

    @cached_property
    def kwh(self) -> float:
        return sum(b["kwh"] for b in self.buckets)

    @cached_property
    def cost_eur(self) -> float | None:
        costs = [b["cost_eur"] for b in self.buckets if b["cost_eur"] is not None]
        return sum(costs) if costs else None


def check_window(start: datetime, end: datetime, bucket: str) -> None:
    if bucket not in BUCKETS:
        raise QueryError(f"bucket must be one of {', '.join(BUCKETS)}")
    if start.tzinfo is None or end.tzinfo is None:
        raise QueryError("start and end need a UTC offset, e.g. 2026-01-01T00:00:00+01:00")
    if end <= start:
        raise QueryError("end must be after start")
    if end - start > MAX_WINDOW[bucket]:
        raise QueryError(f"a {bucket} aggregate covers at most {MAX_WINDOW[bucket].days} days; narrow start/end")


def aggregate(
    connection: Connection, tenant_id: str, bucket: str, start: datetime, end: datetime, meter_id: str | None = None
) -> Series:
    """Run inside ``tenant_scope``."""
    check_window(start, end, bucket)
    result = connection.execute(
        AGGREGATE_SQL,
        {"tenant": tenant_id, "unit": BUCKETS[bucket], "start": start, "end": end, "meter": meter_id},
    )
    # One fetchall and dict literals in AGGREGATE_SQL's column order: iterating the result fetched
    # row by row, and dict(zip(keys, row)) cost four times the literal on a year of hourly buckets.
    buckets = [
        {"start": start_, "kwh": kwh, "cost_eur": cost, "intervals": intervals, "unpriced_intervals": unpriced}
        for start_, kwh, cost, intervals, unpriced in result.tuples().all()
    ]
    tariff_costs = cost_per_bucket(connection, tenant_id, start, end, [b["start"] for b in buckets], meter_id)
    if tariff_costs is None:
        return Series(start, end, buckets)
    for found, eur in zip(buckets, tariff_costs, strict=True):
        found["cost_eur"] = eur
    return Series(start, end, buckets, cost_basis="tariff")


def comparison_window(start: datetime, end: datetime, compare: str) -> tuple[datetime, datetime]:
    if compare == "previous_period":
        return start - (end - start), start
    if compare == "previous_year":
        return _year_before(start), _year_before(end)
    raise QueryError(f"compare must be one of {', '.join(COMPARISONS)}")


def _year_before(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - 1, day=28)


def list_readings(
    connection: Connection,
    tenant_id: str,
    start: datetime,
    end: datetime,
    meter_id: str | None,
    limit: int,
    offset: int,
) -> list[Any]:
    check_window(start, end, "day")
    query = (
        select(meter_readings.c.meter_id, meter_readings.c.ts, meter_readings.c.kwh, meter_readings.c.quality)
        .where(meter_readings.c.tenant_id == tenant_id, meter_readings.c.ts >= start, meter_readings.c.ts < end)
        .order_by(meter_readings.c.ts, meter_readings.c.meter_id)
        .limit(limit)
        .offset(offset)
    )
    if meter_id:
        query = query.where(meter_readings.c.meter_id == meter_id)
    return list(connection.execute(query))


@dataclass(frozen=True)
class ReadingsTotals:
    rows: int
    meters: int
    first: datetime | None
    last: datetime | None


_TOTALS_SQL = text(
    "SELECT count(*), count(DISTINCT meter_id), min(ts), max(ts) FROM meter_readings WHERE tenant_id = :tenant"
)


def readings_totals(connection: Connection, tenant_id: str) -> ReadingsTotals:
    """How many readings of how many meters the tenant has stored, and their time span."""
    rows, meter_count, first, last = connection.execute(_TOTALS_SQL, {"tenant": tenant_id}).one()
    return ReadingsTotals(rows, meter_count, first, last)


def list_meters(connection: Connection, tenant_id: str) -> list[Any]:
    return list(connection.execute(select(meters).where(meters.c.tenant_id == tenant_id).order_by(meters.c.meter_id)))


def meter_names(connection: Connection, tenant_id: str) -> dict[str, str]:
    """meter id -> the name its tenant gave it (the id itself when it has none)."""
    rows = connection.execute(select(meters.c.meter_id, meters.c.name).where(meters.c.tenant_id == tenant_id))
    return {row.meter_id: row.name or row.meter_id for row in rows}


def get_meter(connection: Connection, tenant_id: str, meter_id: str) -> Any | None:
    return connection.execute(
        select(meters).where(meters.c.tenant_id == tenant_id, meters.c.meter_id == meter_id)
    ).first()
