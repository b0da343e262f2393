"""Plain answers for Luna, the chat assistant: "when should I charge the car tomorrow?".

``cheapest_charging_window`` runs the same optimiser as the schedules, with the charging kept in one
block (a window is what people want to hear), on the stored day-ahead prices of the tenant's zone.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from luna_core.playbook.inputs import DayInputs, day_curve
from luna_core.playbook.optimizer import EvRequest, Infeasible, optimise
from luna_core.playbook.rules import list_rules
from luna_core.playbook.strategies import EvParams
from luna_core.tenants import get_tenant


class ChargingAdvice(NamedTuple):
    start: datetime  # tenant-local, with offset
    end: datetime
    cost_eur: float
    saving_eur: float  # against charging at full power from the start of the window


def cheapest_charging_window(
    connection: Connection,
    tenant_id: str,
    day: date,
    energy_kwh: float,
    power_kw: float,
    *,
    earliest: str = "00:00",
    latest: str | None = None,
) -> ChargingAdvice:
    """The cheapest single block on the tenant-local ``day`` (between ``earliest`` and ``latest``,
    local HH:MM) that charges ``energy_kwh`` at up to ``power_kw``.

    Run inside ``tenant_scope``. Raises ``NoPrices`` when the day's auction result is not stored yet
    and ``Infeasible`` (with the reason) when the energy does not fit into the window."""
    tenant = get_tenant(connection, tenant_id)
    zone, timezone = tenant.zone, tenant.timezone
    curve = day_curve(connection, zone, day, timezone)
    frame = DayInputs(tenant_id, timezone, zone, day, curve, None, [])  # type: ignore[arg-type]
    try:
        arrival = frame.slot_at(earliest)
        deadline = frame.slot_at(latest) if latest else len(curve)
    except ValueError:
        raise Infeasible(f"earliest and latest are local times HH:MM, got {earliest!r} and {latest!r}") from None
    plan = optimise(
        EvRequest(energy_kwh=energy_kwh, power_kw=power_kw, arrival=arrival, deadline=deadline, contiguous=True),
        curve,
    )
    first, last = plan.active_window() or (arrival, arrival)
    local = ZoneInfo(timezone)
    return ChargingAdvice(
        start=frame.slot_start(first).astimezone(local),
        end=frame.slot_start(last).astimezone(local),
        cost_eur=round(plan.optimised_cost_eur, 2),
        saving_eur=round(plan.saving_eur, 2),
    )


def ev_rule_window(connection: Connection, tenant_id: str) -> tuple[str, str] | None:
    """Arrival and deadline (local HH:MM) of the tenant's first enabled EV charging rule whose
    deadline falls on the same day; None without one (an overnight deadline spans two days)."""
    for rule in list_rules(connection, tenant_id, enabled_only=True):
        if rule.strategy == "ev_cheapest_window":
            params = EvParams.model_validate(rule.params)
            if params.deadline > params.arrival:
                return params.arrival, params.deadline
    return None
