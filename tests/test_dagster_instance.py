"""The repository's dagster.yaml on a real PostgreSQL run/event storage, the tenant sensor on a real
instance, and the asset-graph snapshot (as dagster-open-platform does)."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
from dagster import DagsterInstance, build_sensor_context, instance_for_test, materialize

from luna_assets.definitions import ASSETS, defs
from luna_core.tenants import set_tenant_status
from sensors.tenants import tenant_registry_sensor
from tests.conftest import create_database, drop_database
from tests.dagster_resources import luna_resources

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def asset_graph() -> dict:
    graph = defs.resolve_asset_graph()
    nodes = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        partitions = node.partitions_def
        nodes[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "partitions": getattr(partitions, "name", None) or (type(partitions).__name__ if partitions else None),
            "checks": sorted(c.name for c in node.check_keys),
        }
    return {
        "assets": nodes,
        "jobs": sorted(job.name for job in defs.jobs or []),
        "sensors": sorted(s.name for s in defs.sensors or []),
        "schedules": sorted(s.name for s in defs.schedules or []),
    }


def test_asset_graph_matches_snapshot():
    """Update deliberately with: LUNA_UPDATE_SNAPSHOTS=1 pytest tests/test_dagster_instance.py"""
    current = asset_graph()
    if os.environ.get("LUNA_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_repository_dagster_yaml_stores_runs_in_postgres(settings, tmp_path, monkeypatch):
    name = f"luna_dagster_{uuid.uuid4().hex[:8]}"
    url = create_database(name).replace("postgresql+psycopg://", "postgresql+psycopg2://")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("LUNA_DAGSTER_DATABASE_URL", url)
    try:
        with DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            limits = instance.run_coordinator.get_run_queue_config().tag_concurrency_limits
            assert {"key": "tenant", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits
            prices = tmp_path / "prices.csv"
            prices.write_text("ts,eur_per_mwh\n2026-01-01T00:00:00+01:00,80.5\n2026-01-01T01:00:00+01:00,75.0\n")
            resource = luna_resources(
                database_url=settings.database_url,
                data_dir=str(tmp_path),
                market_source="csv",
                market_csv_path=str(prices),
            )
            result = materialize(
                ASSETS,
                selection=["day_ahead_prices"],
                instance=instance,
                resources=resource,
                run_config={"ops": {"day_ahead_prices": {"config": {"start": "2026-01-01", "end": "2026-01-01"}}}},
            )
            assert result.success
            assert instance.get_run_by_id(result.run_id) is not None
    finally:
        drop_database(name)


def test_tenant_sensor_adds_and_removes_partitions(engine, settings, tenant_factory):
    resource = luna_resources(database_url=settings.database_url, data_dir=str(settings.data_dir))
    tenant = tenant_factory("sensor")
    with instance_for_test() as instance:
        result = tenant_registry_sensor(build_sensor_context(instance=instance, resources=resource))
        added = [r for r in result.dynamic_partitions_requests if type(r).__name__ == "AddDynamicPartitionsRequest"]
        assert tenant in added[0].partition_keys
        assert {r.partition_key for r in result.run_requests} >= {tenant}
        request = next(r for r in result.run_requests if r.partition_key == tenant)
        assert request.tags["tenant"] == tenant

        instance.add_dynamic_partitions("tenants", added[0].partition_keys)
        again = tenant_registry_sensor(build_sensor_context(instance=instance, resources=resource))
        assert not getattr(again, "run_requests", None)

        set_tenant_status(engine, tenant, "disabled")
        removed = tenant_registry_sensor(build_sensor_context(instance=instance, resources=resource))
        deletes = [
            r for r in removed.dynamic_partitions_requests if type(r).__name__ == "DeleteDynamicPartitionsRequest"
        ]
        assert deletes and deletes[0].partition_keys == [tenant]


@pytest.mark.parametrize("path", ["workspace.yaml", "dagster.yaml"])
def test_config_files_exist(path):
    assert (ROOT / path).is_file()
