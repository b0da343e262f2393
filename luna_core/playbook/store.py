"""Schedules and recommendations of a tenant-day in PostgreSQL: replaced whole on each run (a day's
plan is one decision), read back for the API. Run inside ``tenant_scope``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, func, insert, select

from luna_core.db.schema import playbook_recommendations, playbook_schedules
from luna_core.playbook.optimizer import Plan
from luna_core.playbook.recommendations import DayPlan
from luna_core.tenants import get_tenant


def plan_slots(plan: Plan) -> list[dict[str, Any]]:
    return [
        {
            "start": start.isoformat(),
            "price_eur_mwh": round(float(price), 2),
            "baseline_kw": round(float(base), 4),
            "optimised_kw": round(float(kw), 4),
            "device": plan.device,
        }
        for start, price, base, kw in zip(
            plan.curve.starts, plan.curve.eur_per_mwh, plan.baseline_kw, plan.optimised_kw, strict=True
        )
    ]


def write_day(connection: Connection, tenant_id: str, day: date, result: DayPlan) -> None:
    connection.execute(
        delete(playbook_schedules).where(playbook_schedules.c.tenant_id == tenant_id, playbook_schedules.c.day == day)
    )
    connection.execute(
        delete(playbook_recommendations).where(
            playbook_recommendations.c.tenant_id == tenant_id, playbook_recommendations.c.day == day
        )
    )
    if result.plans:
        connection.execute(
            insert(playbook_schedules),
            [
                {
                    "tenant_id": tenant_id,
                    "day": day,
                    "device": p.plan.device,
                    "kind": p.plan.kind,
                    "rule_id": p.rule_id,
                    "resolution_minutes": round(p.plan.curve.hours * 60),
                    "slots": plan_slots(p.plan),
                    "naive_cost_eur": p.plan.naive_cost_eur,
                    "optimised_cost_eur": p.plan.optimised_cost_eur,
                }
                for p in result.plans
            ],
        )
    if result.recommendations:
        connection.execute(
            insert(playbook_recommendations),
            [{"tenant_id": tenant_id, "day": day, **vars(r)} for r in result.recommendations],
        )


def read_schedule(connection: Connection, tenant_id: str, day: date) -> list[Any]:
    return list(
        connection.execute(
            select(playbook_schedules)
            .where(playbook_schedules.c.tenant_id == tenant_id, playbook_schedules.c.day == day)
            .order_by(playbook_schedules.c.device)
        )
    )


def read_recommendations(connection: Connection, tenant_id: str, day: date) -> list[Any]:
    return list(
        connection.execute(
            select(playbook_recommendations)
            .where(playbook_recommendations.c.tenant_id == tenant_id, playbook_recommendations.c.day == day)
            .order_by(playbook_recommendations.c.starts_at.nulls_last(), playbook_recommendations.c.id)
        )
    )


def current_day(
    connection: Connection, tenant_id: str, what: Literal["recommendations", "schedule"], now: datetime | None = None
) -> date:
    """The tenant-local day whose plan matters at ``now`` (default: this moment): tomorrow once it has
    ``what`` stored (its day-ahead prices are out and the playbook ran), else today."""
    timezone = get_tenant(connection, tenant_id).timezone
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()
    table = playbook_recommendations if what == "recommendations" else playbook_schedules
    tomorrow = today + timedelta(days=1)
    planned = connection.execute(
        select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id, table.c.day == tomorrow)
    ).scalar_one()
    return tomorrow if planned else today
