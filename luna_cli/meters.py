"""``luna meters``: a tenant's meters, their power limit and reading interval."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from luna_cli.common import console, one_line_errors, settings_with_database

meters_app = typer.Typer(help="A tenant's meters: power limit and reading interval.", no_args_is_help=True)


@meters_app.command("set")
@one_line_errors
def meters_set(
    tenant: str = typer.Argument(..., help="Tenant id."),
    meter_id: str = typer.Argument(..., help="Meter id."),
    interval: int | None = typer.Option(None, "--interval", help="Reading interval in minutes: 15, 30 or 60."),
    max_kw: float | None = typer.Option(None, "--max-kw", help="Physical power limit in kW (spike check)."),
    kind: str | None = typer.Option(None, help="Kind of a new meter: consumption, pv, ev, heat_pump, battery."),
) -> None:
    """Create a meter, or change its reading interval or power limit."""
    from luna_core.db.engine import app_engine
    from luna_core.db.tenancy import tenant_scope
    from luna_core.tenants import MeterDef, fetch_tenant, update_meter, upsert_meters

    engine = app_engine(settings_with_database())
    fetch_tenant(engine, tenant)
    with tenant_scope(engine, tenant) as connection:
        meter = update_meter(connection, tenant, meter_id, interval_minutes=interval, max_kw=max_kw)
    if meter is None:
        if kind is None or max_kw is None:
            raise ValueError(f"meter {meter_id!r} does not exist yet; give --kind and --max-kw to create it")
        upsert_meters(engine, tenant, [MeterDef(meter_id, kind, max_kw, interval)])
    elif kind is not None and kind != meter.kind:
        raise ValueError(f"meter {meter_id!r} exists as {meter.kind}; its kind cannot be changed here")
    console.print(f"meter {meter_id} of {tenant} {'updated' if meter else 'created'}")


@meters_app.command("list")
@one_line_errors
def meters_list(tenant: str = typer.Argument(..., help="Tenant id.")) -> None:
    """List a tenant's meters with their power limit and reading interval."""
    from luna_core.db.engine import app_engine
    from luna_core.db.tenancy import tenant_scope
    from luna_core.energy.queries import list_meters
    from luna_core.tenants import fetch_tenant

    engine = app_engine(settings_with_database())
    fetch_tenant(engine, tenant)
    table = Table("meter", "kind", "max_kw", "interval")
    with tenant_scope(engine, tenant) as connection:
        for m in list_meters(connection, tenant):
            interval = f"{m.interval_minutes} min" if m.interval_minutes else "not known yet"
            table.add_row(m.meter_id, m.kind, f"{m.max_kw:g}", interval)
    Console().print(table)
