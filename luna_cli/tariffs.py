"""``luna tariffs``: a tenant's tariff versions and power limit, through the same core as the API
(``luna_core.tariffs.service``); writes are audited as ``tariff.update`` by ``cli``."""

from __future__ import annotations

from datetime import date

import typer
from pydantic import ValidationError
from rich.table import Table

from luna_cli.common import console, one_line_errors, settings_with_database

tariffs_app = typer.Typer(help="Tariffs: what each tenant pays and is paid.", no_args_is_help=True)


def _spec(**options) -> dict:
    return {key: value for key, value in options.items() if value is not None}


@tariffs_app.command("set")
@one_line_errors
def set_command(
    tenant: str = typer.Option(..., "--tenant", "-t"),
    kind: str = typer.Option(None, help="fixed | dynamic | time_of_use | feed_in (omit to set only --contracted-kw)"),
    direction: str = typer.Option("import", help="import | export"),
    valid_from: str = typer.Option(None, help="first local day YYYY-MM-DD (default: the first of this month)"),
    valid_to: str = typer.Option(None, help="first local day no longer covered"),
    name: str = typer.Option(None),
    energy_ct: float = typer.Option(None, help="fixed / time_of_use: net ct/kWh"),
    markup_ct: float = typer.Option(None, help="dynamic: net ct/kWh on top of the day-ahead price"),
    base_fee: float = typer.Option(None, help="net EUR per month"),
    demand_charge: float = typer.Option(None, help="net EUR per kW of the month's 15-minute peak"),
    grid_fee_ct: float = typer.Option(None, help="net ct/kWh (default with --german-defaults)"),
    levies_ct: float = typer.Option(None, help="net ct/kWh (default with --german-defaults)"),
    vat_pct: float = typer.Option(None, help="default 19"),
    feed_in: str = typer.Option(None, help="export: fixed | market_value"),
    feed_in_ct: float = typer.Option(None, help="export, fixed: the EEG rate, ct/kWh"),
    german_defaults: bool = typer.Option(False, help="grid fee, levies and VAT from docs/energy.md"),
    contracted_kw: float = typer.Option(None, help="the tenant's power limit (limit_breach events)"),
) -> None:
    """Store a tariff version (and/or the power limit)."""
    from luna_core import audit
    from luna_core.db.engine import app_engine
    from luna_core.db.tenancy import tenant_scope
    from luna_core.tariffs import defaults, service
    from luna_core.tariffs.models import Tariff

    versions = []
    if kind:
        first = date.fromisoformat(valid_from) if valid_from else date.today().replace(day=1)
        regulated = defaults.regulated() if german_defaults and direction == "import" else {}
        spec = regulated | _spec(
            kind=kind, direction=direction, valid_from=first, valid_to=valid_to, name=name, energy_ct_kwh=energy_ct,
            markup_ct_kwh=markup_ct, base_fee_eur_month=base_fee, demand_charge_eur_kw=demand_charge,
            grid_fee_ct_kwh=grid_fee_ct, levies_ct_kwh=levies_ct, vat_pct=vat_pct, feed_in=feed_in,
            feed_in_ct_kwh=feed_in_ct,
        )  # fmt: skip
        try:
            versions.append(Tariff(**spec))
        except ValidationError as error:
            raise ValueError("; ".join(e["msg"] for e in error.errors())) from None
    if not versions and contracted_kw is None:
        raise ValueError("give --kind (a tariff version) and/or --contracted-kw")
    with tenant_scope(app_engine(settings_with_database()), tenant) as connection:
        detail = service.set_tariffs(connection, tenant, versions, "cli", contracted_kw)
        audit.record(connection, tenant_id=tenant, actor="cli", action="tariff.update", detail=detail)
    console.print(f"{tenant}: stored {', '.join(detail['versions']) or 'the power limit'}")


def _energy(t) -> str:
    if t.kind == "dynamic":
        return f"spot + {t.markup_ct_kwh:g} ct"
    if t.kind == "feed_in":
        return f"{t.feed_in_ct_kwh:g} ct" if t.feed_in == "fixed" else "market value"
    return f"{t.energy_ct_kwh:g} ct" + (f", {len(t.windows)} windows" if t.windows else "")


@tariffs_app.command("show")
@one_line_errors
def show_command(tenant: str = typer.Option(..., "--tenant", "-t")) -> None:
    """The tenant's tariff versions and power limit."""
    from luna_core.db.engine import app_engine
    from luna_core.db.tenancy import tenant_scope
    from luna_core.tariffs import service, store

    with tenant_scope(app_engine(settings_with_database()), tenant) as connection:
        found = service.tenant_tariffs(connection, tenant)
        limit = store.contracted_kw(connection, tenant)
    table = Table("direction", "kind", "valid", "energy", "base EUR/month", "demand EUR/kW", "fees+levies", "VAT %")
    for t in [*found.imports, *found.exports]:
        energy = _energy(t)
        table.add_row(
            t.direction, t.kind, f"{t.valid_from} - {t.valid_to or 'open'}", energy, f"{t.base_fee_eur_month:g}",
            f"{t.demand_charge_eur_kw:g}", f"{t.per_kwh_extras_ct:g} ct", f"{t.vat_pct:g}",
        )  # fmt: skip
    console.print(table)
    basis = "tariff" if found.imports else "wholesale only (no import tariff set)"
    console.print(f"cost basis: {basis}; contracted limit: {f'{limit:g} kW' if limit else 'none'}")
