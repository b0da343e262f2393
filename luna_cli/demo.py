"""``luna demo``: a working platform on a fresh machine, with nothing but this repository.

Embedded PostgreSQL (unless LUNA_DATABASE_URL is set) -> migrations -> three demo tenants with
simulated history dropped into their landing inboxes, playbook rules switched on and sample
documents queued -> every asset materialized (energy, market, forecasts, playbook, knowledge) ->
the API with the dashboard, the Dagster UI, the MQTT subscriber and live simulated meters, until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from luna_cli.common import console, settings_with_database
from luna_cli.demo_accounts import ensure_demo_accounts
from luna_cli.demo_documents import add_demo_documents
from luna_cli.demo_playbook import ensure_demo_rules
from luna_cli.demo_tariffs import ensure_demo_tariffs
from luna_cli.materialize import REPO_ROOT, dagster_instance, materialize_everything
from luna_core.db import migrate
from luna_core.db.engine import app_engine, owner_engine
from luna_core.knowledge.service import prepare_index
from luna_core.landing import drop_file
from luna_core.settings import Settings
from luna_core.simulation.meters import simulate_site
from luna_core.simulation.registry import register_site
from luna_core.simulation.sites import DEMO_SITES
from luna_core.storage import StorageKeyError, blob_store
from luna_core.storage.keys import create_dev_key, dev_key_path
from luna_core.tenants import list_tenants


def run_demo(days: int, serve: bool, port: int, progress: Callable[[], Progress], api_port: int = 8000) -> None:
    settings = settings_with_database()
    console.print(f"database: {settings.owner_url().render_as_string(hide_password=True)}")
    migrate.upgrade(owner_engine(settings), settings.app_db_role)
    prepare_index(settings)
    engine = app_engine(settings)
    existing = {t.id for t in list_tenants(engine)}
    end = _floor_quarter(datetime.now(UTC))
    start = end - timedelta(days=days)
    with progress() as bar, tempfile.TemporaryDirectory() as scratch:
        task = bar.add_task("simulating demo tenants", total=len(DEMO_SITES))
        for site in DEMO_SITES:
            bar.update(task, description=f"simulating {site.tenant_id}: {days} days of 15-minute data")
            if site.tenant_id not in existing:
                register_site(engine, site)
            path = Path(scratch) / f"{site.tenant_id}-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.parquet"
            simulate_site(site, start, end, seed=settings.seed).write_parquet(path)
            drop_file(settings, site.tenant_id, path)
            bar.advance(task)
    tenant_ids = [s.tenant_id for s in DEMO_SITES]
    rules = ensure_demo_rules(engine, tenant_ids)
    # Before the assets run: the KPIs and the playbook price with these tariffs.
    ensure_demo_tariffs(engine, tenant_ids)
    _ensure_storage_key(settings)
    for added in add_demo_documents(engine, settings, tenant_ids):
        console.print(
            f"{added.tenant_id}: {added.added} sample documents queued, {added.already_there} already there; "
            f"{rules[added.tenant_id]} playbook rules switched on now"
        )
    instance = dagster_instance(settings)
    materialize_everything(settings, None, progress, instance=instance)
    console.print(f"[green]demo data ready[/green] for {', '.join(tenant_ids)}")
    accounts = ensure_demo_accounts(engine, settings, [s.tenant_id for s in DEMO_SITES])
    if accounts:
        table = Table(title=f"demo accounts: shown once, also in {settings.data_dir / 'demo-credentials.txt'}")
        for header in ("login (e-mail)", "password", "who"):
            table.add_column(header, overflow="fold")  # an e-mail cut short cannot be typed in
        for row in accounts:
            table.add_row(*row)
        Console().print(table)
    else:
        console.print(f"demo accounts exist; their passwords are in {settings.data_dir / 'demo-credentials.txt'}")
    if serve:
        _serve(port, api_port)


def _ensure_storage_key(settings: Settings) -> None:
    """The demo's first set-up keeps a development storage key under the data directory (unless
    LUNA_STORAGE_KEY is set). Never on a later run that finds files but no key: a new key would
    only hide that this is not the folder they were stored with."""
    if settings.storage_key:
        return
    if not dev_key_path(settings.data_dir).exists() and any(blob_store(settings).iter_blobs()):
        raise StorageKeyError(
            f"{settings.resolved_storage_dir} holds encrypted files but {dev_key_path(settings.data_dir)} is "
            "missing: set LUNA_STORAGE_KEY to the key they were stored with, or point LUNA_DATA_DIR at their folder"
        )
    path, created = create_dev_key(settings.data_dir)
    if created:
        console.print(f"storage key for the demo's files created in {path} (keep it: the files need it)")


def child_env() -> dict[str, str]:
    """The environment of every process the demo starts: its absolute paths (Dagster runs with its
    home as working directory, where a relative LUNA_DATA_DIR would mean another folder)."""
    from luna_core.settings import child_environment, get_settings

    return {**os.environ, **child_environment(get_settings())}


def _serve(port: int, api_port: int) -> None:
    from luna_core.settings import get_settings

    settings = get_settings()
    bin_dir = Path(sys.executable).parent
    env = child_env()
    children: list[subprocess.Popen] = []
    if _reachable(settings.mqtt_host, settings.mqtt_port):
        children.append(subprocess.Popen([str(bin_dir / "luna"), "ingest-mqtt"], env=env))
        children.append(subprocess.Popen([sys.executable, "-m", "sim.mqtt_publisher"], env=env))
        console.print(f"live meters publishing to mqtt://{settings.mqtt_host}:{settings.mqtt_port}, subscriber running")
    else:
        console.print(
            f"[yellow]no MQTT broker at {settings.mqtt_host}:{settings.mqtt_port}[/yellow]: live meters are off "
            "(set LUNA_MQTT_HOST/PORT or start mosquitto); file drops and the hourly schedule still work"
        )
    children.append(subprocess.Popen([str(bin_dir / "luna"), "api", "--port", str(api_port)], env=env))
    console.print(f"[bold]API docs: http://127.0.0.1:{api_port}/docs[/bold]")
    console.print(f"[bold]Dagster UI: http://127.0.0.1:{port}[/bold]  (Ctrl-C stops everything)")
    # A SIGTERM (from a supervisor or `timeout`) stops the children as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    dagster = subprocess.Popen(
        [str(bin_dir / "dagster"), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=os.environ["DAGSTER_HOME"],  # not the repo root: its dagster.yaml there would only confuse Dagster
        env={**env, "TMPDIR": os.environ.get("TMPDIR", tempfile.gettempdir())},
        # Its own process group: dagster dev starts code servers that must stop with it.
        start_new_session=True,
    )
    children.append(dagster)
    try:
        dagster.wait()
    except KeyboardInterrupt:
        pass
    finally:
        _stop(children, dagster)


def _stop(children: list[subprocess.Popen], dagster: subprocess.Popen) -> None:
    """Ctrl-C for everyone, then whatever is left of Dagster's process group is killed."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(dagster.pid, signal.SIGINT)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(dagster.pid, signal.SIGKILL)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _floor_quarter(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
