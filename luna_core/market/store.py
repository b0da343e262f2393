"""Idempotent upsert of day-ahead prices, and what is already stored."""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import Connection, text

from luna_core.db.copy import copy_frame
from luna_core.market.auction import MARKET_TIMEZONE

_STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS _luna_price_stage (
    zone text, ts timestamptz, resolution_minutes smallint, eur_per_mwh double precision, source text
) ON COMMIT DELETE ROWS
"""

_UPSERT_SQL = """
INSERT INTO market_prices AS p (zone, ts, resolution_minutes, eur_per_mwh, source)
SELECT zone, ts, resolution_minutes, eur_per_mwh, source FROM _luna_price_stage
ON CONFLICT (zone, resolution_minutes, ts) DO UPDATE
    SET eur_per_mwh = EXCLUDED.eur_per_mwh, source = EXCLUDED.source, ingested_at = now()
    WHERE (p.eur_per_mwh, p.source) IS DISTINCT FROM (EXCLUDED.eur_per_mwh, EXCLUDED.source)
"""


def upsert_prices(connection: Connection, prices: pl.DataFrame) -> int:
    """Returns the number of prices inserted or changed."""
    if prices.height == 0:
        return 0
    connection.execute(text(_STAGE_DDL))
    copy_frame(
        connection, "_luna_price_stage", prices.select("zone", "ts", "resolution_minutes", "eur_per_mwh", "source")
    )
    return connection.execute(text(_UPSERT_SQL)).rowcount


def last_price_reads(connection: Connection) -> dict[str, object]:
    """Per price source, when it last stored or changed a price (a read that changed nothing leaves no trace)."""
    rows = connection.execute(text("SELECT source, max(ingested_at) FROM market_prices GROUP BY source"))
    return {source: newest for source, newest in rows}


_STALE_SQL = """
DELETE FROM market_prices AS p
WHERE p.zone = :zone
  AND CAST(p.ts AT TIME ZONE :tz AS date) = ANY(:days)
  AND NOT EXISTS (
      SELECT 1 FROM _luna_price_stage s
      WHERE s.zone = p.zone AND s.resolution_minutes = p.resolution_minutes AND s.ts = p.ts
  )
"""


def replace_prices(connection: Connection, prices: pl.DataFrame, timezone: str = MARKET_TIMEZONE) -> tuple[int, int]:
    """Stores a source's prices as the whole truth of each (zone, delivery day) they cover: a re-published
    day replaces the old values, and periods the new publication no longer has (a resolution dropped,
    the simulator's quarter-hours on a day ENTSO-E published hourly) are deleted. Days without a price in
    ``prices`` are left alone. Returns (inserted or changed, deleted); both 0 when nothing changed."""
    written = upsert_prices(connection, prices)
    if prices.height == 0:
        return 0, 0
    days = prices.select("zone", pl.col("ts").dt.convert_time_zone(timezone).dt.date().alias("day")).unique()
    deleted = 0
    for zone, group in days.group_by("zone"):
        deleted += connection.execute(
            text(_STALE_SQL), {"zone": zone[0], "tz": timezone, "days": group["day"].to_list()}
        ).rowcount
    return written, deleted


def latest_price_day(connection: Connection, zone: str, timezone: str = MARKET_TIMEZONE) -> date | None:
    return connection.execute(
        text("SELECT CAST(max(ts) AT TIME ZONE :tz AS date) FROM market_prices WHERE zone = :zone"),
        {"zone": zone, "tz": timezone},
    ).scalar_one()
