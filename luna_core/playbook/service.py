"""One tenant-day of the playbook, end to end: read the inputs, apply the enabled rules, store the
schedule, the recommendations and the ledger, and settle finished days. The Dagster asset and
``luna playbook schedule`` both call ``run_day``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from luna_core.db.tenancy import tenant_scope
from luna_core.playbook.inputs import NoPrices, day_curve, load_day
from luna_core.playbook.recommendations import DayPlan, plan_day
from luna_core.playbook.rules import list_rules
from luna_core.playbook.savings import record_plans, settle
from luna_core.playbook.store import write_day
from luna_core.tenants import get_tenant


@dataclass
class DayRun:
    tenant_id: str
    day: date
    planned: bool
    reason: str | None = None
    result: DayPlan = field(default_factory=DayPlan)
    rules: int = 0
    settled: int = 0

    @property
    def naive_eur(self) -> float:
        return sum(p.plan.naive_cost_eur for p in self.result.plans)

    @property
    def optimised_eur(self) -> float:
        return sum(p.plan.optimised_cost_eur for p in self.result.plans)


def default_day(connection: Connection, tenant_id: str, now: datetime | None = None) -> date:
    """Tomorrow once its day-ahead prices are published, else today (tenant-local)."""
    tenant = get_tenant(connection, tenant_id)
    zone, timezone = tenant.zone, tenant.timezone
    today = (now or datetime.now(ZoneInfo(timezone))).astimezone(ZoneInfo(timezone)).date()
    try:
        day_curve(connection, zone, today + timedelta(days=1), timezone)
        return today + timedelta(days=1)
    except NoPrices:
        return today


def run_day(engine: Engine, tenant_id: str, day: date | None = None, *, settle_days: int = 14) -> DayRun:
    """Plans ``day`` (default: ``default_day``) for the tenant in one transaction."""
    with tenant_scope(engine, tenant_id) as connection:
        day = day or default_day(connection, tenant_id)
        timezone = get_tenant(connection, tenant_id).timezone
        today = datetime.now(ZoneInfo(timezone)).date()
        rules = list_rules(connection, tenant_id, enabled_only=True)
        run = DayRun(tenant_id, day, planned=False, rules=len(rules))
        try:
            inputs = load_day(connection, tenant_id, day)
        except NoPrices as error:
            run.reason = str(error)
        else:
            run.result = plan_day(inputs, rules)
            write_day(connection, tenant_id, day, run.result)
            record_plans(connection, tenant_id, day, run.result.plans)
            run.planned = True
        run.settled = settle(
            connection, tenant_id, timezone, before=min(today, day + timedelta(days=1)), lookback_days=settle_days
        )
    return run
