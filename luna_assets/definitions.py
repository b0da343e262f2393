"""The one ``Definitions`` of Luna IEMS (``workspace.yaml`` and ``dagster dev`` load this)."""

from dagster import Definitions, in_process_executor, multiprocess_executor

from luna_assets.checks import ALL_CHECKS
from luna_assets.energy import consumption_hourly, meter_readings, tenant_kpis
from luna_assets.knowledge import document_chunks, documents, knowledge_collection, knowledge_index
from luna_assets.knowledge_checks import KNOWLEDGE_CHECKS
from luna_assets.market import day_ahead_prices
from luna_assets.ml import global_load_model, load_forecast, load_forecast_model
from luna_assets.playbook import recommendations
from luna_core.settings import Settings, get_settings
from resources import resources_for
from sensors.documents import queued_documents_sensor
from sensors.drift import forecast_drift_sensor
from sensors.feedback import feedback_sensor
from sensors.jobs import (
    energy_job,
    forecast_job,
    forecast_retrain_job,
    global_model_job,
    knowledge_job,
    knowledge_rebuild_job,
    market_job,
    playbook_job,
)
from sensors.landing import landing_files_sensor
from sensors.requests import outbox_sensor, request_failed, request_succeeded
from sensors.schedules import (
    energy_hourly_schedule,
    forecast_daily_schedule,
    forecast_retrain_schedule,
    global_model_schedule,
    market_daily_schedule,
    playbook_daily_schedule,
)
from sensors.tenants import tenant_registry_sensor

ASSETS = [
    meter_readings,
    consumption_hourly,
    tenant_kpis,
    day_ahead_prices,
    global_load_model,
    load_forecast_model,
    load_forecast,
    recommendations,
    documents,
    document_chunks,
    knowledge_index,
    knowledge_collection,
]


def build_definitions(settings: Settings | None = None) -> Definitions:
    settings = settings or get_settings()
    # A run per tenant is small: the process-per-step executor costs more than the steps.
    executor = in_process_executor if settings.environment in ("dev", "test") else multiprocess_executor
    return Definitions(
        assets=ASSETS,
        asset_checks=[*ALL_CHECKS, *KNOWLEDGE_CHECKS],
        jobs=[
            energy_job,
            market_job,
            forecast_retrain_job,
            forecast_job,
            global_model_job,
            playbook_job,
            knowledge_job,
            knowledge_rebuild_job,
        ],
        sensors=[
            tenant_registry_sensor,
            landing_files_sensor,
            outbox_sensor,
            request_succeeded,
            request_failed,
            forecast_drift_sensor,
            feedback_sensor,
            queued_documents_sensor,
        ],
        schedules=[
            market_daily_schedule,
            energy_hourly_schedule,
            forecast_daily_schedule,
            forecast_retrain_schedule,
            global_model_schedule,
            playbook_daily_schedule,
        ],
        resources=resources_for(settings),
        executor=executor,
    )


defs = build_definitions()
