"""The MLflow model registry of the load forecasts."""

from pydantic import Field

from resources.platform import PlatformResource


class ModelRegistryResource(PlatformResource):
    mlflow_url: str | None = Field(None, description="MLflow tracking URI; unset: database 'mlflow' beside ours")

    def registry(self):
        """Imported on first use: MLflow takes a second to import."""
        from luna_core.forecasting.registry import registry_for

        return registry_for(self.settings())
