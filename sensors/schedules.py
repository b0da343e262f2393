"""Periodic refreshes: prices after the day-ahead auction, tenant energy assets every hour."""

from dagster import DefaultScheduleStatus, ScheduleEvaluationContext, schedule

from luna_core.market.auction import MARKET_TIMEZONE
from sensors.jobs import (
    energy_job,
    forecast_job,
    forecast_retrain_job,
    global_model_job,
    market_job,
    playbook_job,
)
from sensors.partitions import tenants_partitions
from sensors.runs import tenant_run_request


@schedule(
    name="market_daily",
    job=market_job,
    cron_schedule="15 13 * * *",  # EPEX SDAC results are published around 12:45 CET
    execution_timezone=MARKET_TIMEZONE,
    default_status=DefaultScheduleStatus.RUNNING,
)
def market_daily_schedule(context: ScheduleEvaluationContext):
    return {}


@schedule(
    name="energy_hourly",
    job=energy_job,
    cron_schedule="5 * * * *",
    execution_timezone=MARKET_TIMEZONE,
    default_status=DefaultScheduleStatus.RUNNING,
)
def energy_hourly_schedule(context: ScheduleEvaluationContext):
    return _per_tenant(context, "hourly refresh", "hourly")


def _per_tenant(context: ScheduleEvaluationContext, reason: str, name: str):
    tick = context.scheduled_execution_time.isoformat()
    return [
        tenant_run_request(tenant, reason, run_key=f"{name}-{tenant}-{tick}")
        for tenant in context.instance.get_dynamic_partitions(tenants_partitions.name)
    ]


@schedule(
    name="forecast_daily",
    job=forecast_job,
    cron_schedule="30 13 * * *",  # after the day-ahead prices, so tomorrow's load meets tomorrow's prices
    execution_timezone=MARKET_TIMEZONE,
    default_status=DefaultScheduleStatus.RUNNING,
)
def forecast_daily_schedule(context: ScheduleEvaluationContext):
    return _per_tenant(context, "daily forecast", "forecast")


@schedule(
    name="forecast_retrain_weekly",
    job=forecast_retrain_job,
    cron_schedule="0 3 * * 0",
    execution_timezone=MARKET_TIMEZONE,
    default_status=DefaultScheduleStatus.RUNNING,
)
def forecast_retrain_schedule(context: ScheduleEvaluationContext):
    return _per_tenant(context, "weekly retrain", "retrain")


@schedule(
    name="global_model_weekly",
    job=global_model_job,
    cron_schedule="0 2 * * 0",  # before the tenants' weekly retrain, so cold starts get the fresh one
    execution_timezone=MARKET_TIMEZONE,
    default_status=DefaultScheduleStatus.RUNNING,
)
def global_model_schedule(context: ScheduleEvaluationContext):
    return {}


@schedule(
    name="playbook_daily",
    job=playbook_job,
    cron_schedule="45 13 * * *",  # after the prices (13:15) and the load forecast (13:30)
    execution_timezone=MARKET_TIMEZONE,
    default_status=DefaultScheduleStatus.RUNNING,
)
def playbook_daily_schedule(context: ScheduleEvaluationContext):
    return _per_tenant(context, "daily playbook", "playbook")
