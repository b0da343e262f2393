"""``luna playbook``: what-if plans and a tenant's day plan from the command line, through the same
core as the API (``luna_core.playbook.simulate``) and the Dagster asset (``luna_core.playbook.service``)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import typer
from pydantic import TypeAdapter, ValidationError
from rich.table import Table

from luna_cli.common import console, one_line_errors, settings_with_database

playbook_app = typer.Typer(help="Price-aware schedules for EVs, heat pumps and batteries.", no_args_is_help=True)


def _plan_table(plan, timezone: str) -> Table:
    table = Table("start", "EUR/MWh", "naive kW", "optimised kW", title=f"{plan.device} ({plan.kind})")
    zone = ZoneInfo(timezone)
    for start, price, base, kw in zip(
        plan.curve.starts, plan.curve.eur_per_mwh, plan.baseline_kw, plan.optimised_kw, strict=True
    ):
        table.add_row(start.astimezone(zone).strftime("%Y-%m-%d %H:%M"), f"{price:.2f}", f"{base:.2f}", f"{kw:.2f}")
    return table


def _summary(plan) -> str:
    return (
        f"naive {plan.naive_cost_eur:.2f} EUR, optimised {plan.optimised_cost_eur:.2f} EUR, "
        f"saving {plan.saving_eur:.2f} EUR, solved in {plan.solve_seconds * 1000:.1f} ms"
    )


@playbook_app.command("simulate")
@one_line_errors
def simulate_command(
    device: str = typer.Option("ev", help="ev | heat_pump | battery"),
    day: str = typer.Option(None, "--date", help="delivery day YYYY-MM-DD (default: tomorrow)"),
    tenant: str = typer.Option(None, "--tenant", "-t", help="use the tenant's stored prices (and load forecast)"),
    simulated: bool = typer.Option(False, "--simulated-prices", help="prices from the market simulator, no database"),
    zone: str = typer.Option("DE-LU", help="bidding zone for --simulated-prices"),
    energy_kwh: float = typer.Option(None, help="EV: energy to charge"),
    power_kw: float = typer.Option(None, help="charger, heat pump or battery power"),
    arrival: str = typer.Option(None, help="EV: local HH:MM"),
    deadline: str = typer.Option(None, help="EV: local HH:MM"),
    daily_kwh: float = typer.Option(None, help="heat pump: electricity a day when heating on demand"),
    capacity_kwh: float = typer.Option(None, help="battery capacity"),
    load_kw: float = typer.Option(None, help="battery: constant site load when no forecast is used"),
    contiguous: bool = typer.Option(False, help="EV: charge in one block"),
) -> None:
    """A what-if plan: the optimised schedule, the naive one and the saving."""
    from luna_core.playbook.inputs import NoPrices
    from luna_core.playbook.simulate import Simulation, simulate
    from luna_core.settings import default_timezone

    timezone = default_timezone()
    when = date.fromisoformat(day) if day else datetime.now(ZoneInfo(timezone)).date() + timedelta(days=1)
    body: dict = {"device": device, "date": when.isoformat()}
    if simulated:
        from luna_core.simulation.market import simulate_day_ahead_prices

        prices = simulate_day_ahead_prices(zone, when, when, 60)
        body["prices"] = prices["eur_per_mwh"].to_list()
        body["start"] = datetime.combine(when, time(), ZoneInfo(timezone)).isoformat()
    elif not tenant:
        raise ValueError("give --tenant (stored prices) or --simulated-prices")
    options = {
        "energy_kwh": energy_kwh,
        "power_kw": power_kw,
        "arrival": arrival,
        "deadline": deadline,
        "daily_kwh": daily_kwh,
        "capacity_kwh": capacity_kwh,
        "contiguous": contiguous if device == "ev" else None,
    }
    body |= {k: v for k, v in options.items() if v is not None}
    if load_kw is not None:
        body["load_kw"] = [load_kw] * len(body.get("prices") or [0] * 24)
    try:
        spec = TypeAdapter(Simulation).validate_python(body)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors())
        raise ValueError(problems) from None
    try:
        if simulated:
            plan = simulate(None, None, spec)
        else:
            from luna_core.db.engine import app_engine
            from luna_core.db.tenancy import tenant_scope

            with tenant_scope(app_engine(settings_with_database()), tenant) as connection:
                plan = simulate(connection, tenant, spec)
    except NoPrices as error:
        raise ValueError(str(error)) from None
    console.print(_plan_table(plan, timezone))
    typer.echo(_summary(plan))


@playbook_app.command("schedule")
@one_line_errors
def schedule_command(
    tenant: str = typer.Option(..., "--tenant", "-t"),
    day: str = typer.Option(None, "--date", help="tenant-local day (default: tomorrow once its prices are out)"),
    lang: str = typer.Option("en", help="language of the recommendations: en, de or any the catalogues add"),
) -> None:
    """Plan a tenant's day with its enabled rules and store it, exactly as the Dagster asset does."""
    from luna_core.db.engine import app_engine
    from luna_core.i18n import catalogue_for
    from luna_core.playbook.recommendations import recommendation_text
    from luna_core.playbook.service import run_day

    settings = settings_with_database()
    catalogue = catalogue_for(settings)
    if lang not in catalogue.languages():
        raise ValueError(f"--lang must be one of {', '.join(catalogue.languages())}, got {lang!r}")
    translator = catalogue.translator(lang)
    run = run_day(app_engine(settings), tenant, date.fromisoformat(day) if day else None)
    if not run.planned:
        raise ValueError(f"{run.day}: nothing planned: {run.reason}")
    for item in run.result.plans:
        console.print(f"{item.plan.device} ({item.plan.kind}): {_summary(item.plan)}", highlight=False)
    for rec in run.result.recommendations:
        text = recommendation_text(rec.message_key, rec.params, translator)
        console.print(f"[bold]{text.title}[/bold]\n  {text.reason}", highlight=False)
    for note in run.result.notes:
        console.print(f"[dim]{note}[/dim]", highlight=False)
    typer.echo(
        f"{tenant} {run.day}: {len(run.result.plans)} device(s), {len(run.result.recommendations)} recommendation(s), "
        f"saving {run.naive_eur - run.optimised_eur:.2f} EUR; {run.settled} earlier day(s) settled"
    )
