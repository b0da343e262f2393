"""Retries documents that wait: queued for more than a minute (the API died before its background
task ran), left in ``processing`` by a worker that died (its claim's lease ran out), or needing
attention and due for their next retry (the stored file was missing, the vector store was down)."""

import time

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, SkipReason, sensor

from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge import claims
from resources import DatabaseResource
from sensors.jobs import knowledge_job
from sensors.partitions import tenants_partitions
from sensors.runs import tenant_run_request

RETRY_AFTER_SECONDS = 60
RETRY_EVERY_SECONDS = 300


@sensor(
    name="queued_documents",
    job=knowledge_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Runs knowledge_refresh for tenants with documents waiting: queued for more than a minute, "
    "left in processing by a dead worker, or needing attention and due for a retry; at most once per five "
    "minutes each.",
)
def queued_documents_sensor(context: SensorEvaluationContext, database: DatabaseResource) -> SensorResult | SkipReason:
    engine = database.engine()
    window = int(time.time() // RETRY_EVERY_SECONDS)
    runs = []
    for tenant in context.instance.get_dynamic_partitions(tenants_partitions.name):
        with tenant_scope(engine, tenant) as connection:
            waiting = claims.due(connection, tenant, RETRY_AFTER_SECONDS)
        if waiting:
            runs.append(
                tenant_run_request(tenant, f"{waiting} documents waiting", run_key=f"documents-{tenant}-{window}")
            )
    return SensorResult(run_requests=runs) if runs else SkipReason("no documents waiting")
