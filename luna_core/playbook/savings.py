"""The savings ledger: per tenant, day and device, the naive and the optimised plan's cost on the
same prices, and once the day is over what was actually realised according to the device's meter.

Realised saving = actual energy x the naive plan's mean price - actual cost at day-ahead prices:
what the energy the device really drew would have cost used the naive way, minus what it cost used
the way it really was. It is about zero when nobody followed the plan, and equals the planned saving
when the device ran exactly as planned. Batteries stay unsettled (``realised_eur`` null): their meter
registers only what flows in, not what flows out. Run inside ``tenant_scope``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, delete, func, insert, select, text, update

from luna_core.db.schema import meters, playbook_savings, playbook_schedules
from luna_core.playbook.inputs import day_bounds
from luna_core.playbook.recommendations import DevicePlan

SETTLED_KINDS = ("ev", "heat_pump")
MIN_COVERAGE = 0.9  # share of a day's reading intervals the meter must have reported

_ACTUAL_SQL = text(
    """
    SELECT date_trunc('hour', ts, 'UTC') AS slot, sum(kwh) AS kwh, count(*) AS readings
    FROM meter_readings
    WHERE tenant_id = :tenant AND meter_id = :meter AND ts >= :start AND ts < :end
    GROUP BY 1
    """
)


def record_plans(connection: Connection, tenant_id: str, day: date, plans: list[DevicePlan]) -> None:
    """The day's ledger rows, replaced: a re-planned day is settled again."""
    connection.execute(
        delete(playbook_savings).where(playbook_savings.c.tenant_id == tenant_id, playbook_savings.c.day == day)
    )
    if plans:
        connection.execute(
            insert(playbook_savings),
            [
                {
                    "tenant_id": tenant_id,
                    "day": day,
                    "device": p.plan.device,
                    "kind": p.plan.kind,
                    "naive_eur": p.plan.naive_cost_eur,
                    "optimised_eur": p.plan.optimised_cost_eur,
                    "planned_kwh": p.plan.naive_kwh,
                }
                for p in plans
            ],
        )


def settle(connection: Connection, tenant_id: str, timezone: str, before: date, lookback_days: int = 14) -> int:
    """Fills in the realised saving of finished days whose device readings are complete; returns
    how many ledger rows were settled."""
    rows = connection.execute(
        select(playbook_savings.c.day, playbook_savings.c.device, playbook_schedules.c.slots)
        .join(
            playbook_schedules,
            (playbook_schedules.c.tenant_id == playbook_savings.c.tenant_id)
            & (playbook_schedules.c.day == playbook_savings.c.day)
            & (playbook_schedules.c.device == playbook_savings.c.device),
        )
        .where(
            playbook_savings.c.tenant_id == tenant_id,
            playbook_savings.c.settled_at.is_(None),
            playbook_savings.c.kind.in_(SETTLED_KINDS),
            playbook_savings.c.day < before,
            playbook_savings.c.day >= before - timedelta(days=lookback_days),
        )
    ).all()
    settled = 0
    for row in rows:
        outcome = realised(connection, tenant_id, timezone, row.day, row.device, row.slots)
        if outcome is None:
            continue
        actual_kwh, actual_eur, realised_eur = outcome
        connection.execute(
            update(playbook_savings)
            .where(
                playbook_savings.c.tenant_id == tenant_id,
                playbook_savings.c.day == row.day,
                playbook_savings.c.device == row.device,
            )
            .values(
                actual_kwh=actual_kwh,
                actual_eur=actual_eur,
                realised_eur=realised_eur,
                settled_at=func.now(),
                updated_at=func.now(),
            )
        )
        settled += 1
    return settled


def realised(
    connection: Connection, tenant_id: str, timezone: str, day: date, device: str, slots: list[dict[str, Any]]
) -> tuple[float, float, float] | None:
    """(actual kWh, actual EUR, realised saving EUR) of a device-day, None while readings are missing."""
    start, end = day_bounds(day, timezone)
    actual = {
        r.slot: (r.kwh, r.readings)
        for r in connection.execute(_ACTUAL_SQL, {"tenant": tenant_id, "meter": device, "start": start, "end": end})
    }
    interval = connection.execute(
        select(meters.c.interval_minutes).where(meters.c.tenant_id == tenant_id, meters.c.meter_id == device)
    ).scalar_one_or_none()
    expected = (end - start).total_seconds() / (60 * (interval or 15))
    if sum(n for _, n in actual.values()) < MIN_COVERAGE * expected:
        return None
    price = {datetime.fromisoformat(s["start"]): s["price_eur_mwh"] / 1000.0 for s in slots}
    naive_kwh = sum(s["baseline_kw"] for s in slots)
    naive_eur = sum(s["baseline_kw"] * s["price_eur_mwh"] / 1000.0 for s in slots)
    actual_kwh = sum(kwh for kwh, _ in actual.values())
    actual_eur = sum(kwh * price.get(slot, 0.0) for slot, (kwh, _) in actual.items())
    naive_price = naive_eur / naive_kwh if naive_kwh > 0 else 0.0
    return actual_kwh, actual_eur, actual_kwh * naive_price - actual_eur


def savings(
    connection: Connection,
    tenant_id: str,
    granularity: Literal["day", "month"] = "day",
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    """Ledger totals per day or calendar month (tenant-local days), oldest first."""
    if granularity not in ("day", "month"):
        raise ValueError("granularity must be day or month")
    period = (
        playbook_savings.c.day
        if granularity == "day"
        else func.cast(func.date_trunc("month", playbook_savings.c.day), playbook_savings.c.day.type)
    )
    query = (
        select(
            period.label("period"),
            func.sum(playbook_savings.c.naive_eur).label("naive_eur"),
            func.sum(playbook_savings.c.optimised_eur).label("optimised_eur"),
            func.sum(playbook_savings.c.realised_eur).label("realised_eur"),
        )
        .where(playbook_savings.c.tenant_id == tenant_id)
        .group_by(period)
        .order_by(period)
    )
    if start is not None:
        query = query.where(playbook_savings.c.day >= start)
    if end is not None:
        query = query.where(playbook_savings.c.day <= end)
    return [
        {
            "period": row.period,
            "naive_eur": float(row.naive_eur),
            "optimised_eur": float(row.optimised_eur),
            "saving_eur": float(row.naive_eur - row.optimised_eur),
            "realised_eur": None if row.realised_eur is None else float(row.realised_eur),
        }
        for row in connection.execute(query)
    ]
