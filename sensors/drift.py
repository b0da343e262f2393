"""Retrains a tenant's load model when its live error drifts past its backtest error."""

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, SkipReason, sensor

from luna_core.forecasting.service import live_drift
from resources import DatabaseResource, ModelRegistryResource
from sensors.jobs import forecast_retrain_job
from sensors.partitions import tenants_partitions
from sensors.runs import tenant_run_request


@sensor(
    name="forecast_drift",
    job=forecast_retrain_job,
    minimum_interval_seconds=3600,
    default_status=DefaultSensorStatus.RUNNING,
    description="Requests a retrain when the last week's forecast MAE exceeds the champion's backtest MAE "
    "by LUNA_FORECAST_DRIFT_FACTOR.",
)
def forecast_drift_sensor(
    context: SensorEvaluationContext, database: DatabaseResource, model_registry: ModelRegistryResource
) -> SensorResult | SkipReason:
    tenants = context.instance.get_dynamic_partitions(tenants_partitions.name)
    checks = live_drift(
        database.engine(), model_registry.registry(), tenants, database.settings().forecast_drift_factor
    )
    requests = []
    for check in (c for c in checks if c.drifted):
        context.log.info(
            f"{check.tenant_id}: live MAE {check.live_mae:.3f} over {check.hours} h exceeds {check.limit:.3f}; "
            "retraining"
        )
        requests.append(
            tenant_run_request(
                check.tenant_id,
                f"drift: live MAE {check.live_mae:.3f} > {check.limit:.3f}",
                run_key=f"drift-{check.tenant_id}-{check.version}",  # once per champion, not once per tick
            )
        )
    if not requests:
        checked = "; ".join(f"{c.tenant_id}: live {c.live_mae:.3f} vs limit {c.limit:.3f}" for c in checks)
        return SkipReason("no drift" + (f" ({checked})" if checked else ": nothing to compare yet"))
    return SensorResult(run_requests=requests)
