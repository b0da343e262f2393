"""What every Luna resource shares: where the platform lives, and the settings it runs with."""

from dagster import ConfigurableResource
from pydantic import Field

from luna_core.settings import Settings, get_settings


class PlatformResource(ConfigurableResource):
    """The base of Luna's resources (not a resource of its own). Each field is a ``Settings`` field of
    the same name; an unset field falls back to the ``LUNA_*`` environment, so a resource's config in
    the Dagster UI is exactly what it overrides."""

    database_url: str | None = Field(None, description="PostgreSQL owner URL; unset: LUNA_DATABASE_URL")
    data_dir: str | None = Field(None, description="the platform's data folder; unset: LUNA_DATA_DIR")

    def settings(self) -> Settings:
        base = get_settings()
        overrides = {name: value for name in type(self).model_fields if (value := getattr(self, name)) is not None}
        return Settings.model_validate({**base.model_dump(), **overrides}) if overrides else base
