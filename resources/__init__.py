"""Dagster resources: thin wrappers that build ``luna_core`` clients from settings."""

from dagster import ConfigurableResource
from sqlalchemy import Engine

from luna_core.db.engine import app_engine
from luna_core.market.sources import PriceSource, price_source
from luna_core.settings import Settings, get_settings


class LunaResource(ConfigurableResource):
    """The platform as Dagster sees it. Unset fields fall back to the ``LUNA_*`` environment."""

    database_url: str | None = None
    data_dir: str | None = None
    market_source: str | None = None
    market_csv_path: str | None = None
    entsoe_token: str | None = None
    entsoe_url: str | None = None
    mlflow_url: str | None = None
    vector_database_url: str | None = None

    def settings(self) -> Settings:
        base = get_settings()
        overrides = {
            key: value
            for key, value in (
                ("database_url", self.database_url),
                ("data_dir", self.data_dir),
                ("market_source", self.market_source),
                ("market_csv_path", self.market_csv_path),
                ("entsoe_token", self.entsoe_token),
                ("entsoe_url", self.entsoe_url),
                ("mlflow_url", self.mlflow_url),
                ("vector_database_url", self.vector_database_url),
            )
            if value is not None
        }
        return Settings.model_validate({**base.model_dump(), **overrides}) if overrides else base

    def engine(self) -> Engine:
        return app_engine(self.settings())

    def knowledge(self):
        """Tika, the embedder and the vector index, built once per configuration in this process; Dagster
        is the owner-side path, so the index may rebuild (blue/green) with owner rights."""
        from luna_core.knowledge.service import knowledge_for

        return knowledge_for(self.settings(), maintenance=True)

    def registry(self):
        """The MLflow model registry (imported on first use: MLflow takes a second to import)."""
        from luna_core.forecasting.registry import registry_for

        return registry_for(self.settings())

    def prices(self) -> PriceSource:
        settings = self.settings()
        return price_source(
            settings.market_source,
            seed=settings.seed,
            csv_path=settings.market_csv_path,
            entsoe_token=settings.entsoe_token,
            entsoe_url=settings.entsoe_url,
        )


def build_resources(settings: Settings | None = None) -> dict[str, object]:
    """Resources by environment: every environment talks to real services, configured by ``LUNA_*``."""
    settings = settings or get_settings()
    if settings.environment == "test":
        return {
            "luna": LunaResource(
                database_url=settings.database_url,
                data_dir=str(settings.data_dir),
                vector_database_url=settings.vector_database_url,
            )
        }
    return {"luna": LunaResource()}
