"""Apply Alembic migrations with the owner connection.

The app role's name comes from settings and reaches the migrations through
``config.attributes`` so no migration hard-codes it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config(engine: Engine, connection, app_role: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    config.attributes["app_role"] = app_role
    return config


def upgrade(engine: Engine, app_role: str, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(_config(engine, connection, app_role), revision)


def set_role_password(engine: Engine, role: str, password: str) -> None:
    """Sets the application role's password (production; the value is quoted by the server)."""
    with engine.begin() as connection:
        statement = connection.exec_driver_sql(
            "SELECT format('ALTER ROLE %%I PASSWORD %%L', %(role)s, %(password)s)", {"role": role, "password": password}
        ).scalar_one()
        connection.exec_driver_sql(statement)


def downgrade(engine: Engine, app_role: str, revision: str = "base") -> None:
    with engine.begin() as connection:
        command.downgrade(_config(engine, connection, app_role), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
