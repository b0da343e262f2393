"""Load forecasting per tenant: train and register a model version, then forecast with the champion."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from sqlalchemy import text

from luna_assets.energy import consumption_hourly
from luna_assets.partitions import tenants_partitions
from luna_core.db.tenancy import tenant_scope
from luna_core.forecasting.anonymise import GlobalModel
from luna_core.forecasting.backtest import backtest_window, rolling_origins
from luna_core.forecasting.global_model import GLOBAL, global_training_set
from luna_core.forecasting.model import LoadModel
from luna_core.forecasting.registry import CHALLENGER, CHAMPION, decide_promotion, model_name
from luna_core.forecasting.store import site_load, write_forecasts
from luna_core.tenants import get_tenant
from luna_core.weather import tenant_temperature
from resources import LunaResource

_NEWEST_HOUR_SQL = text("SELECT max(hour) FROM consumption_hourly WHERE tenant_id = :tenant")


class GlobalConfig(Config):
    history_days: int = 365
    min_days: int = 28
    """Tenants with less history than this contribute nothing yet."""


@asset(
    group_name="ml",
    kinds={"mlflow", "scikit-learn"},
    deps=[consumption_hourly],
    description="One model of load shapes learnt from the anonymised profiles of every tenant that shares "
    "them (no tenant ids, no absolute kWh); new tenants start from it, scaled to their own volume.",
)
def global_load_model(context: AssetExecutionContext, config: GlobalConfig, luna: LunaResource) -> MaterializeResult:
    found = global_training_set(luna.engine(), config.history_days, config.min_days)
    counts = {"profiles": len(found.profiles), "opted_out": len(found.opted_out), "too_short": len(found.too_short)}
    if len(found.profiles) < 2:
        context.log.warning(f"global model needs at least two shared profiles: {counts}")
        return MaterializeResult(metadata={"trained": False, **counts})
    model = GlobalModel().fit(found.profiles)
    registry = luna.registry()
    version = registry.register(
        GLOBAL, model, metrics={"profiles": float(len(found.profiles))}, params=model.describe()
    )
    registry.set_alias(GLOBAL, version.version, CHAMPION, f"trained on {len(found.profiles)} anonymised profiles")
    return MaterializeResult(metadata={"trained": True, "version": version.version, **counts})


class TrainConfig(Config):
    history_days: int = 365
    """Training data reaches back this far."""
    evaluation_days: int = 7
    """The newest days are held out: candidate and champion are scored on them, same origins."""
    min_history_days: int = 21
    """Fewer days of data than this and no local model is trained."""
    cold_start_days: int = 7
    """From this much history on, a tenant without a champion starts with the global model."""


def _newest_hour(luna: LunaResource, tenant: str) -> datetime | None:
    with tenant_scope(luna.engine(), tenant) as connection:
        return connection.execute(_NEWEST_HOUR_SQL, {"tenant": tenant}).scalar_one()


@asset(
    partitions_def=tenants_partitions,
    group_name="ml",
    kinds={"mlflow", "scikit-learn"},
    deps=[consumption_hourly],
    description="Trains a day-ahead load model on the tenant's history, scores it and the current champion "
    "on the same held-out days, registers the new version in MLflow and makes it champion only if it wins.",
)
def load_forecast_model(context: AssetExecutionContext, config: TrainConfig, luna: LunaResource) -> MaterializeResult:
    tenant_id = context.partition_key
    tenant = get_tenant(luna.engine(), tenant_id)
    newest = _newest_hour(luna, tenant_id)
    if newest is None:
        return MaterializeResult(metadata={"trained": False, "reason": "no readings yet"})
    end = newest + timedelta(hours=1)
    with tenant_scope(luna.engine(), tenant_id) as connection:
        load = site_load(connection, tenant_id, end - timedelta(days=config.history_days), end)
    days = load.height / 24
    temperature = tenant_temperature(tenant, load["ts"].min(), end + timedelta(days=2))
    if days < config.min_history_days + config.evaluation_days:
        if days >= config.cold_start_days:
            started = _cold_start(luna, tenant, load, temperature, days)
            if started is not None:
                context.log.info(started["reason"])
                return MaterializeResult(metadata={"trained": True, **started})
        reason = f"{days:.1f} days of history; training needs {config.min_history_days + config.evaluation_days}"
        context.log.warning(reason)
        return MaterializeResult(metadata={"trained": False, "reason": reason})
    local_end = end.astimezone(ZoneInfo(tenant.timezone)).date()
    origins = rolling_origins(
        load, timezone=tenant.timezone, min_history_days=0, start=local_end - timedelta(days=config.evaluation_days)
    )
    holdout_start = origins[0]
    candidate = LoadModel().fit(
        load.filter(pl.col("ts") < holdout_start),
        temperature.filter(pl.col("ts") < holdout_start),
        tenant.state,
        tenant.timezone,
    )
    registry = luna.registry()
    champion = registry.champion(tenant_id)
    models = {"candidate": candidate}
    if champion is not None:
        models["champion"] = registry.load(tenant_id, champion.version)
    report = backtest_window(load, temperature, origins, models, timezone=tenant.timezone)
    metrics = {
        "backtest_mae": report.mae("candidate"),
        "backtest_nmae": report.nmae("candidate"),
        "skill_vs_seasonal_naive": report.skill("candidate"),
        **{f"{method}_mae": report.mae(method) for method in report.methods if method not in models},
    }
    version = registry.register(
        tenant_id,
        candidate,
        metrics=metrics,
        params={"history_days": round(days, 1), "holdout_start": holdout_start.isoformat(), **candidate.describe()},
        tags={"luna.holdout_start": holdout_start.isoformat(), "luna.origins": str(len(origins))},
    )
    champion_mae = report.mae("champion") if champion is not None else None
    promoted, reason = decide_promotion(metrics["backtest_mae"], champion_mae)
    registry.set_alias(tenant_id, version.version, CHAMPION if promoted else CHALLENGER, reason)
    context.log.info(f"{model_name(tenant_id)} v{version.version}: {reason}")
    return MaterializeResult(
        metadata={
            "trained": True,
            "model": model_name(tenant_id),
            "version": version.version,
            "alias": CHAMPION if promoted else CHALLENGER,
            "reason": reason,
            "previous_champion": champion.version if champion else "none",
            "backtest": MetadataValue.md(report.table().to_pandas().to_markdown(index=False)),
            **{k: round(v, 4) for k, v in metrics.items()},
        }
    )


def _cold_start(luna: LunaResource, tenant, load: pl.DataFrame, temperature: pl.DataFrame, days: float):
    """A tenant with little history and no champion gets the global model scaled to its volume; its
    own model replaces it once it beats it on the same held-out days (the usual promotion rule)."""
    registry = luna.registry()
    global_champion = registry.champion(GLOBAL)
    if global_champion is None or registry.champion(tenant.id) is not None:
        return None
    scaled = registry.load(GLOBAL, global_champion.version).scale_to(load, temperature, tenant.state, tenant.timezone)
    version = registry.register(
        tenant.id,
        scaled,
        metrics={},
        params={"source": "global", "global_version": global_champion.version, "history_days": round(days, 1)},
        tags={"luna.source": "global"},
    )
    reason = f"cold start: global model v{global_champion.version} scaled to {days:.1f} days of history"
    registry.set_alias(tenant.id, version.version, CHAMPION, reason)
    return {
        "model": model_name(tenant.id),
        "version": version.version,
        "alias": CHAMPION,
        "source": "global",
        "reason": reason,
    }


@asset(
    partitions_def=tenants_partitions,
    group_name="ml",
    kinds={"postgres"},
    deps=[load_forecast_model, consumption_hourly],
    description="Hourly load forecast from the newest reading to the end of tomorrow (tenant-local), made by "
    "the champion model; each row keeps the model version that made it.",
)
def load_forecast(context: AssetExecutionContext, luna: LunaResource) -> MaterializeResult:
    tenant_id = context.partition_key
    registry = luna.registry()
    champion = registry.champion(tenant_id)
    if champion is None:
        context.log.warning("no champion model yet; no forecast written")
        return MaterializeResult(metadata={"written": 0, "reason": "no champion model"})
    tenant = get_tenant(luna.engine(), tenant_id)
    newest = _newest_hour(luna, tenant_id)
    origin = (newest or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)) + timedelta(hours=1)
    zone = ZoneInfo(tenant.timezone)
    tomorrow_end = datetime.combine(origin.astimezone(zone).date() + timedelta(days=2), datetime.min.time(), zone)
    hours = int((tomorrow_end - origin).total_seconds() // 3600)
    model = registry.load(tenant_id, champion.version)
    with tenant_scope(luna.engine(), tenant_id) as connection:
        # The features reach back four weeks (a 4-week mean per weekday and hour).
        history = site_load(connection, tenant_id, origin - timedelta(days=35), origin)
        temperature = tenant_temperature(tenant, origin - timedelta(days=2), tomorrow_end)
        predicted = model.predict(origin, hours, temperature_future=temperature, history=history)
        written = write_forecasts(connection, tenant_id, predicted, model_name(tenant_id), champion.version)
    return MaterializeResult(
        metadata={
            "written": written,
            "model_version": champion.version,
            "from": MetadataValue.timestamp(origin),
            "to": MetadataValue.timestamp(tomorrow_end),
            "kwh_forecast_total": round(float(predicted["kwh_pred"].sum()), 2),
        }
    )
