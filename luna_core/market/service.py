"""Refreshing day-ahead prices from the configured source: incremental, or a backfill by date range.

Used by the ``day_ahead_prices`` asset and by ``luna sources backfill-prices``; both only call this.
Each zone is fetched on its own and written in one transaction, so one zone's failure does not hold back
the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl
from sqlalchemy import Engine

from luna_core.ingest.errors import IngestError
from luna_core.market.auction import MARKET_TZ, last_published_day, market_today
from luna_core.market.sources import PriceSource
from luna_core.market.store import latest_price_day, replace_prices


@dataclass
class ZoneRefresh:
    zone: str
    start: date
    end: date
    fetched: int = 0
    written: int = 0
    deleted: int = 0
    missing_days: list[date] = field(default_factory=list)
    error: str | None = None


@dataclass
class PriceRefresh:
    source: str
    end: date
    zones: list[ZoneRefresh] = field(default_factory=list)

    @property
    def failed(self) -> dict[str, str]:
        return {z.zone: z.error for z in self.zones if z.error}


def refresh_prices(
    engine: Engine,
    source: PriceSource,
    zones: list[str],
    *,
    start: date | None = None,
    end: date | None = None,
    history_days: int = 120,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PriceRefresh:
    """Fetches each zone from ``start`` (default: its newest stored day, or ``history_days`` back) to ``end``
    (default: the last published day) and stores it with ``replace_prices``; ``dry_run`` stores nothing."""
    now = now or datetime.now(MARKET_TZ)
    today = market_today(now)
    end = end or last_published_day(now)
    refresh = PriceRefresh(source.name, end)
    for zone in zones:
        with engine.connect() as connection:
            latest = latest_price_day(connection, zone)
        first = start or (today - timedelta(days=history_days) if latest is None else min(latest, today))
        outcome = ZoneRefresh(zone, first, end)
        refresh.zones.append(outcome)
        if first > end:
            outcome.error = f"start {first} is after end {end}"
            continue
        try:  # outside any transaction: a source may take its time (retries after HTTP 429)
            prices = source.fetch(zone, first, end)
        except (IngestError, ValueError) as error:
            outcome.error = str(error)
            continue
        outcome.fetched = prices.height
        outcome.missing_days = list(getattr(source, "missing_days", []))
        if not dry_run:
            with engine.begin() as connection:
                outcome.written, outcome.deleted = replace_prices(connection, prices)
    return refresh


def preview(source: PriceSource, zone: str, start: date, end: date) -> pl.DataFrame:
    """What a source would deliver for these days, without storing anything (``luna sources dry-run``)."""
    return source.fetch(zone, start, end)
