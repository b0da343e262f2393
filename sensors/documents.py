"""Retries documents left in the queue (the vector store or the embedding server was down, or the
API process died before its background task ran)."""

import time

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor
from sqlalchemy import func, select

from luna_assets.jobs import knowledge_job
from luna_assets.partitions import tenants_partitions
from luna_core.db.schema import documents
from luna_core.db.tenancy import tenant_scope
from resources import LunaResource

RETRY_AFTER_SECONDS = 60
RETRY_EVERY_SECONDS = 300


@sensor(
    name="queued_documents",
    job=knowledge_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Runs knowledge_refresh for tenants with documents queued for more than a minute, "
    "at most once per five minutes each.",
)
def queued_documents_sensor(context: SensorEvaluationContext, luna: LunaResource) -> SensorResult | SkipReason:
    engine = luna.engine()
    window = int(time.time() // RETRY_EVERY_SECONDS)
    runs = []
    for tenant in context.instance.get_dynamic_partitions(tenants_partitions.name):
        with tenant_scope(engine, tenant) as connection:
            waiting = connection.execute(
                select(func.count()).where(
                    documents.c.tenant_id == tenant,
                    documents.c.status == "queued",
                    documents.c.updated_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, RETRY_AFTER_SECONDS),
                )
            ).scalar_one()
        if waiting:
            runs.append(
                RunRequest(
                    run_key=f"documents-{tenant}-{window}",
                    partition_key=tenant,
                    tags={"tenant": tenant, "luna/reason": f"{waiting} queued documents"},
                )
            )
    return SensorResult(run_requests=runs) if runs else SkipReason("no documents waiting")
