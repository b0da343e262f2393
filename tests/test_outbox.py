"""A tenant created through the API reaches Dagster through the outbox: the tenant sensor adds
its partition, the outbox sensor starts its run, the run-status sensor reports back, and its
first KPIs exist without anyone touching Dagster."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from dagster import (
    DagsterEventType,
    build_run_status_sensor_context,
    build_sensor_context,
    instance_for_test,
    materialize,
)

from luna_assets.checks import ALL_CHECKS
from luna_assets.definitions import ASSETS
from luna_core import outbox
from luna_core.db.schema import requests
from luna_core.db.tenancy import tenant_scope
from luna_core.tenants import delete_tenant
from sensors.requests import outbox_sensor, request_succeeded
from sensors.tenants import tenant_registry_sensor
from tests.dagster_resources import luna_resources


def test_new_tenant_flows_from_api_to_kpis(api, api_user, engine, settings):
    platform = api_user(role="admin", platform_admin=True)
    tenant = f"new-{uuid.uuid4().hex[:6]}"
    created = api.post(
        "/tenants",
        headers=platform.headers,
        json={"id": tenant, "name": "Neu GmbH", "meters": [{"meter_id": "main", "kind": "consumption", "max_kw": 30}]},
    )
    assert created.status_code == 201, created.text
    try:
        admin = api_user(tenant, role="admin")
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=4)
        readings = [
            {"meter_id": "main", "ts": (start + timedelta(minutes=15 * i)).isoformat(), "kwh": 1.0} for i in range(8)
        ]
        assert api.post("/ingest/readings", headers=admin.headers, json={"readings": readings}).status_code == 200

        resource = luna_resources(database_url=settings.database_url, data_dir=str(settings.data_dir))
        with instance_for_test() as instance:
            registry = tenant_registry_sensor(build_sensor_context(instance=instance, resources=resource))
            for change in registry.dynamic_partitions_requests:
                instance.add_dynamic_partitions("tenants", list(change.partition_keys))
            result = outbox_sensor(build_sensor_context(instance=instance, resources=resource))
            [run_request] = [r for r in result.run_requests if r.partition_key == tenant]
            request_id = int(run_request.tags["luna/request_id"])
            assert outbox.status_of(engine, tenant, request_id) == ("running", None)
            # Once started, the request is not picked up again.
            again = outbox_sensor(build_sensor_context(instance=instance, resources=resource))
            assert tenant not in {r.partition_key for r in getattr(again, "run_requests", [])}

            run = materialize(
                [*ASSETS, *ALL_CHECKS],
                selection=["meter_readings", "consumption_hourly", "tenant_kpis"],
                partition_key=tenant,
                instance=instance,
                resources=resource,
                tags=run_request.tags,
            )
            success = next(e for e in run.all_events if e.event_type == DagsterEventType.RUN_SUCCESS)
            request_succeeded(
                build_run_status_sensor_context(
                    sensor_name="outbox_request_succeeded",
                    dagster_event=success,
                    dagster_instance=instance,
                    dagster_run=instance.get_run_by_id(run.run_id),
                    resources=resource,
                )
            )
        assert outbox.status_of(engine, tenant, request_id) == ("done", run.run_id)
        kpis = api.get("/kpis", headers=admin.headers)
        assert kpis.status_code == 200 and kpis.json()["kwh_today"] > 0
    finally:
        delete_tenant(engine, tenant)


def test_unknown_request_kind_is_refused(engine, tenant_factory):
    import pytest

    tenant = tenant_factory()
    with pytest.raises(ValueError, match="unknown request kind"), tenant_scope(engine, tenant) as connection:
        outbox.enqueue(connection, tenant, "format_c_drive")
    with tenant_scope(engine, tenant) as connection:
        assert connection.execute(requests.select()).first() is None
