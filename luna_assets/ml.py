"""Load forecasting per tenant: train and register a model version, then forecast with the champion.
The work is the forecasting service's (``luna_core.forecasting.service``); these assets call it and
turn its outcome into Dagster metadata."""

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset

from luna_assets.energy import consumption_hourly
from luna_core.forecasting import service
from resources import DatabaseResource, ModelRegistryResource
from sensors.partitions import tenants_partitions


class GlobalConfig(Config, service.GlobalSettings):
    """The service's settings for the global model, as run config (the Dagster UI shows each field)."""


@asset(
    group_name="ml",
    kinds={"mlflow", "scikit-learn"},
    deps=[consumption_hourly],
    description="One model of load shapes learnt from the anonymised profiles of every tenant that shares "
    "them (no tenant ids, no absolute kWh); new tenants start from it, scaled to their own volume.",
)
def global_load_model(
    context: AssetExecutionContext,
    config: GlobalConfig,
    database: DatabaseResource,
    model_registry: ModelRegistryResource,
) -> MaterializeResult:
    outcome = service.train_global_model(database.engine(), model_registry.registry(), config)
    if not outcome.trained:
        context.log.warning(outcome.reason)
        return MaterializeResult(metadata={"trained": False, **outcome.counts})
    return MaterializeResult(metadata={"trained": True, "version": outcome.version, **outcome.counts})


class TrainConfig(Config, service.TrainSettings):
    """The service's training settings, as run config (the Dagster UI shows each field)."""


@asset(
    partitions_def=tenants_partitions,
    group_name="ml",
    kinds={"mlflow", "scikit-learn"},
    deps=[consumption_hourly],
    description="Trains a day-ahead load model on the tenant's history, scores it and the current champion "
    "on the same held-out days, registers the new version in MLflow and makes it champion only if it wins.",
)
def load_forecast_model(
    context: AssetExecutionContext,
    config: TrainConfig,
    database: DatabaseResource,
    model_registry: ModelRegistryResource,
) -> MaterializeResult:
    outcome = service.train_tenant_model(database.engine(), model_registry.registry(), context.partition_key, config)
    if not outcome.trained:
        context.log.warning(outcome.reason)
        return MaterializeResult(metadata={"trained": False, "reason": outcome.reason})
    context.log.info(f"{outcome.model} v{outcome.version}: {outcome.reason}")
    metadata = {
        "trained": True,
        "model": outcome.model,
        "version": outcome.version,
        "alias": outcome.alias,
        "reason": outcome.reason,
    }
    if outcome.report is None:  # a cold start from the global model: nothing was backtested
        return MaterializeResult(metadata={**metadata, "source": outcome.source})
    return MaterializeResult(
        metadata={
            **metadata,
            "previous_champion": outcome.previous_champion or "none",
            "backtest": MetadataValue.md(outcome.report.table().to_pandas().to_markdown(index=False)),
            **{k: round(v, 4) for k, v in outcome.metrics.items()},
        }
    )


@asset(
    partitions_def=tenants_partitions,
    group_name="ml",
    kinds={"postgres"},
    deps=[load_forecast_model, consumption_hourly],
    description="Hourly load forecast from the newest reading to the end of tomorrow (tenant-local), made by "
    "the champion model; each row keeps the model version that made it.",
)
def load_forecast(
    context: AssetExecutionContext, database: DatabaseResource, model_registry: ModelRegistryResource
) -> MaterializeResult:
    outcome = service.write_forecast(database.engine(), model_registry.registry(), context.partition_key)
    if outcome.model_version is None:
        context.log.warning("no champion model yet; no forecast written")
        return MaterializeResult(metadata={"written": 0, "reason": outcome.reason})
    return MaterializeResult(
        metadata={
            "written": outcome.written,
            "model_version": outcome.model_version,
            "from": MetadataValue.timestamp(outcome.start),
            "to": MetadataValue.timestamp(outcome.end),
            "kwh_forecast_total": round(outcome.kwh_total, 2),
        }
    )
