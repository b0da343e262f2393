"""What the forecasting pipeline reads and writes in PostgreSQL: the tenant's hourly site load,
its forecasts, and the live error of those forecasts against what was then measured."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, select, text
from sqlalchemy.dialects.postgresql import insert

from luna_core.db.schema import forecasts
from luna_core.energy.site import LOAD_KINDS

_NEWEST_HOUR_SQL = text("SELECT max(hour) FROM consumption_hourly WHERE tenant_id = :tenant")

_LOAD_SQL = text(
    """
    SELECT h.hour AS ts, sum(h.kwh) AS kwh
    FROM consumption_hourly h
    JOIN meters m ON m.tenant_id = h.tenant_id AND m.meter_id = h.meter_id
    WHERE h.tenant_id = :tenant AND m.kind = ANY(:kinds) AND h.hour >= :start AND h.hour < :end
    GROUP BY h.hour
    ORDER BY h.hour
    """
)

# An hour is measured when each load meter that reported in it has all its readings of the hour
# (4 at 15 minutes, 2 at 30, 1 at 60; a meter whose interval is not known yet counts as 15).
_LIVE_ERROR_SQL = text(
    """
    WITH actual AS (
        SELECT h.hour AS ts, sum(h.kwh) AS kwh,
               bool_and(h.samples * coalesce(m.interval_minutes, 15) >= 60) AS complete
        FROM consumption_hourly h
        JOIN meters m ON m.tenant_id = h.tenant_id AND m.meter_id = h.meter_id
        WHERE h.tenant_id = :tenant AND m.kind = ANY(:kinds) AND h.hour >= :since
        GROUP BY h.hour
    )
    SELECT avg(abs(f.kwh - a.kwh)) AS mae, count(*) AS hours
    FROM forecasts f JOIN actual a ON a.ts = f.ts
    WHERE f.tenant_id = :tenant AND f.target = :target AND f.ts >= :since AND a.complete
    """
)


def site_load(connection: Connection, tenant_id: str, start: datetime, end: datetime) -> pl.DataFrame:
    """Hourly site load (consumption + ev + heat_pump), ``ts`` UTC, ``kwh``. Run inside ``tenant_scope``."""
    rows = connection.execute(
        _LOAD_SQL, {"tenant": tenant_id, "kinds": list(LOAD_KINDS), "start": start, "end": end}
    ).all()
    return pl.DataFrame(
        {"ts": [r.ts for r in rows], "kwh": [r.kwh for r in rows]},
        schema={"ts": pl.Datetime("us", "UTC"), "kwh": pl.Float64},
    )


def newest_hour(connection: Connection, tenant_id: str) -> datetime | None:
    """The newest hour with consumption of any meter, or None before the first reading."""
    return connection.execute(_NEWEST_HOUR_SQL, {"tenant": tenant_id}).scalar_one()


def write_forecasts(
    connection: Connection, tenant_id: str, predicted: pl.DataFrame, model: str, version: str, target: str = "load"
) -> int:
    """Upserts ``ts``, ``kwh_pred``: the newest forecast of each hour wins, with its model version."""
    if predicted.is_empty():
        return 0
    rows = [
        {
            "tenant_id": tenant_id,
            "target": target,
            "ts": ts,
            "kwh": float(kwh),
            "model_name": model,
            "model_version": version,
        }
        for ts, kwh in predicted.select("ts", "kwh_pred").iter_rows()
    ]
    statement = insert(forecasts).values(rows)
    excluded = statement.excluded
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[forecasts.c.tenant_id, forecasts.c.target, forecasts.c.ts],
            set_={
                "kwh": excluded.kwh,
                "model_name": excluded.model_name,
                "model_version": excluded.model_version,
                "issued_at": text("now()"),
            },
        )
    )
    return len(rows)


def read_forecasts(
    connection: Connection, tenant_id: str, start: datetime, end: datetime, target: str = "load"
) -> list[Any]:
    """The newest forecast of each interval in [start, end), in time order, each with its model version."""
    return list(
        connection.execute(
            select(forecasts)
            .where(forecasts.c.tenant_id == tenant_id, forecasts.c.target == target)
            .where(forecasts.c.ts >= start, forecasts.c.ts < end)
            .order_by(forecasts.c.ts)
        )
    )


def live_error(
    connection: Connection, tenant_id: str, since: datetime, target: str = "load"
) -> tuple[float | None, int]:
    """MAE of stored forecasts against measured hourly load since ``since`` (complete hours only,
    by each meter's reading interval)."""
    row = connection.execute(
        _LIVE_ERROR_SQL,
        {"tenant": tenant_id, "kinds": list(LOAD_KINDS), "since": since, "target": target},
    ).one()
    return (float(row.mae) if row.mae is not None else None), int(row.hours)
