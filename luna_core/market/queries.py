"""Read-side queries on day-ahead prices."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from luna_core.db.schema import market_prices
from luna_core.energy.queries import QueryError

MAX_PRICE_WINDOW = timedelta(days=400)


def _window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise QueryError("start and end need a UTC offset, e.g. 2026-01-01T00:00:00+01:00")
    if end <= start:
        raise QueryError("end must be after start")
    if end - start > MAX_PRICE_WINDOW:
        raise QueryError(f"a price window covers at most {MAX_PRICE_WINDOW.days} days")


def _base(zone: str, start: datetime, end: datetime, resolution: int):
    if resolution not in (15, 60):
        raise QueryError("resolution must be 15 or 60 (minutes)")
    _window(start, end)
    return (
        select(market_prices.c.ts, market_prices.c.eur_per_mwh, market_prices.c.resolution_minutes)
        .where(market_prices.c.zone == zone, market_prices.c.resolution_minutes == resolution)
        .where(market_prices.c.ts >= start, market_prices.c.ts < end)
    )


def prices(connection: Connection, zone: str, start: datetime, end: datetime, resolution: int) -> list[Any]:
    return list(connection.execute(_base(zone, start, end, resolution).order_by(market_prices.c.ts)))


def cheapest_slots(
    connection: Connection, zone: str, start: datetime, end: datetime, resolution: int, count: int
) -> list[Any]:
    """The ``count`` cheapest delivery periods in the window, in time order."""
    if count < 1:
        raise QueryError("cheapest must be at least 1")
    cheapest = _base(zone, start, end, resolution).order_by(market_prices.c.eur_per_mwh, market_prices.c.ts)
    return sorted(connection.execute(cheapest.limit(count)), key=lambda row: row.ts)
