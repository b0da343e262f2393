"""Turns Luna's negative signals (thumbs down, questions without a good passage) into a reindex
request per tenant, once they reach LUNA_FEEDBACK_NEGATIVE_THRESHOLD within the window."""

from datetime import UTC, datetime, timedelta

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from luna_core.luna.feedback import request_reindex_if_needed
from resources import DatabaseResource
from sensors.partitions import tenants_partitions


@sensor(
    name="luna_feedback",
    minimum_interval_seconds=600,
    default_status=DefaultSensorStatus.RUNNING,
    description="Queues a reindex_documents request (outbox) for a tenant whose thumbs-down answers and "
    "no-hit questions reach LUNA_FEEDBACK_NEGATIVE_THRESHOLD within LUNA_FEEDBACK_WINDOW_DAYS.",
)
def feedback_sensor(context: SensorEvaluationContext, database: DatabaseResource) -> SkipReason:
    # No run of its own: the request lands in the outbox, where admins see it (GET /admin/feedback)
    # and the knowledge sensor starts the reindex.
    settings = database.settings()
    window = timedelta(days=settings.feedback_window_days)
    now = datetime.now(UTC)
    queued = []
    for tenant in context.instance.get_dynamic_partitions(tenants_partitions.name):
        request_id = request_reindex_if_needed(
            database.engine(), tenant, settings.feedback_negative_threshold, window, now
        )
        if request_id is not None:
            context.log.info(f"{tenant}: negative signals reached the threshold; reindex request {request_id}")
            queued.append(f"{tenant} (request {request_id})")
    if queued:
        return SkipReason(f"reindex requested for {', '.join(queued)}")
    return SkipReason("no tenant reached the negative-signal threshold")
