"""Live data for Luna's tests, written through the platform's own paths (ingest, price upsert,
forecast store): readings for the days before ``now``, prices and a forecast for the next day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Engine

from luna_core.db.tenancy import tenant_scope
from luna_core.forecasting.store import write_forecasts
from luna_core.ingest import ingest_records
from luna_core.market.store import upsert_prices

BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Seeded:
    tenant_id: str
    zone: str
    tomorrow_start: datetime
    forecast_total: float
    cheapest_price: float


def seed(engine: Engine, tenant_id: str, zone: str, now: datetime, days: int = 16, scale: float = 1.0) -> Seeded:
    today = now.astimezone(BERLIN).date()
    start = datetime(today.year, today.month, today.day, tzinfo=BERLIN) - timedelta(days=days)
    end = now - timedelta(minutes=30)
    rows = []
    ts, i = start, 0
    while ts < end:
        kwh = scale * (0.25 + (i % 7) * 0.1 + (i % 96) / 200)
        rows.append({"meter_id": "main", "ts": ts.astimezone(ZoneInfo("UTC")).isoformat(), "kwh": f"{kwh:.4f}"})
        ts += timedelta(minutes=15)
        i += 1
    result = ingest_records(engine, tenant_id, rows, source="http", source_ref=f"luna-seed-{now.isoformat()}")
    assert result.rows_quarantined == 0, result.reasons

    tomorrow = today + timedelta(days=1)
    tomorrow_start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=BERLIN)
    # Hourly prices over the readings and tomorrow; tomorrow's cheapest hour is a dip at 14:00.
    count = 24 * (days + 2)
    hours = [start + timedelta(hours=h) for h in range(count)]
    prices = [
        80.0 + 30 * ((h * 7) % 24) / 24 - (25.0 if at == tomorrow_start + timedelta(hours=14) else 0.0)
        for h, at in enumerate(hours)
    ]
    frame = pl.DataFrame(
        {
            "zone": [zone] * count,
            "ts": [h.astimezone(ZoneInfo("UTC")) for h in hours],
            "resolution_minutes": [60] * count,
            "eur_per_mwh": prices,
            "source": ["test"] * count,
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC"), "resolution_minutes": pl.Int16},
    )
    with engine.begin() as connection:
        upsert_prices(connection, frame)

    forecast_hours = [tomorrow_start + timedelta(hours=h) for h in range(24)]
    forecast = pl.DataFrame(
        {
            "ts": [h.astimezone(ZoneInfo("UTC")) for h in forecast_hours],
            "kwh_pred": [scale * (2 + h % 5) for h in range(24)],
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC")},
    )
    with tenant_scope(engine, tenant_id) as connection:
        write_forecasts(connection, tenant_id, forecast, f"luna-{tenant_id}-load", "3")
    tomorrow_prices = [p for at, p in zip(hours, prices, strict=True) if at >= tomorrow_start]
    return Seeded(tenant_id, zone, tomorrow_start, float(forecast["kwh_pred"].sum()), min(tomorrow_prices))


def seed_ev(
    engine: Engine, tenant_id: str, now: datetime, meter_id: str = "ev", kw: float = 11.0, days: int = 16
) -> dict:
    """Evening charging on the EV meter for the ``days`` local days before ``now``'s day: quarter-hours
    17:00-21:00, of which 2-5 draw ``kw`` and the rest nothing; on the days more than 14 days back all
    16 draw, so an average over more than the last 14 days shows. Returns kWh per local day."""
    today = now.astimezone(BERLIN).date()
    rows, per_day = [], {}
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        evening = datetime(day.year, day.month, day.day, 17, tzinfo=BERLIN)
        charging = 16 if back > 14 else 2 + back % 4
        total = 0.0
        for q in range(16):
            kwh = kw / 4 if q < charging else 0.0
            total += kwh
            ts = (evening + timedelta(minutes=15 * q)).astimezone(ZoneInfo("UTC"))
            rows.append({"meter_id": meter_id, "ts": ts.isoformat(), "kwh": f"{kwh:.4f}"})
        per_day[day] = total
    result = ingest_records(engine, tenant_id, rows, source="http", source_ref=f"luna-ev-seed-{now.isoformat()}")
    assert result.rows_quarantined == 0, result.reasons
    return per_day
