"""Periodic refreshes: prices after the day-ahead auction, tenant energy assets every hour."""

from dagster import DefaultScheduleStatus, ScheduleEvaluationContext, schedule

from luna_assets.jobs import energy_job, market_job
from luna_assets.partitions import tenants_partitions
from sensors.tenants import tenant_run_request


@schedule(
    name="market_daily",
    job=market_job,
    cron_schedule="15 13 * * *",  # EPEX SDAC results are published around 12:45 CET
    execution_timezone="Europe/Berlin",
    default_status=DefaultScheduleStatus.RUNNING,
)
def market_daily_schedule(context: ScheduleEvaluationContext):
    return {}


@schedule(
    name="energy_hourly",
    job=energy_job,
    cron_schedule="5 * * * *",
    execution_timezone="Europe/Berlin",
    default_status=DefaultScheduleStatus.RUNNING,
)
def energy_hourly_schedule(context: ScheduleEvaluationContext):
    tick = context.scheduled_execution_time.isoformat()
    return [
        tenant_run_request(tenant, "hourly refresh", run_key=f"hourly-{tenant}-{tick}")
        for tenant in context.instance.get_dynamic_partitions(tenants_partitions.name)
    ]
