"""``luna sources``: the configured data sources, a dry run of one, a price backfill; ``luna ingest-opcua``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from luna_cli.common import console, one_line_errors, settings_with_database

sources_app = typer.Typer(help="Data sources: meters (file, MQTT, HTTP, OPC-UA) and prices.", no_args_is_help=True)
dry_run_app = typer.Typer(help="Read a source and print what would be stored; nothing is stored.")
sources_app.add_typer(dry_run_app, name="dry-run")
out = Console()  # what a dry run would store goes to stdout, messages to stderr


def _price_source(settings, name: str | None):
    from luna_core.market.sources import price_source

    return price_source(
        name or settings.market_source,
        seed=settings.seed,
        csv_path=settings.market_csv_path,
        entsoe_token=settings.entsoe_token,
        entsoe_url=settings.entsoe_url,
    )


@sources_app.command("list")
@one_line_errors
def sources_list(tenant: str = typer.Argument(..., help="Tenant whose reads are shown.")) -> None:
    """Each configured source with its last successful read for the tenant."""
    from luna_core.db.engine import app_engine
    from luna_core.db.tenancy import tenant_scope
    from luna_core.sources import source_statuses

    settings = settings_with_database()
    with tenant_scope(app_engine(settings), tenant) as connection:
        statuses = source_statuses(connection, settings, tenant)
    table = Table("source", "kind", "target", "last read", "lag (s)", "quarantined 24 h")
    for s in statuses:
        lag = f"{s.lag_seconds:.0f}" if s.lag_seconds is not None else "-"
        last = s.last_read.isoformat() if s.last_read else "never"
        table.add_row(s.name, s.kind, s.target or "", last, lag, str(s.errors_last_day))
    out.print(table)


@dry_run_app.command("prices")
@one_line_errors
def dry_run_prices(
    start: str = typer.Option(..., help="First delivery day, YYYY-MM-DD."),
    end: str = typer.Option(..., help="Last delivery day, YYYY-MM-DD."),
    zone: str | None = typer.Option(None, help="Bidding zone (default: LUNA_DEFAULT_ZONE)."),
    source: str | None = typer.Option(None, help="sim, csv or entsoe (default: LUNA_MARKET_SOURCE)."),
) -> None:
    """Fetch day-ahead prices and print them (one line per delivery period), storing nothing."""
    from luna_core.market.service import preview
    from luna_core.settings import get_settings

    settings = get_settings()
    prices_source = _price_source(settings, source)
    zone = zone or settings.default_zone
    frame = preview(prices_source, zone, date.fromisoformat(start), date.fromisoformat(end))
    for row in frame.iter_rows(named=True):
        out.print(
            f"{row['zone']} {row['ts'].isoformat()} {row['resolution_minutes']:>2} min "
            f"{row['eur_per_mwh']:9.2f} EUR/MWh {row['source']}",
            highlight=False,
        )
    missing = getattr(prices_source, "missing_days", [])
    console.print(f"{frame.height} prices from {prices_source.name} for {zone} {start}..{end} would be stored")
    if missing:
        console.print(f"[yellow]not published:[/yellow] {', '.join(map(str, missing))}")


@dry_run_app.command("opcua")
@one_line_errors
def dry_run_opcua(
    endpoint: str | None = typer.Option(None, help="opc.tcp://... (default: LUNA_OPCUA_ENDPOINT)."),
    root_node: str | None = typer.Option(None, help="Node to browse (default: LUNA_OPCUA_ROOT_NODE)."),
) -> None:
    """Browse the OPC-UA server, print each counter and the readings the next poll would store."""
    from dataclasses import replace

    from luna_core.db.engine import app_engine
    from luna_core.ingest.opcua import OpcUaConfig, OpcUaPoller
    from luna_core.settings import get_settings

    settings = get_settings()
    overrides = {"opcua_endpoint": endpoint or settings.opcua_endpoint, "opcua_tenant": settings.opcua_tenant or "-"}
    config = OpcUaConfig.from_settings(settings.model_copy(update=overrides))
    if root_node:
        config = replace(config, root_node=root_node)
    result = OpcUaPoller(app_engine(settings), config).poll(dry_run=True)
    for counter in result.counters:
        read = next((r for r in result.reads if r.meter_id == counter.meter_id), None)
        value = f"{read.kwh:.3f} kWh" if read else "unreadable"
        out.print(f"counter {counter.meter_id} ({counter.node_id}): {value}", highlight=False)
    for record in result.records:
        out.print(f"would store {record}", highlight=False)
    for note in result.notes:
        out.print(f"note: {note}", highlight=False)
    if not result.records:
        console.print("no readings yet: a first read is the counters' baseline (the next interval stores them)")


@sources_app.command("backfill-prices")
@one_line_errors
def backfill_prices(
    start: str = typer.Option(..., help="First delivery day, YYYY-MM-DD."),
    end: str = typer.Option(..., help="Last delivery day, YYYY-MM-DD."),
    zone: list[str] = typer.Option([], help="Bidding zone(s) (default: LUNA_DEFAULT_ZONE)."),
    source: str | None = typer.Option(None, help="sim, csv or entsoe (default: LUNA_MARKET_SOURCE)."),
) -> None:
    """Fetch and store day-ahead prices for a date range (a corrected day replaces the stored one)."""
    from luna_core.db.engine import app_engine
    from luna_core.market.service import refresh_prices

    settings = settings_with_database()
    refresh = refresh_prices(
        app_engine(settings),
        _price_source(settings, source),
        zone or [settings.default_zone],
        start=date.fromisoformat(start),
        end=date.fromisoformat(end),
    )
    for z in refresh.zones:
        missing = f", not published: {', '.join(map(str, z.missing_days))}" if z.missing_days else ""
        line = z.error or f"{z.fetched} fetched, {z.written} new or changed, {z.deleted} replaced{missing}"
        console.print(f"{z.zone} {z.start}..{z.end}: {line}", highlight=False)
    if refresh.failed:
        raise typer.Exit(1)


def ingest_opcua(
    once: bool = typer.Option(False, help="Read once (the counters' baseline or one interval) and stop."),
    stop_after: float | None = typer.Option(None, help="Stop after this many seconds (default: run until Ctrl-C)."),
    heartbeat: Path | None = typer.Option(None, help="Touch this file after every successful poll."),
) -> None:
    """Poll the OPC-UA server's energy counters (LUNA_OPCUA_*) every interval and ingest the readings."""
    from luna_core.db.engine import app_engine
    from luna_core.ingest.opcua import OpcUaConfig, OpcUaPoller

    settings = settings_with_database()
    poller = OpcUaPoller(app_engine(settings), OpcUaConfig.from_settings(settings))
    console.print(f"polling {settings.opcua_endpoint} for {settings.opcua_tenant}")
    if once:
        result = poller.poll(datetime.now(UTC))
        stored = result.ingest.rows_stored if result.ingest else 0
        console.print(f"{len(result.counters)} counters read, {stored} readings stored")
        return
    poller.run(stop_after=stop_after, heartbeat=heartbeat)
