"""The global model learns only from tenants that share, and starts a new tenant with little
history (scaled to its volume) until the tenant's own model beats it."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from dagster import instance_for_test, materialize

from luna_assets.definitions import ASSETS
from luna_core.db.tenancy import tenant_scope
from luna_core.energy.hourly import refresh_consumption_hourly
from luna_core.forecasting.global_model import GLOBAL, global_training_set
from luna_core.forecasting.registry import CHAMPION
from luna_core.ingest import ingest_frame
from luna_core.simulation.meters import simulate_site
from luna_core.simulation.registry import register_site
from luna_core.simulation.sites import DEMO_SITES_BY_ID
from luna_core.tenants import delete_tenant, set_sharing
from tests.dagster_resources import luna_resources


def _tenant(engine, site_id: str, days: int) -> str:
    site = dataclasses.replace(DEMO_SITES_BY_ID[site_id], tenant_id=f"gl-{uuid.uuid4().hex[:6]}")
    register_site(engine, site)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    readings = simulate_site(site, end - timedelta(days=days), end, seed=5).select("meter_id", "ts", "kwh")
    ingest_frame(engine, site.tenant_id, readings, source="test", source_ref="global-fixture")
    with tenant_scope(engine, site.tenant_id) as connection:
        refresh_consumption_hourly(connection, site.tenant_id)
    return site.tenant_id


@pytest.fixture(scope="module")
def tenants(engine):
    made = {
        "office": _tenant(engine, "office", 35),
        "bakery": _tenant(engine, "bakery", 35),
        "private": _tenant(engine, "household", 35),
        "newcomer": _tenant(engine, "household", 10),
    }
    set_sharing(engine, made["private"], False)
    yield made
    for tenant in made.values():
        delete_tenant(engine, tenant)


def test_only_sharing_tenants_with_enough_history_contribute(engine, tenants):
    found = global_training_set(engine)
    assert {tenants["office"], tenants["bakery"]} <= set(found.contributors)
    assert tenants["private"] in found.opted_out and tenants["private"] not in found.contributors
    assert tenants["newcomer"] in found.too_short
    for profile in found.profiles:
        assert "kwh" not in profile.columns and "tenant_id" not in profile.columns
        assert not any(t in str(profile.row(0)) for t in tenants.values())


def test_newcomer_starts_from_the_global_model(engine, settings, registry, tenants):
    resource = luna_resources(
        database_url=settings.database_url, data_dir=str(settings.data_dir), mlflow_url=registry.tracking_uri
    )
    newcomer = tenants["newcomer"]
    with instance_for_test() as instance:
        trained = materialize(ASSETS, selection=["global_load_model"], instance=instance, resources=resource)
        assert trained.success
        assert registry.champion(GLOBAL) is not None
        instance.add_dynamic_partitions("tenants", [newcomer])
        run = materialize(
            ASSETS,
            selection=["load_forecast_model", "load_forecast"],
            partition_key=newcomer,
            instance=instance,
            resources=resource,
        )
        assert run.success
    champion = registry.champion(newcomer)
    assert champion is not None and CHAMPION in champion.aliases
    assert champion.tags["luna.source"] == "global"
    with tenant_scope(engine, newcomer) as connection:
        from sqlalchemy import func, select

        from luna_core.db.schema import forecasts

        written = connection.execute(select(func.count()).select_from(forecasts)).scalar_one()
    assert written > 0
