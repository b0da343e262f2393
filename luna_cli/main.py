"""``luna``: database, tenants, simulators, ingest, materialization and the demo."""

from __future__ import annotations

import gc
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from luna_cli.accounts import audit_app, users_app
from luna_cli.common import configure_logging, console, one_line_errors, settings_with_database
from luna_cli.deploy import deploy_app
from luna_cli.meters import meters_app
from luna_cli.ops import backup_command, restore_command, storage_app
from luna_cli.playbook import playbook_app
from luna_cli.sources import ingest_opcua, sources_app
from luna_cli.tariffs import tariffs_app

app = typer.Typer(help="Luna IEMS command line.", no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
tenants_app = typer.Typer(help="The tenant registry.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenants_app, name="tenants")
app.add_typer(meters_app, name="meters")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(storage_app, name="storage")
app.add_typer(deploy_app, name="deploy")
app.command("backup")(one_line_errors(backup_command))
app.command("restore")(one_line_errors(restore_command))
app.add_typer(playbook_app, name="playbook")
app.add_typer(sources_app, name="sources")
app.command("ingest-opcua")(one_line_errors(ingest_opcua))
app.add_typer(tariffs_app, name="tariffs")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what happens.")) -> None:
    configure_logging(verbose)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


@db_app.command("upgrade")
@one_line_errors
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations (creates the app role and row-level security policies) and set up the pgvector index."""
    from luna_core.db import migrate
    from luna_core.db.engine import owner_engine
    from luna_core.knowledge.errors import ServiceUnavailable
    from luna_core.knowledge.service import prepare_index

    settings = settings_with_database()
    migrate.upgrade(owner_engine(settings), settings.app_db_role, revision)
    if settings.app_db_password:
        migrate.set_role_password(owner_engine(settings), settings.app_db_role, settings.app_db_password)
    if settings.dagster_database_url and migrate.ensure_database_owner(owner_engine(settings), settings.dagster_url()):
        console.print(f"Dagster's run storage belongs to role {settings.dagster_url().username}")
    console.print(f"database at revision {migrate.current_revision(owner_engine(settings))}")
    try:
        prepare_index(settings)
    except ServiceUnavailable as error:
        hint = "LUNA_VECTOR_DATABASE_URL: a PostgreSQL with pgvector, or LUNA_VECTOR_BACKEND=qdrant"
        raise ValueError(f"{error} ({hint})") from None
    if settings.vector_backend == "pgvector":
        console.print("pgvector index ready for role " + str(settings.vector_url().username))


@db_app.command("downgrade")
@one_line_errors
def db_downgrade(
    revision: str = typer.Argument(..., help="Target revision, 'base' removes everything."),
    yes: bool = typer.Option(False, "--yes", help="Confirm that data may be lost."),
) -> None:
    """Revert migrations."""
    from luna_core.db import migrate
    from luna_core.db.engine import owner_engine

    if not yes:
        raise ValueError("downgrading can drop data; repeat with --yes")
    settings = settings_with_database()
    migrate.downgrade(owner_engine(settings), settings.app_db_role, revision)
    console.print(f"database at revision {migrate.current_revision(owner_engine(settings))}")


@db_app.command("current")
@one_line_errors
def db_current() -> None:
    """Show the applied revision and the newest available."""
    from luna_core.db import migrate
    from luna_core.db.engine import owner_engine

    current = migrate.current_revision(owner_engine(settings_with_database()))
    typer.echo(f"current: {current or 'none'}  head: {migrate.head_revision()}")


@tenants_app.command("add")
@one_line_errors
def tenants_add(
    tenant_id: str = typer.Argument(..., help="Slug: lowercase letters, digits, '-'."),
    name: str = typer.Option(..., help="Display name."),
    kind: str = typer.Option("business", help="household | business | housing"),
    zone: str = typer.Option("DE-LU", help="Bidding zone of its prices."),
    timezone: str | None = typer.Option(None, help="IANA time zone; default: LUNA_DEFAULT_TIMEZONE."),
    state: str | None = typer.Option(None, help="German state code for holidays, e.g. BY."),
    meter: list[str] = typer.Option(
        [],
        help="METER_ID:KIND:MAX_KW[:INTERVAL_MINUTES], e.g. main:consumption:30 or main:consumption:30:15 "
        "(repeatable; without an interval it is detected on the first ingest).",
    ),
) -> None:
    """Register a tenant and its meters (its Dagster partition follows through the sensor)."""
    from luna_core.db.engine import app_engine
    from luna_core.tenants import create_tenant

    specs = [_meter_spec(text) for text in meter]
    tenant = create_tenant(
        app_engine(settings_with_database()),
        tenant_id,
        name,
        kind,
        zone=zone,
        timezone=timezone,
        state=state,
        meter_specs=specs,
    )
    console.print(f"tenant {tenant.id} created with {len(specs)} meter(s)")


def _meter_spec(text: str):
    from luna_core.tenants import MeterDef

    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise ValueError(f"--meter {text!r}: expected METER_ID:KIND:MAX_KW[:MINUTES]")
    try:
        max_kw = float(parts[2])
    except ValueError:
        raise ValueError(f"--meter {text!r}: MAX_KW must be a number") from None
    if len(parts) == 4 and not parts[3].isdigit():
        raise ValueError(f"--meter {text!r}: INTERVAL_MINUTES must be 15, 30 or 60")
    interval = int(parts[3]) if len(parts) == 4 else None
    return MeterDef(meter_id=parts[0], kind=parts[1], max_kw=max_kw, interval_minutes=interval)


@tenants_app.command("list")
@one_line_errors
def tenants_list() -> None:
    """List tenants."""
    from luna_core.db.engine import app_engine
    from luna_core.tenants import list_tenants

    table = Table("id", "name", "kind", "zone", "timezone", "state", "status")
    for t in list_tenants(app_engine(settings_with_database())):
        table.add_row(t.id, t.name, t.kind, t.zone, t.timezone, t.state or "", t.status)
    Console().print(table)


@tenants_app.command("disable")
@one_line_errors
def tenants_disable(tenant_id: str) -> None:
    """Stop accepting data for a tenant (its Dagster partition is removed by the sensor)."""
    from luna_core.db.engine import app_engine
    from luna_core.tenants import set_tenant_status

    set_tenant_status(app_engine(settings_with_database()), tenant_id, "disabled")
    console.print(f"tenant {tenant_id} disabled")


@tenants_app.command("share")
@one_line_errors
def tenants_share(
    tenant_id: str,
    share: bool = typer.Option(True, "--on/--off", help="Share the anonymised load shape with the global model."),
) -> None:
    """Opt a tenant in to or out of the global forecasting model."""
    from luna_core.db.engine import app_engine
    from luna_core.tenants import set_sharing

    set_sharing(app_engine(settings_with_database()), tenant_id, share)
    console.print(f"tenant {tenant_id} {'shares' if share else 'does not share'} its anonymised load shape")


@app.command("ingest")
@one_line_errors
def ingest(
    files: list[Path] = typer.Argument(..., help="CSV or Parquet files: meter_id, ts, kwh[, unit][, quality]."),
    tenant: str = typer.Option(..., "--tenant", "-t", help="Tenant the readings belong to."),
    meter: str | None = typer.Option(None, "--meter", "-m", help="Meter of files that have no meter column."),
) -> None:
    """Validate and store readings now (bad rows go to quarantine with their reason). Every file is
    reported; the exit code is 1 if any file was refused as a whole."""
    from luna_core.db.engine import app_engine
    from luna_core.ingest import IngestPolicy
    from luna_core.ingest.outcome import ingest_file_outcome

    settings = settings_with_database()
    engine = app_engine(settings)
    policy = IngestPolicy.from_settings(settings)
    counts = ("received", "stored", "unchanged", "duplicate", "quarantined")
    table = Table()
    table.add_column("file", overflow="fold")
    for count in counts:
        table.add_column(count, justify="right", no_wrap=True)
    table.add_column("note", overflow="fold")
    details: list[str] = []
    refused = 0
    with _progress() as progress:
        task = progress.add_task("ingesting", total=len(files))
        for path in files:
            outcome = ingest_file_outcome(engine, tenant, path, policy=policy, default_meter=meter)
            progress.advance(task)
            if outcome.refused:
                refused += 1
                table.add_row(path.name, *("-" for _ in counts), "refused")
                details.append(f"refused: {outcome.error}")
                continue
            result = outcome.result
            assert result is not None
            note = "already ingested" if result.already_ingested else ""
            note = "read again" if result.retry_of else note
            table.add_row(path.name, *(str(getattr(result, f"rows_{k}")) for k in counts), note)
            if result.already_ingested:
                details.append(
                    f"{path.name}: already ingested (same content, batch {result.batch_id}); nothing changed"
                )
            for reason, n in result.reasons.items():
                details.append(f"{path.name}: {n}x quarantined: {reason}")
                example = result.examples.get(reason)
                if example and not example.endswith(reason):
                    details.append(f"    first: {example}")
            details += [f"{path.name}: {note}" for note in result.notes]
    out = Console()
    out.print(table)
    for line in details:
        out.print(line, highlight=False, soft_wrap=True, markup=False)
    if refused:
        console.print(
            f"[red]error:[/red] {refused} of {len(files)} file(s) refused, nothing of them written", highlight=False
        )
        raise typer.Exit(1)


@app.command("ingest-mqtt")
@one_line_errors
def ingest_mqtt(
    flush_seconds: float = typer.Option(2.0, help="Write buffered messages at least this often."),
    stop_after: float | None = typer.Option(None, help="Stop after this many seconds (default: run until Ctrl-C)."),
    heartbeat: Path | None = typer.Option(None, help="Touch this file after every successful flush."),
) -> None:
    """Subscribe to live meter readings (luna/<tenant>/meters/<meter>/readings) and ingest them."""
    from luna_core.db.engine import app_engine
    from luna_core.ingest import IngestPolicy
    from luna_core.ingest.mqtt import MqttIngestor

    settings = settings_with_database()
    ingestor = MqttIngestor(
        app_engine(settings),
        settings.mqtt_host,
        settings.mqtt_port,
        settings.mqtt_topic,
        flush_seconds=flush_seconds,
        policy=IngestPolicy.from_settings(settings),
    )
    console.print(f"listening on mqtt://{settings.mqtt_host}:{settings.mqtt_port}/{settings.mqtt_topic}")
    stats = ingestor.run(stop_after=stop_after, heartbeat=heartbeat)
    console.print(f"stopped: {stats}")


@app.command("materialize")
@one_line_errors
def materialize_command(
    tenant: list[str] = typer.Option([], "--tenant", "-t", help="Only these tenants (default: all active)."),
) -> None:
    """Materialize every asset (prices, then each tenant's energy assets) into the Dagster instance."""
    from luna_cli.materialize import materialize_everything

    materialize_everything(settings_with_database(), tenant or None, _progress)


@app.command("api")
@one_line_errors
def api(
    host: str | None = typer.Option(None, help="Default LUNA_API_HOST."),
    port: int | None = typer.Option(None, help="Default LUNA_API_PORT."),
) -> None:
    """Serve the API (OpenAPI docs at /docs)."""
    import uvicorn

    from luna_api.main import create_app

    settings = settings_with_database()
    host, port = host or settings.api_host, port or settings.api_port
    console.print(f"API on http://{host}:{port}  docs: http://{host}:{port}/docs")
    application = create_app(settings)
    # Everything imported and built so far lives as long as the process: moved out of the garbage
    # collector's generations, so its full collections no longer walk it in the middle of requests.
    gc.collect()
    gc.freeze()
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        # Behind a proxy the client address (rate limits, lockout, audit) comes from X-Forwarded-For.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


@app.command("demo")
@one_line_errors
def demo(
    serve: bool = typer.Option(True, help="Keep running: Dagster UI, MQTT subscriber and live meters."),
    days: int = typer.Option(90, help="Days of history to simulate per demo tenant."),
    port: int = typer.Option(3000, help="Dagster UI port."),
    api_port: int = typer.Option(8000, help="API port."),
) -> None:
    """Seed three demo tenants with history, materialize everything, serve the Dagster UI."""
    from luna_cli.demo import run_demo

    run_demo(days=days, serve=serve, port=port, progress=_progress, api_port=api_port)


def _mount_simulators() -> None:
    from sim.simulate_market_prices import app as market_app
    from sim.simulate_smart_meter import app as meter_app

    simulate = typer.Typer(help="Seeded, reproducible data simulators.", no_args_is_help=True)
    for name, sub in (("meters", meter_app), ("market", market_app)):
        for command in sub.registered_commands:
            simulate.command(name, help=command.help)(command.callback)
    app.add_typer(simulate, name="simulate")


_mount_simulators()

if __name__ == "__main__":
    app()
