"""Materialize every asset from the command line into the configured Dagster instance, so
the runs appear in the Dagster UI exactly as if the daemon had launched them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from dagster import DagsterInstance, materialize
from rich.progress import Progress

from luna_assets.checks import ALL_CHECKS
from luna_assets.definitions import ASSETS
from luna_assets.knowledge_checks import KNOWLEDGE_CHECKS
from luna_core.db.embedded import ensure_dagster_database, ensure_mlflow_database
from luna_core.db.engine import app_engine
from luna_core.settings import Settings
from luna_core.tenants import list_tenants
from resources import resources_for
from sensors.jobs import knowledge_job, playbook_job
from sensors.partitions import tenants_partitions
from sensors.runs import tenant_tags

REPO_ROOT = Path(__file__).resolve().parents[1]
# A tenant with too little history skips training and forecasting, and says so in the metadata.
ENERGY_AND_FORECAST = ["meter_readings", "consumption_hourly", "tenant_kpis", "load_forecast_model", "load_forecast"]
# Then, per tenant, what builds on them: the same selections as the playbook_refresh and
# knowledge_refresh jobs, each its own run (a failed document never marks the energy run failed).
TENANT_STAGES = (
    ("energy assets", ENERGY_AND_FORECAST),
    ("playbook", list(playbook_job.selection.resolve(ASSETS))),
    ("knowledge", list(knowledge_job.selection.resolve(ASSETS))),
)


def dagster_instance(settings: Settings) -> DagsterInstance:
    """The instance `dagster dev` will also use: DAGSTER_HOME with the repository's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.setdefault("LUNA_DAGSTER_DATABASE_URL", settings.dagster_url().render_as_string(hide_password=False))
    ensure_dagster_database(settings)
    ensure_mlflow_database(settings)
    return DagsterInstance.get()


def materialize_everything(
    settings: Settings,
    only: list[str] | None,
    progress: Callable[[], Progress],
    instance: DagsterInstance | None = None,
) -> dict[str, bool]:
    instance = instance or dagster_instance(settings)
    tenants = [t.id for t in list_tenants(app_engine(settings), active_only=True)]
    if only:
        unknown = sorted(set(only) - set(tenants))
        if unknown:
            raise ValueError(f"unknown or disabled tenant(s): {', '.join(unknown)}")
        tenants = only
    known = set(instance.get_dynamic_partitions(tenants_partitions.name))
    instance.add_dynamic_partitions(tenants_partitions.name, [t for t in tenants if t not in known])
    resources = resources_for(settings)
    outcome: dict[str, bool] = {}
    with progress() as bar:
        task = bar.add_task("materializing", total=len(tenants) * len(TENANT_STAGES) + 1)
        bar.update(task, description="day_ahead_prices")
        outcome["day_ahead_prices"] = materialize(
            ASSETS, selection=["day_ahead_prices"], instance=instance, resources=resources, raise_on_error=False
        ).success
        bar.advance(task)
        for tenant in tenants:
            for stage, selection in TENANT_STAGES:
                bar.update(task, description=f"{stage} of {tenant}")
                result = materialize(
                    [*ASSETS, *ALL_CHECKS, *KNOWLEDGE_CHECKS],
                    selection=selection,
                    partition_key=tenant,
                    instance=instance,
                    resources=resources,
                    tags=tenant_tags(tenant),
                    raise_on_error=False,
                )
                outcome[f"{stage} of {tenant}"] = result.success
                bar.advance(task)
    failed = [name for name, ok in outcome.items() if not ok]
    if failed:
        raise ValueError(f"materialization failed for {', '.join(failed)}: see the runs in the Dagster UI")
    return outcome
