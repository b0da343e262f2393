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


def latest_price_day(connection: Connection, zone: str, timezone: str = MARKET_TIMEZONE) -> date | None:
    return connection.execute(
        text("SELECT CAST(max(ts) AT TIME ZONE :tz AS date) FROM market_prices WHERE zone = :zone"),
        {"zone": zone, "tz": timezone},
    ).scalar_one()
