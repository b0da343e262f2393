"""Starts an energy run for a tenant as soon as files land in its inbox."""

import hashlib

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, SkipReason, sensor

from luna_core.landing import pending_files
from resources import DatabaseResource
from sensors.jobs import energy_job
from sensors.partitions import tenants_partitions
from sensors.runs import tenant_run_request


@sensor(
    name="landing_files",
    job=energy_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Runs meter_readings (and downstream) for each tenant with new files in storage/<tenant>/inbox.",
)
def landing_files_sensor(context: SensorEvaluationContext, database: DatabaseResource) -> SensorResult | SkipReason:
    settings = database.settings()
    requests = []
    for tenant in context.instance.get_dynamic_partitions(tenants_partitions.name):
        files = pending_files(settings, tenant)
        if not files:
            continue
        # Same files, same key: a run already requested for them is not requested again.
        fingerprint = hashlib.sha256(
            "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files).encode()
        ).hexdigest()[:16]
        requests.append(
            tenant_run_request(tenant, f"{len(files)} landing files", run_key=f"landing-{tenant}-{fingerprint}")
        )
    if not requests:
        return SkipReason("no landing files")
    return SensorResult(run_requests=requests)
