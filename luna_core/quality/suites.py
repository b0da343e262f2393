"""The expectations Luna holds its stored data to: range, completeness, freshness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, text

from luna_core.market.auction import MARKET_TIMEZONE
from luna_core.market.sources import MAX_PRICE, MIN_PRICE
from luna_core.quality.expectations import QualityResult, validate

RECENT_DAYS = 7
MIN_COMPLETENESS = 0.98

_RECENT_READINGS_SQL = text(
    """
    SELECT r.meter_id, r.ts, r.kwh, m.max_kw * coalesce(m.interval_minutes, 15) / 60.0 AS max_kwh
    FROM meter_readings r JOIN meters m ON m.tenant_id = r.tenant_id AND m.meter_id = r.meter_id
    WHERE r.tenant_id = :tenant
      AND r.ts >= (SELECT max(ts) FROM meter_readings WHERE tenant_id = :tenant) - make_interval(days => :days)
    """
)

# Completeness per meter and tenant-local day, over the last complete days only; a day expects
# as many readings as the meter's interval fits into it (a meter not known yet: 15 minutes).
_COMPLETENESS_SQL = text(
    """
    WITH latest AS (
        SELECT CAST(max(ts) AT TIME ZONE :tz AS date) AS day FROM meter_readings WHERE tenant_id = :tenant
    ), days AS (
        SELECT CAST(d AS date) AS day FROM latest,
               generate_series(latest.day - :days, latest.day - 1, interval '1 day') AS d
    ), expected AS (
        SELECT m.meter_id, d.day,
               CAST(extract(epoch FROM (CAST(d.day + 1 AS timestamp) AT TIME ZONE :tz)
                                     - (CAST(d.day AS timestamp) AT TIME ZONE :tz))
                    / (60 * coalesce(m.interval_minutes, 15)) AS integer) AS intervals
        FROM days d CROSS JOIN meters m
        WHERE m.tenant_id = :tenant
    )
    SELECT e.meter_id, e.day, e.intervals AS expected, count(r.ts) AS received
    FROM expected e
    LEFT JOIN meter_readings r
           ON r.tenant_id = :tenant AND r.meter_id = e.meter_id
          AND r.ts >= CAST(e.day AS timestamp) AT TIME ZONE :tz
          AND r.ts < CAST(e.day + 1 AS timestamp) AT TIME ZONE :tz
    GROUP BY e.meter_id, e.day, e.intervals
    """
)


def readings_in_range(connection: Connection, tenant_id: str) -> QualityResult:
    import great_expectations.expectations as gxe

    frame = pd.read_sql(_RECENT_READINGS_SQL, connection, params={"tenant": tenant_id, "days": RECENT_DAYS})
    frame["headroom_kwh"] = frame["max_kwh"] - frame["kwh"]
    return validate(
        "readings_range",
        frame,
        [
            gxe.ExpectColumnValuesToNotBeNull(column="kwh"),
            gxe.ExpectColumnValuesToBeBetween(column="kwh", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="headroom_kwh", min_value=0),
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
        ],
    )


def readings_complete(connection: Connection, tenant_id: str, timezone: str) -> QualityResult:
    import great_expectations.expectations as gxe

    frame = pd.read_sql(
        _COMPLETENESS_SQL, connection, params={"tenant": tenant_id, "tz": timezone, "days": RECENT_DAYS}
    )
    frame["completeness"] = frame["received"] / frame["expected"]
    return validate(
        "readings_completeness",
        frame,
        [
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToBeBetween(column="completeness", min_value=MIN_COMPLETENESS, max_value=1.0),
        ],
    )


_NEWEST_END_SQL = text(
    """
    SELECT max(r.ts + make_interval(mins => coalesce(m.interval_minutes, 15)))
    FROM meters m, LATERAL (
        SELECT max(ts) AS ts FROM meter_readings WHERE tenant_id = m.tenant_id AND meter_id = m.meter_id
    ) r
    WHERE m.tenant_id = :tenant
    """
)


def readings_fresh(
    connection: Connection, tenant_id: str, max_age: timedelta, now: datetime | None = None
) -> QualityResult:
    import great_expectations.expectations as gxe

    # The newest reading's interval ends its meter's interval after its start.
    newest_end = connection.execute(_NEWEST_END_SQL, {"tenant": tenant_id}).scalar_one()
    now = now or datetime.now(UTC)
    age_hours = None if newest_end is None else (now - newest_end).total_seconds() / 3600
    frame = pd.DataFrame({"age_hours": [age_hours]}, dtype="float64")
    return validate(
        "readings_freshness",
        frame,
        [
            gxe.ExpectColumnValuesToNotBeNull(column="age_hours"),
            gxe.ExpectColumnMaxToBeBetween(column="age_hours", max_value=max_age.total_seconds() / 3600),
        ],
    )


_PRICE_DAYS_SQL = text(
    """
    WITH days AS (
        SELECT resolution_minutes, CAST(ts AT TIME ZONE :market_tz AS date) AS day, eur_per_mwh
        FROM market_prices WHERE zone = :zone
    )
    SELECT resolution_minutes, day, count(*) AS received, min(eur_per_mwh) AS min_price, max(eur_per_mwh) AS max_price
    FROM days
    WHERE day > (SELECT max(day) FROM days) - :days
    GROUP BY 1, 2
    """
)


def prices_valid(connection: Connection, zone: str) -> QualityResult:
    import great_expectations.expectations as gxe

    frame = pd.read_sql(
        _PRICE_DAYS_SQL, connection, params={"zone": zone, "days": RECENT_DAYS, "market_tz": MARKET_TIMEZONE}
    )
    # A delivery day has 23, 24 or 25 hours.
    frame["hours_covered"] = frame["received"] * frame["resolution_minutes"] / 60
    return validate(
        "prices",
        frame,
        [
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToBeBetween(column="min_price", min_value=MIN_PRICE),
            gxe.ExpectColumnValuesToBeBetween(column="max_price", max_value=MAX_PRICE),
            gxe.ExpectColumnValuesToBeBetween(column="hours_covered", min_value=23, max_value=25),
        ],
    )
