"""Turns the API's outbox requests into runs, and writes each run's outcome back."""

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_status_sensor,
    sensor,
)

from luna_core import outbox
from resources import DatabaseResource
from sensors.jobs import energy_job, forecast_retrain_job, knowledge_job, knowledge_rebuild_job
from sensors.partitions import tenants_partitions
from sensors.runs import TENANT_TAG, tenant_run_request

REQUEST_TAG = "luna/request_id"


def _run_config(request: outbox.Request) -> dict:
    if request.kind == "backfill":
        # A backfill recomputes every hour from the stored readings, then the KPIs.
        return {"ops": {"consumption_hourly": {"config": {"full_refresh": True}}}}
    if request.kind == "reindex_documents":
        # Luna's feedback sensor asked: every indexed document of the tenant is processed again.
        return {"ops": {"documents": {"config": {"reprocess_all": True}}}}
    if request.kind == "ingest_document" and request.payload.get("document_id"):
        # This run is about that document: tried now, even if it waits for a later retry.
        return {"ops": {"documents": {"config": {"document_ids": [str(request.payload["document_id"])]}}}}
    return {}


# Which job serves which request kind.
JOBS = {
    "register_tenant": energy_job,
    "backfill": energy_job,
    "retrain": forecast_retrain_job,
    "ingest_document": knowledge_job,
    "reindex_documents": knowledge_job,
    "knowledge_rebuild": knowledge_rebuild_job,
}
# Jobs over every tenant at once (no partition).
UNPARTITIONED = {"knowledge_rebuild"}


@sensor(
    name="outbox_requests",
    jobs=[energy_job, forecast_retrain_job, knowledge_job, knowledge_rebuild_job],
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Starts a run for each pending request in the outbox (new tenant, backfill, retrain, "
    "uploaded document, a tenant's reindex, index rebuild).",
)
def outbox_sensor(context: SensorEvaluationContext, database: DatabaseResource) -> SensorResult | SkipReason:
    engine = database.engine()
    # Only tenants whose partition exists: a brand-new tenant waits one tick for tenant_registry.
    known = list(context.instance.get_dynamic_partitions(tenants_partitions.name))
    found = outbox.pending(engine, known, kinds=tuple(JOBS))
    if not found:
        return SkipReason("no pending requests")
    runs = []
    for request in found:
        runs.append(
            tenant_run_request(
                request.tenant_id,
                request.kind,
                run_key=f"request-{request.id}",
                partitioned=request.kind not in UNPARTITIONED,
                job_name=JOBS[request.kind].name,
                run_config=_run_config(request),
                tags={REQUEST_TAG: str(request.id)},
            )
        )
        outbox.mark(engine, request.tenant_id, request.id, "running")
    return SensorResult(run_requests=runs)


def _finish(context: RunStatusSensorContext, database: DatabaseResource, status: str, error: str | None = None) -> None:
    run = context.dagster_run
    request_id, tenant = run.tags.get(REQUEST_TAG), run.tags.get(TENANT_TAG)
    if request_id and tenant:
        outbox.mark(database.engine(), tenant, int(request_id), status, run_id=run.run_id, error=error)


@run_status_sensor(
    name="outbox_request_succeeded",
    run_status=DagsterRunStatus.SUCCESS,
    default_status=DefaultSensorStatus.RUNNING,
)
def request_succeeded(context: RunStatusSensorContext, database: DatabaseResource) -> None:
    _finish(context, database, "done")


@run_status_sensor(
    name="outbox_request_failed",
    run_status=DagsterRunStatus.FAILURE,
    default_status=DefaultSensorStatus.RUNNING,
)
def request_failed(context: RunStatusSensorContext, database: DatabaseResource) -> None:
    _finish(context, database, "failed", error="run failed: see the run in the Dagster UI")
