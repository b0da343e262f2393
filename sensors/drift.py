"""Retrains a tenant's load model when its live error drifts past its backtest error."""

from datetime import UTC, datetime, timedelta

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from luna_assets.jobs import forecast_retrain_job
from luna_assets.partitions import tenants_partitions
from luna_core.db.tenancy import tenant_scope
from luna_core.forecasting.store import live_error
from resources import LunaResource

LIVE_WINDOW = timedelta(days=7)
MIN_HOURS = 48  # fewer compared hours say more about chance than about drift


@sensor(
    name="forecast_drift",
    job=forecast_retrain_job,
    minimum_interval_seconds=3600,
    default_status=DefaultSensorStatus.RUNNING,
    description="Requests a retrain when the last week's forecast MAE exceeds the champion's backtest MAE "
    "by LUNA_FORECAST_DRIFT_FACTOR.",
)
def forecast_drift_sensor(context: SensorEvaluationContext, luna: LunaResource) -> SensorResult | SkipReason:
    factor = luna.settings().forecast_drift_factor
    registry = luna.registry()
    since = datetime.now(UTC) - LIVE_WINDOW
    requests, checked = [], []
    for tenant in context.instance.get_dynamic_partitions(tenants_partitions.name):
        champion = registry.champion(tenant)
        if champion is None or "backtest_mae" not in champion.metrics:
            continue
        with tenant_scope(luna.engine(), tenant) as connection:
            mae, hours = live_error(connection, tenant, since)
        if mae is None or hours < MIN_HOURS:
            continue
        limit = factor * champion.metrics["backtest_mae"]
        checked.append(f"{tenant}: live {mae:.3f} vs limit {limit:.3f}")
        if mae > limit:
            context.log.info(f"{tenant}: live MAE {mae:.3f} over {hours} h exceeds {limit:.3f}; retraining")
            requests.append(
                RunRequest(
                    partition_key=tenant,
                    run_key=f"drift-{tenant}-{champion.version}",  # once per champion, not once per tick
                    tags={"tenant": tenant, "luna/reason": f"drift: live MAE {mae:.3f} > {limit:.3f}"},
                )
            )
    if not requests:
        return SkipReason("no drift" + (f" ({'; '.join(checked)})" if checked else ": nothing to compare yet"))
    return SensorResult(run_requests=requests)
