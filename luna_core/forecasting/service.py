"""The forecasting service: what the Dagster assets, the drift sensor, the API and the CLI call.

- ``train_tenant_model``: a tenant's candidate trained on its history, scored with the champion on the
  same held-out days, logged and registered in MLflow, then ``record_promotion``; a tenant with little
  history and no champion starts from the global model instead (cold start);
- ``record_promotion``: the promotion rule applied to one backtest, kept on the version (alias, reason);
- ``write_forecast``: the champion's forecast from the newest reading to the end of tomorrow (local);
- ``live_drift``: each champion's live error against what was measured, next to its backtest error;
- ``train_global_model``: the global model from the anonymised profiles of the tenants that share;
- ``model_versions``, ``move_champion``: the admin's list, promote and rollback;
- ``request_retrain``, ``retrain_requests``, ``read_forecasts``: what the API records and reads.

Training pulls in scikit-learn, pandas and the weather data, which take seconds to import; they are
imported inside the functions that train or forecast, so that the API (which reads forecasts and
moves aliases) starts without them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Engine

from luna_core import outbox
from luna_core.db.tenancy import tenant_scope
from luna_core.forecasting.registry import (
    CHALLENGER,
    CHAMPION,
    ModelRegistry,
    RegistryError,
    Version,
    decide_promotion,
    model_name,
)
from luna_core.forecasting.store import live_error, newest_hour, read_forecasts, site_load, write_forecasts
from luna_core.tenants import Tenant, fetch_tenant

if TYPE_CHECKING:
    from luna_core.forecasting.backtest import BacktestReport

# The names callers use; read_forecasts, RegistryError and the aliases come from the modules below.
__all__ = [
    "CANDIDATE",
    "CHALLENGER",
    "CHAMPION",
    "AlreadyChampion",
    "ChampionMove",
    "DriftCheck",
    "ForecastOutcome",
    "GlobalOutcome",
    "GlobalSettings",
    "ModelNotFound",
    "ModelVersions",
    "Promotion",
    "RegistryError",
    "TrainOutcome",
    "TrainSettings",
    "forecast_horizon",
    "live_drift",
    "model_name",
    "model_versions",
    "move_champion",
    "read_forecasts",
    "record_promotion",
    "request_retrain",
    "retrain_requests",
    "train_global_model",
    "train_tenant_model",
    "write_forecast",
]

# The methods' names in a training backtest; the baselines keep their own.
CANDIDATE = "candidate"
LIVE_WINDOW = timedelta(days=7)
MIN_LIVE_HOURS = 48  # fewer compared hours say more about chance than about drift
FORECAST_CONTEXT = timedelta(days=35)  # the features reach back four weeks (a 4-week mean per weekday and hour)
RETRAIN = "retrain"


class ModelNotFound(LookupError):
    """Not the caller's model: another tenant's model answers like a missing one."""


class AlreadyChampion(ValueError):
    pass


class TrainSettings(BaseModel):
    """How a tenant's model is trained (the Dagster asset's config is this model, so the UI shows it)."""

    model_config = ConfigDict(frozen=True)

    history_days: int = Field(365, description="Training data reaches back this far (days).")
    evaluation_days: int = Field(
        7, description="The newest days are held out: candidate and champion are scored on them, same origins."
    )
    min_history_days: int = Field(21, description="Fewer days of data than this and no local model is trained.")
    cold_start_days: int = Field(
        7, description="From this much history on, a tenant without a champion starts with the global model."
    )


class GlobalSettings(BaseModel):
    """Which tenants' history the global model learns from."""

    model_config = ConfigDict(frozen=True)

    history_days: int = Field(365, description="Each profile reaches back this far (days).")
    min_days: int = Field(28, description="Tenants with less history than this contribute nothing yet.")


@dataclass(frozen=True)
class TrainOutcome:
    """What one training did; ``report`` is None where no backtest ran (nothing trained, cold start)."""

    trained: bool
    reason: str
    model: str | None = None
    version: str | None = None
    alias: str | None = None
    source: str = "local"
    previous_champion: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    report: BacktestReport | None = None


@dataclass(frozen=True)
class Promotion:
    promoted: bool
    alias: str
    reason: str


def train_tenant_model(
    engine: Engine, registry: ModelRegistry, tenant_id: str, settings: TrainSettings | None = None
) -> TrainOutcome:
    """Trains a candidate on the tenant's history (the newest ``evaluation_days`` held out), scores it
    and the current champion on exactly those origins, registers it and applies the promotion rule."""
    from luna_core.forecasting.backtest import backtest_window, rolling_origins
    from luna_core.forecasting.model import LoadModel
    from luna_core.weather import tenant_temperature

    settings = settings or TrainSettings()
    tenant = fetch_tenant(engine, tenant_id)
    with tenant_scope(engine, tenant_id) as connection:
        newest = newest_hour(connection, tenant_id)
        if newest is None:
            return TrainOutcome(trained=False, reason="no readings yet")
        end = newest + timedelta(hours=1)
        load = site_load(connection, tenant_id, end - timedelta(days=settings.history_days), end)
    days = load.height / 24
    temperature = tenant_temperature(tenant, load["ts"].min(), end + timedelta(days=2))
    needed = settings.min_history_days + settings.evaluation_days
    if days < needed:
        started = _cold_start(registry, tenant, load, temperature, days) if days >= settings.cold_start_days else None
        return started or TrainOutcome(trained=False, reason=f"{days:.1f} days of history; training needs {needed}")
    local_end = end.astimezone(ZoneInfo(tenant.timezone)).date()
    origins = rolling_origins(
        load, timezone=tenant.timezone, min_history_days=0, start=local_end - timedelta(days=settings.evaluation_days)
    )
    holdout_start = origins[0]
    candidate = LoadModel().fit(
        load.filter(pl.col("ts") < holdout_start),
        temperature.filter(pl.col("ts") < holdout_start),
        tenant.state,
        tenant.timezone,
    )
    champion = registry.champion(tenant_id)
    models: dict[str, Any] = {CANDIDATE: candidate}
    if champion is not None:
        models[CHAMPION] = registry.load(tenant_id, champion.version)
    report = backtest_window(load, temperature, origins, models, timezone=tenant.timezone)
    metrics = {
        "backtest_mae": report.mae(CANDIDATE),
        "backtest_nmae": report.nmae(CANDIDATE),
        "skill_vs_seasonal_naive": report.skill(CANDIDATE),
        **{f"{method}_mae": report.mae(method) for method in report.methods if method not in models},
    }
    version = registry.register(
        tenant_id,
        candidate,
        metrics=metrics,
        params={"history_days": round(days, 1), "holdout_start": holdout_start.isoformat(), **candidate.describe()},
        tags={"luna.holdout_start": holdout_start.isoformat(), "luna.origins": str(len(origins))},
    )
    promotion = record_promotion(registry, tenant_id, version.version, report)
    return TrainOutcome(
        trained=True,
        reason=promotion.reason,
        model=model_name(tenant_id),
        version=version.version,
        alias=promotion.alias,
        previous_champion=champion.version if champion else None,
        metrics=metrics,
        report=report,
    )


def record_promotion(registry: ModelRegistry, tenant_id: str, version: str, report: BacktestReport) -> Promotion:
    """The candidate becomes champion if it beats the champion in ``report`` (both scored on the same
    origins; no champion there: the first version wins), else challenger; the reason stays on the version."""
    champion_mae = report.mae(CHAMPION) if CHAMPION in report.methods else None
    promoted, reason = decide_promotion(report.mae(CANDIDATE), champion_mae)
    alias = CHAMPION if promoted else CHALLENGER
    registry.set_alias(tenant_id, version, alias, reason)
    return Promotion(promoted=promoted, alias=alias, reason=reason)


def _cold_start(
    registry: ModelRegistry, tenant: Tenant, load: pl.DataFrame, temperature: pl.DataFrame, days: float
) -> TrainOutcome | None:
    """A tenant with little history and no champion gets the global model scaled to its volume; its
    own model replaces it once it beats it on the same held-out days (the usual promotion rule)."""
    from luna_core.forecasting.global_model import GLOBAL

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
    return TrainOutcome(
        trained=True,
        reason=reason,
        model=model_name(tenant.id),
        version=version.version,
        alias=CHAMPION,
        source="global",
    )


@dataclass(frozen=True)
class ForecastOutcome:
    written: int
    reason: str = ""
    model_version: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    kwh_total: float = 0.0


def forecast_horizon(origin: datetime, timezone: str) -> datetime:
    """The end of tomorrow in the tenant's time zone, seen from ``origin``."""
    zone = ZoneInfo(timezone)
    return datetime.combine(origin.astimezone(zone).date() + timedelta(days=2), datetime.min.time(), zone)


def write_forecast(
    engine: Engine, registry: ModelRegistry, tenant_id: str, now: datetime | None = None
) -> ForecastOutcome:
    """Hourly forecasts by the champion from the hour after the newest reading (or after ``now``
    before the first one) to the end of tomorrow; each row keeps the version that made it."""
    from luna_core.weather import tenant_temperature

    champion = registry.champion(tenant_id)
    if champion is None:
        return ForecastOutcome(written=0, reason="no champion model")
    tenant = fetch_tenant(engine, tenant_id)
    model = registry.load(tenant_id, champion.version)
    with tenant_scope(engine, tenant_id) as connection:
        newest = newest_hour(connection, tenant_id)
        origin = (newest or (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)) + timedelta(hours=1)
        end = forecast_horizon(origin, tenant.timezone)
        hours = int((end - origin).total_seconds() // 3600)
        history = site_load(connection, tenant_id, origin - FORECAST_CONTEXT, origin)
        temperature = tenant_temperature(tenant, origin - timedelta(days=2), end)
        predicted = model.predict(origin, hours, temperature_future=temperature, history=history)
        written = write_forecasts(connection, tenant_id, predicted, model_name(tenant_id), champion.version)
    return ForecastOutcome(
        written=written,
        model_version=champion.version,
        start=origin,
        end=end,
        kwh_total=float(predicted["kwh_pred"].sum()),
    )


@dataclass(frozen=True)
class DriftCheck:
    """A champion's live error over the window next to ``factor`` x its backtest error."""

    tenant_id: str
    version: str
    live_mae: float
    hours: int
    limit: float

    @property
    def drifted(self) -> bool:
        return self.live_mae > self.limit


def live_drift(
    engine: Engine,
    registry: ModelRegistry,
    tenant_ids: Iterable[str],
    factor: float,
    *,
    now: datetime | None = None,
    window: timedelta = LIVE_WINDOW,
    min_hours: int = MIN_LIVE_HOURS,
) -> list[DriftCheck]:
    """One check per tenant that can be compared: a champion with a backtest MAE, and at least
    ``min_hours`` forecast hours in the window that were then measured completely."""
    since = (now or datetime.now(UTC)) - window
    checks = []
    for tenant_id in tenant_ids:
        champion = registry.champion(tenant_id)
        if champion is None or "backtest_mae" not in champion.metrics:
            continue
        with tenant_scope(engine, tenant_id) as connection:
            mae, hours = live_error(connection, tenant_id, since)
        if mae is None or hours < min_hours:
            continue
        limit = factor * champion.metrics["backtest_mae"]
        checks.append(DriftCheck(tenant_id, champion.version, mae, hours, limit))
    return checks


@dataclass(frozen=True)
class GlobalOutcome:
    trained: bool
    counts: dict[str, int]
    version: str | None = None
    reason: str = ""


def train_global_model(
    engine: Engine, registry: ModelRegistry, settings: GlobalSettings | None = None
) -> GlobalOutcome:
    """Learns load shapes from the sharing tenants' anonymised profiles and makes the new version
    the global champion; needs at least two profiles."""
    from luna_core.forecasting.anonymise import GlobalModel
    from luna_core.forecasting.global_model import GLOBAL, global_training_set

    settings = settings or GlobalSettings()
    found = global_training_set(engine, settings.history_days, settings.min_days)
    counts = {"profiles": len(found.profiles), "opted_out": len(found.opted_out), "too_short": len(found.too_short)}
    if len(found.profiles) < 2:
        return GlobalOutcome(
            trained=False, counts=counts, reason=f"global model needs at least two shared profiles: {counts}"
        )
    model = GlobalModel().fit(found.profiles)
    version = registry.register(
        GLOBAL, model, metrics={"profiles": float(len(found.profiles))}, params=model.describe()
    )
    reason = f"trained on {len(found.profiles)} anonymised profiles"
    registry.set_alias(GLOBAL, version.version, CHAMPION, reason)
    return GlobalOutcome(trained=True, counts=counts, version=version.version, reason=reason)


@dataclass(frozen=True)
class ModelVersions:
    name: str
    champion: str | None
    versions: list[Version]


def model_versions(registry: ModelRegistry, tenant_id: str) -> ModelVersions:
    """The tenant's versions, newest first, and which one is champion."""
    versions = registry.versions(tenant_id)
    champion = next((v.version for v in versions if CHAMPION in v.aliases), None)
    return ModelVersions(name=model_name(tenant_id), champion=champion, versions=versions)


@dataclass(frozen=True)
class ChampionMove:
    version: Version
    previous: str | None


def move_champion(registry: ModelRegistry, tenant_id: str, name: str, version: str, reason: str) -> ChampionMove:
    """Points the tenant's champion at ``version`` (a promotion or a rollback, by an admin).

    Raises ``ModelNotFound`` for a model that is not the tenant's, ``AlreadyChampion``, and
    ``RegistryError`` for a version that does not exist."""
    if name != model_name(tenant_id):
        raise ModelNotFound(name)
    current = registry.champion(tenant_id)
    if current is not None and current.version == version:
        raise AlreadyChampion(f"version {version} is already the champion")
    moved = registry.set_alias(tenant_id, version, CHAMPION, reason)
    return ChampionMove(version=moved, previous=current.version if current else None)


def request_retrain(connection: Connection, tenant_id: str, reason: str, requested_by: str) -> int:
    """Queues a retraining run in the outbox (a sensor starts it). Run inside ``tenant_scope``."""
    return outbox.enqueue(connection, tenant_id, RETRAIN, {"reason": reason}, requested_by=requested_by)


def retrain_requests(connection: Connection, tenant_id: str, limit: int = 20) -> list[Any]:
    """The newest retraining requests with their status. Run inside ``tenant_scope``."""
    return outbox.recent(connection, tenant_id, RETRAIN, limit)
