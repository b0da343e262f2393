"""Dagster resources, one per external system, each building ``luna_core`` clients from settings.

``resources_for`` is the one place that chooses them by environment."""

from luna_core.settings import Settings, get_settings
from resources.database import DatabaseResource
from resources.knowledge import KnowledgeResource
from resources.model_registry import ModelRegistryResource
from resources.platform import PlatformResource
from resources.price_source import PriceSourceResource

__all__ = [
    "RESOURCES",
    "DatabaseResource",
    "KnowledgeResource",
    "ModelRegistryResource",
    "PlatformResource",
    "PriceSourceResource",
    "resources_for",
]

# Fields holding credentials: shown in the Dagster UI only in tests; elsewhere read from LUNA_*.
SECRET_FIELDS = {"database_url", "vector_database_url", "mlflow_url", "entsoe_token"}
RESOURCES: dict[str, type[PlatformResource]] = {
    "database": DatabaseResource,
    "knowledge": KnowledgeResource,
    "model_registry": ModelRegistryResource,
    "price_source": PriceSourceResource,
}


def _config(cls: type[PlatformResource], settings: Settings) -> dict[str, object]:
    shown = cls.model_fields if settings.environment == "test" else set(cls.model_fields) - SECRET_FIELDS
    values = {name: getattr(settings, name) for name in shown}
    return {
        name: str(value) if name in ("data_dir", "market_csv_path") else value
        for name, value in values.items()
        if value is not None
    }


def resources_for(settings: Settings | None = None) -> dict[str, PlatformResource]:
    """The resources by environment: every environment talks to real services configured by ``LUNA_*``;
    what each resource was given shows in the Dagster UI (credentials only in tests)."""
    settings = settings or get_settings()
    return {key: cls(**_config(cls, settings)) for key, cls in RESOURCES.items()}
