"""Hourly consumption per meter, refreshed incrementally from what arrived since the last run.

The watermark is the newest ``ingested_at`` seen; hours touched by rows that arrived after
it (late data included) are recomputed from the readings, so a rerun recomputes nothing new
and a correction anywhere in the past reaches its hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, text
from sqlalchemy.dialects.postgresql import insert

from luna_core.db.schema import asset_watermarks

ASSET = "consumption_hourly"
# Rows committed by a concurrent writer may carry an ingested_at slightly older than our
# watermark; re-reading a short overlap is idempotent and cheap.
OVERLAP = timedelta(minutes=5)

_CHANGES_SQL = text(
    """
    SELECT date_trunc('hour', min(ts), 'UTC'), date_trunc('hour', max(ts), 'UTC') + interval '1 hour',
           max(ingested_at), count(*)
    FROM meter_readings
    WHERE tenant_id = :tenant AND (CAST(:since AS timestamptz) IS NULL OR ingested_at > :since)
    """
)

_REFRESH_SQL = text(
    """
    INSERT INTO consumption_hourly AS h (tenant_id, meter_id, hour, kwh, samples)
    SELECT tenant_id, meter_id, date_trunc('hour', ts, 'UTC'), sum(kwh), count(*)
    FROM meter_readings
    WHERE tenant_id = :tenant AND ts >= :lo AND ts < :hi
    GROUP BY 1, 2, 3
    ON CONFLICT (tenant_id, meter_id, hour) DO UPDATE
        SET kwh = EXCLUDED.kwh, samples = EXCLUDED.samples
        WHERE (h.kwh, h.samples) IS DISTINCT FROM (EXCLUDED.kwh, EXCLUDED.samples)
    """
)


@dataclass
class HourlyRefresh:
    new_readings: int
    hours_from: datetime | None
    hours_to: datetime | None
    rows_written: int
    watermark: datetime | None


def refresh_consumption_hourly(connection: Connection, tenant_id: str, *, full: bool = False) -> HourlyRefresh:
    """Run inside ``tenant_scope``. ``full`` recomputes every hour (a backfill)."""
    previous = None if full else _watermark(connection, tenant_id)
    since = previous - OVERLAP if previous else None
    lo, hi, newest, count = connection.execute(_CHANGES_SQL, {"tenant": tenant_id, "since": since}).one()
    if not count:
        return HourlyRefresh(0, None, None, 0, previous)
    written = connection.execute(_REFRESH_SQL, {"tenant": tenant_id, "lo": lo, "hi": hi}).rowcount
    watermark = max(newest, previous) if previous else newest
    _set_watermark(connection, tenant_id, watermark)
    return HourlyRefresh(count, lo, hi, written, watermark)


def _watermark(connection: Connection, tenant_id: str) -> datetime | None:
    return connection.execute(
        select(asset_watermarks.c.watermark).where(
            asset_watermarks.c.tenant_id == tenant_id, asset_watermarks.c.asset == ASSET
        )
    ).scalar_one_or_none()


def _set_watermark(connection: Connection, tenant_id: str, watermark: datetime) -> None:
    statement = insert(asset_watermarks).values(tenant_id=tenant_id, asset=ASSET, watermark=watermark)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[asset_watermarks.c.tenant_id, asset_watermarks.c.asset],
            set_={"watermark": statement.excluded.watermark, "updated_at": text("now()")},
        )
    )
