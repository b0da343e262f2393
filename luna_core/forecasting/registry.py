"""Model versions in MLflow: one registered model per tenant and target, aliases instead of stages.

``champion`` is the version that serves forecasts; a new version takes it only if it beats the
champion on the same backtest window, otherwise it becomes ``challenger`` and the reason is
kept on the version. Rollback moves ``champion`` back to an earlier version.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from luna_core.settings import Settings

CHAMPION, CHALLENGER = "champion", "challenger"
# Explicit requirements: letting MLflow infer the environment costs seconds per logged model.
PIP_REQUIREMENTS = ["scikit-learn==1.9.1", "numpy==2.4.6", "polars==2.1.0", "pandas==3.1.1"]


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class Version:
    name: str
    version: str
    aliases: tuple[str, ...]
    run_id: str | None
    metrics: dict[str, float]
    tags: dict[str, str]
    created_at_ms: int


def model_name(tenant_id: str, target: str = "load") -> str:
    return f"luna-{tenant_id}-{target}"


@lru_cache(maxsize=4)
def _mlflow(tracking_uri: str):
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return mlflow


class ModelRegistry:
    def __init__(self, tracking_uri: str, artifact_root: Path) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self.mlflow = _mlflow(tracking_uri)
        self.client = self.mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def _experiment(self, tenant_id: str) -> str:
        name = f"luna-{tenant_id}"
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = self.artifact_root.resolve() / tenant_id
        location.mkdir(parents=True, exist_ok=True)
        return self.client.create_experiment(name, artifact_location=location.as_uri(), tags={"tenant": tenant_id})

    def register(
        self,
        tenant_id: str,
        model: Any,
        *,
        metrics: dict[str, float],
        params: dict[str, Any],
        target: str = "load",
        tags: dict[str, str] | None = None,
    ) -> Version:
        """Logs a run with the model and its backtest metrics and registers a new version (no alias yet)."""
        mlflow = self.mlflow
        wrapper = _wrap(model)
        with mlflow.start_run(experiment_id=self._experiment(tenant_id), run_name=f"train-{target}"):
            mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
            mlflow.log_metrics(metrics)
            mlflow.set_tags({"tenant": tenant_id, "target": target, **(tags or {})})
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=wrapper,
                pip_requirements=PIP_REQUIREMENTS,
                registered_model_name=model_name(tenant_id, target),
            )
        version = str(info.registered_model_version)
        for key, value in (tags or {}).items():
            self.client.set_model_version_tag(model_name(tenant_id, target), version, key, value)
        return self.get(tenant_id, version, target)

    def get(self, tenant_id: str, version: str, target: str = "load") -> Version:
        name = model_name(tenant_id, target)
        try:
            found = self.client.get_model_version(name, str(version))
        except Exception as error:  # MLflow raises its own exception type for a missing version
            raise RegistryError(f"{name} has no version {version}") from error
        return self._version(found)

    def versions(self, tenant_id: str, target: str = "load") -> list[Version]:
        name = model_name(tenant_id, target)
        found = self.client.search_model_versions(f"name = '{name}'")
        if not found:
            return []
        # Searching versions leaves their aliases empty: they come from the registered model.
        by_version: dict[str, list[str]] = {}
        for alias, version in (self.client.get_registered_model(name).aliases or {}).items():
            by_version.setdefault(str(version), []).append(alias)
        versions = [self._version(v, tuple(sorted(by_version.get(str(v.version), [])))) for v in found]
        return sorted(versions, key=lambda v: int(v.version), reverse=True)

    def champion(self, tenant_id: str, target: str = "load") -> Version | None:
        name = model_name(tenant_id, target)
        try:
            return self._version(self.client.get_model_version_by_alias(name, CHAMPION))
        except Exception:  # no registered model yet, or no champion alias
            return None

    def set_alias(self, tenant_id: str, version: str, alias: str, reason: str, target: str = "load") -> Version:
        name = model_name(tenant_id, target)
        self.get(tenant_id, version, target)  # a clear error for a version that does not exist
        self.client.set_registered_model_alias(name, alias, str(version))
        self.client.set_model_version_tag(name, str(version), f"luna.{alias}_reason", reason[:500])
        return self.get(tenant_id, version, target)

    def load(self, tenant_id: str, alias_or_version: str = CHAMPION, target: str = "load") -> Any:
        name = model_name(tenant_id, target)
        reference = f"@{alias_or_version}" if not str(alias_or_version).isdigit() else f"/{alias_or_version}"
        loaded = self.mlflow.pyfunc.load_model(f"models:/{name}{reference}")
        return loaded.unwrap_python_model().model

    def _version(self, found: Any, aliases: tuple[str, ...] | None = None) -> Version:
        metrics: dict[str, float] = {}
        if found.run_id:
            metrics = dict(self.client.get_run(found.run_id).data.metrics)
        return Version(
            name=found.name,
            version=str(found.version),
            aliases=aliases if aliases is not None else tuple(found.aliases or ()),
            run_id=found.run_id,
            metrics=metrics,
            tags=dict(found.tags or {}),
            created_at_ms=int(found.creation_timestamp or 0),
        )


def registry_for(settings: Settings) -> ModelRegistry:
    """The registry the settings name (tracking store and artifact root); MLflow is imported here."""
    return ModelRegistry(settings.mlflow_tracking_uri(), settings.mlflow_artifact_root)


def decide_promotion(new_mae: float, champion_mae: float | None, min_improvement: float = 0.0) -> tuple[bool, str]:
    """Both errors must come from the same backtest window; lower is better."""
    if champion_mae is None:
        return True, f"first version (backtest MAE {new_mae:.4f})"
    if new_mae < champion_mae * (1 - min_improvement):
        return True, f"backtest MAE {new_mae:.4f} beats the champion's {champion_mae:.4f} on the same window"
    return False, f"backtest MAE {new_mae:.4f} does not beat the champion's {champion_mae:.4f} on the same window"


def _wrap(model: Any):
    import mlflow

    class LunaModel(mlflow.pyfunc.PythonModel):
        """Keeps the trained object as is; Luna calls its own methods after unwrap_python_model()."""

        def __init__(self, inner: Any) -> None:
            self.model = inner

        # Untyped on purpose: MLflow derives a signature from type hints and warns on ones it cannot use.
        def predict(self, context, model_input, params=None):
            return self.model.predict_frame(model_input)

    return LunaModel(model)
