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
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

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


def ensure_database_owner(engine: Engine, url: URL) -> bool:
    """A database beside Luna's (Dagster's run storage) owned by a role of its own: the role named in
    ``url`` is created with its password and no other right, and the database is created for it or
    handed to it. Nothing happens when ``url`` names the owner itself or another server. Returns
    whether it acted."""
    role, database = url.username, url.database
    if not role or not database or (url.host, url.port or 5432) != (engine.url.host, engine.url.port or 5432):
        return False
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if role == connection.exec_driver_sql("SELECT current_user").scalar_one():
            return False
        exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        verb = "ALTER" if exists else "CREATE"
        rights = "" if exists else " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT"
        if url.password or not exists:
            statement = connection.execute(
                text(f"SELECT format('{verb} ROLE %I{rights} PASSWORD %L', CAST(:r AS text), CAST(:p AS text))"),
                {"r": role, "p": url.password},
            ).scalar_one()
            connection.exec_driver_sql(statement)
        found = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).first()
        template = "ALTER DATABASE %I OWNER TO %I" if found else "CREATE DATABASE %I OWNER %I"
        statement = connection.execute(
            text("SELECT format(:t, CAST(:d AS text), CAST(:r AS text))"), {"t": template, "d": database, "r": role}
        ).scalar_one()
        connection.exec_driver_sql(statement)
    # Its schema too: where template1's public schema belongs to the superuser, owning the database is not enough.
    inside = create_engine(engine.url.set(database=database), poolclass=NullPool)
    try:
        with inside.begin() as connection:
            statement = connection.execute(
                text("SELECT format('ALTER SCHEMA public OWNER TO %I', CAST(:r AS text))"), {"r": role}
            ).scalar_one()
            connection.exec_driver_sql(statement)
    finally:
        inside.dispose()
    return True


def downgrade(engine: Engine, app_role: str, revision: str = "base") -> None:
    with engine.begin() as connection:
        command.downgrade(_config(engine, connection, app_role), revision)


def stored_revision(connection: Connection) -> str | None:
    """The revision recorded in ``alembic_version`` (readable by the application role too)."""
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
