"""Keeps the ``tenants`` dynamic partitions equal to the active tenants in PostgreSQL.

A tenant inserted into the table (by the CLI, the API or plain SQL) gets its partition and
a first run of the energy assets without anyone touching Dagster; a disabled or deleted
tenant loses its partition (its history stays in the event log).
"""

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, SkipReason, sensor

from luna_core.tenants import list_tenants
from resources import DatabaseResource
from sensors.jobs import energy_job
from sensors.partitions import tenants_partitions
from sensors.runs import tenant_run_request


@sensor(
    name="tenant_registry",
    job=energy_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Adds a partition (and a first run) for each new tenant; removes those of disabled tenants.",
)
def tenant_registry_sensor(context: SensorEvaluationContext, database: DatabaseResource) -> SensorResult | SkipReason:
    active = {tenant.id for tenant in list_tenants(database.engine(), active_only=True)}
    known = set(context.instance.get_dynamic_partitions(tenants_partitions.name))
    added, removed = sorted(active - known), sorted(known - active)
    if not added and not removed:
        return SkipReason(f"{len(active)} tenants, partitions in sync")
    requests = []
    if added:
        requests.append(tenants_partitions.build_add_request(added))
    if removed:
        requests.append(tenants_partitions.build_delete_request(removed))
    context.log.info(f"tenants added: {added or 'none'}; removed: {removed or 'none'}")
    return SensorResult(
        run_requests=[tenant_run_request(t, "new tenant", run_key=f"new-tenant-{t}") for t in added],
        dynamic_partitions_requests=requests,
    )
