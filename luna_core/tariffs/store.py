"""SQL of tariffs, limits, events and the usage they price. Run inside ``tenant_scope`` (RLS)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from luna_core.db.schema import events, meters, tariffs, tenant_limits
from luna_core.energy.site import site_load_sql
from luna_core.tariffs.bills import Usage
from luna_core.tariffs.models import Tariff
from luna_core.tariffs.pricing import Slots
from luna_core.tariffs.shifting import Flexible

# Grid flows per quarter-hour: each reading spread evenly over the quarter-hours of its meter's
# interval (a 60-minute reading is four quarters of a quarter of it); import = load above PV,
# export = PV above load, as the bidirectional meter at the grid connection counts them.
_USAGE_SQL = text(
    f"""
    WITH flows AS (
        SELECT q AS ts,
               sum(r.kwh / (coalesce(m.interval_minutes, 15) / 15))
                   FILTER (WHERE {site_load_sql()}) AS load_kwh,
               sum(r.kwh / (coalesce(m.interval_minutes, 15) / 15)) FILTER (WHERE m.kind = 'pv') AS pv_kwh
        FROM meter_readings r
        JOIN meters m ON m.tenant_id = r.tenant_id AND m.meter_id = r.meter_id
        CROSS JOIN LATERAL generate_series(
            r.ts, r.ts + make_interval(mins => coalesce(m.interval_minutes, 15) - 15), interval '15 minutes'
        ) AS q
        WHERE r.tenant_id = :tenant AND r.ts >= :start - interval '45 minutes' AND r.ts < :end
        GROUP BY 1
    )
    SELECT ts AT TIME ZONE 'UTC' AS ts,
           greatest(coalesce(load_kwh, 0) - coalesce(pv_kwh, 0), 0) AS import_kwh,
           greatest(coalesce(pv_kwh, 0) - coalesce(load_kwh, 0), 0) AS export_kwh
    FROM flows WHERE ts >= :start AND ts < :end ORDER BY 1
    """
)

# One meter's energy per quarter-hour (its readings spread as above), as "import" to price it.
_METER_USAGE_SQL = text(
    """
    SELECT q AT TIME ZONE 'UTC' AS ts, sum(r.kwh / (coalesce(m.interval_minutes, 15) / 15)) AS import_kwh,
           0.0 AS export_kwh
    FROM meter_readings r
    JOIN meters m ON m.tenant_id = r.tenant_id AND m.meter_id = r.meter_id
    CROSS JOIN LATERAL generate_series(
        r.ts, r.ts + make_interval(mins => coalesce(m.interval_minutes, 15) - 15), interval '15 minutes'
    ) AS q
    WHERE r.tenant_id = :tenant AND r.meter_id = :meter AND r.ts >= :start - interval '45 minutes' AND r.ts < :end
      AND q >= :start AND q < :end
    GROUP BY 1 ORDER BY 1
    """
)

# The flexible meters' (EV chargers, heat pumps) energy per quarter-hour, spread as above.
_FLEXIBLE_SQL = text(
    """
    SELECT q AT TIME ZONE 'UTC' AS ts, sum(r.kwh / (coalesce(m.interval_minutes, 15) / 15)) AS kwh
    FROM meter_readings r
    JOIN meters m ON m.tenant_id = r.tenant_id AND m.meter_id = r.meter_id
    CROSS JOIN LATERAL generate_series(
        r.ts, r.ts + make_interval(mins => coalesce(m.interval_minutes, 15) - 15), interval '15 minutes'
    ) AS q
    WHERE r.tenant_id = :tenant AND m.kind IN ('ev', 'heat_pump')
      AND r.ts >= :start - interval '45 minutes' AND r.ts < :end AND q >= :start AND q < :end
    GROUP BY 1 ORDER BY 1
    """
)

_PRICES_SQL = text(
    """
    SELECT resolution_minutes, ts AT TIME ZONE 'UTC' AS ts, eur_per_mwh FROM market_prices
    WHERE zone = :zone AND ts >= :start - interval '1 hour' AND ts < :end
    """
)


def versions(connection: Connection, tenant_id: str, direction: str | None = None) -> list[Tariff]:
    query = select(tariffs.c.spec).where(tariffs.c.tenant_id == tenant_id).order_by(tariffs.c.valid_from)
    if direction:
        query = query.where(tariffs.c.direction == direction)
    return [Tariff.model_validate(spec) for spec in connection.execute(query).scalars()]


def put_version(connection: Connection, tenant_id: str, tariff: Tariff, actor: str | None) -> Tariff:
    """Stores a version: the open earlier one of the same direction ends where it starts, one from
    the same day is replaced, and it ends where a later one starts."""
    same = (tariffs.c.tenant_id == tenant_id, tariffs.c.direction == tariff.direction)
    later = connection.execute(
        select(tariffs.c.valid_from)
        .where(*same, tariffs.c.valid_from > tariff.valid_from)
        .order_by(tariffs.c.valid_from)
    ).scalar()
    if later is not None and (tariff.valid_to is None or tariff.valid_to > later):
        tariff = tariff.model_copy(update={"valid_to": later})
    earlier = (*same, tariffs.c.valid_from < tariff.valid_from)
    for row in connection.execute(
        select(tariffs.c.id, tariffs.c.spec).where(
            *earlier, (tariffs.c.valid_to.is_(None)) | (tariffs.c.valid_to > tariff.valid_from)
        )
    ):
        spec = Tariff.model_validate(row.spec).model_copy(update={"valid_to": tariff.valid_from})
        connection.execute(
            update(tariffs)
            .where(tariffs.c.id == row.id)
            .values(valid_to=tariff.valid_from, spec=spec.model_dump(mode="json"))
        )
    connection.execute(delete(tariffs).where(*same, tariffs.c.valid_from == tariff.valid_from))
    connection.execute(
        insert(tariffs).values(
            tenant_id=tenant_id,
            direction=tariff.direction,
            kind=tariff.kind,
            valid_from=tariff.valid_from,
            valid_to=tariff.valid_to,
            spec=tariff.model_dump(mode="json"),
            created_by=actor,
        )
    )
    return tariff


def contracted_kw(connection: Connection, tenant_id: str) -> float | None:
    return connection.execute(
        select(tenant_limits.c.contracted_kw).where(tenant_limits.c.tenant_id == tenant_id)
    ).scalar()


def set_contracted_kw(connection: Connection, tenant_id: str, kw: float | None, actor: str | None) -> None:
    if kw is None:
        connection.execute(delete(tenant_limits).where(tenant_limits.c.tenant_id == tenant_id))
        return
    statement = insert(tenant_limits).values(tenant_id=tenant_id, contracted_kw=kw, updated_by=actor)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[tenant_limits.c.tenant_id],
            set_={"contracted_kw": kw, "updated_by": actor, "updated_at": text("now()")},
        )
    )


def usage(
    connection: Connection, tenant_id: str, slots: Slots, start: datetime, end: datetime, meter_id: str | None = None
) -> Usage:
    """Grid import and export per slot, or with ``meter_id`` that meter's energy as import."""
    params = {"tenant": tenant_id, "start": start, "end": end, "meter": meter_id}
    rows = connection.execute(_METER_USAGE_SQL if meter_id else _USAGE_SQL, params).all()
    imports, exports, has_data = np.zeros(len(slots)), np.zeros(len(slots)), np.zeros(len(slots), dtype=bool)
    if rows:
        ts = np.array([r.ts for r in rows], dtype="datetime64[us]")
        at = np.searchsorted(slots.ts, ts)
        imports[at] = [r.import_kwh for r in rows]
        exports[at] = [r.export_kwh for r in rows]
        has_data[at] = True
    return Usage(slots, imports, exports, has_data)


def flexible(connection: Connection, tenant_id: str, slots: Slots, start: datetime, end: datetime) -> Flexible:
    kwh = np.zeros(len(slots))
    rows = connection.execute(_FLEXIBLE_SQL, {"tenant": tenant_id, "start": start, "end": end}).all()
    if rows:
        kwh[np.searchsorted(slots.ts, np.array([r.ts for r in rows], dtype="datetime64[us]"))] = [r.kwh for r in rows]
    max_kw = connection.execute(
        select(func.coalesce(func.sum(meters.c.max_kw), 0.0)).where(
            meters.c.tenant_id == tenant_id, meters.c.kind.in_(("ev", "heat_pump"))
        )
    ).scalar_one()
    return Flexible(kwh, float(max_kw))


def prices(
    connection: Connection, zone: str, start: datetime, end: datetime
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Day-ahead prices by resolution (15, 60): (UTC timestamps, EUR/MWh)."""
    found: dict[int, tuple[list, list]] = {15: ([], []), 60: ([], [])}
    for resolution, ts, eur in connection.execute(_PRICES_SQL, {"zone": zone, "start": start, "end": end}):
        found[resolution][0].append(ts)
        found[resolution][1].append(eur)
    return {r: (np.array(t, dtype="datetime64[us]"), np.array(v, dtype=float)) for r, (t, v) in found.items()}


def record_events(connection: Connection, tenant_id: str, rows: list[dict[str, Any]]) -> int:
    """Inserts events not recorded before (events_once); returns how many were new."""
    if not rows:
        return 0
    statement = insert(events).values([{"tenant_id": tenant_id, **row} for row in rows]).on_conflict_do_nothing()
    return len(connection.execute(statement.returning(events.c.id)).all())


def list_events(
    connection: Connection, tenant_id: str, start: datetime, end: datetime, kind: str | None, limit: int, offset: int
) -> list[Any]:
    query = (
        select(events)
        .where(events.c.tenant_id == tenant_id, events.c.ts >= start, events.c.ts < end)
        .order_by(events.c.ts.desc(), events.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if kind:
        query = query.where(events.c.kind == kind)
    return list(connection.execute(query))
