"""Helpers for the tariff tests: readings and day-ahead prices written through the real ingest and
market store, and tariffs put through the core service."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from luna_core.db.tenancy import tenant_scope
from luna_core.ingest import ingest_records
from luna_core.market.store import upsert_prices
from luna_core.tariffs import store
from luna_core.tariffs.models import Tariff

BERLIN = ZoneInfo("Europe/Berlin")
QUARTER = timedelta(minutes=15)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN).astimezone(UTC)


def quarters(start: datetime, end: datetime) -> list[datetime]:
    return [start + i * QUARTER for i in range(int((end - start) / QUARTER))]


def ingest(engine, tenant: str, meter: str, start: datetime, end: datetime, kwh: Callable[[datetime], float | None]):
    rows = []
    for ts in quarters(start, end):
        value = kwh(ts)
        if value is not None:
            rows.append({"meter_id": meter, "ts": ts.isoformat(), "kwh": str(value)})
    for chunk in range(0, len(rows), 20_000):
        ingest_records(engine, tenant, rows[chunk : chunk + 20_000], source="http", source_ref=uuid.uuid4().hex)


def hourly_prices(engine, zone: str, start: datetime, end: datetime, eur: Callable[[datetime], float]) -> None:
    hours = [start + timedelta(hours=h) for h in range(int((end - start) / timedelta(hours=1)))]
    frame = pl.DataFrame(
        {
            "zone": [zone] * len(hours),
            "ts": hours,
            "resolution_minutes": [60] * len(hours),
            "eur_per_mwh": [float(eur(h)) for h in hours],
            "source": ["test"] * len(hours),
        },
        schema_overrides={"resolution_minutes": pl.Int16},
    )
    with engine.begin() as connection:
        upsert_prices(connection, frame)


def put(engine, tenant: str, **spec) -> Tariff:
    tariff = Tariff(**spec)
    with tenant_scope(engine, tenant) as connection:
        return store.put_version(connection, tenant, tariff, "test")


def unique_zone() -> str:
    return f"Z-{uuid.uuid4().hex[:8]}"
