"""Dagster's run storage under a role of its own (``luna db upgrade`` with the compose secrets), so
the processes that read it (the API's metrics, the Dagster UI) hold no owner credentials: on the
real PostgreSQL at 127.0.0.1:5432 the role is made without any other right, gets the database, can
work in it, and can read nothing of Luna's."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from luna_core.db import migrate
from luna_core.db.engine import owner_engine
from tests.conftest import SERVER_URL


@pytest.fixture
def storage():
    suffix = uuid.uuid4().hex[:8]
    role, database = f"luna_dagster_{suffix}", f"luna_test_dagster_{suffix}"
    yield role, database
    server = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    server.dispose()


def test_the_run_storage_gets_a_role_that_owns_it_and_nothing_else(settings, storage):
    role, database = storage
    owner = owner_engine(settings)
    url = settings.owner_url().set(
        username=role, password="s3cret-pw", database=database, drivername="postgresql+psycopg2"
    )
    assert migrate.ensure_database_owner(owner, url)
    assert migrate.ensure_database_owner(owner, url)  # again: the password is set again, nothing breaks
    with owner.connect() as connection:
        flags = connection.execute(
            text("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).one()
        database_owner = connection.execute(
            text("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :d"), {"d": database}
        ).scalar_one()
    assert tuple(flags) == (False, False, False) and database_owner == role

    as_role = create_engine(url.set(drivername="postgresql+psycopg"))
    with as_role.begin() as connection:  # what Dagster does on first start: its own tables
        connection.execute(text("CREATE TABLE runs (run_id text PRIMARY KEY, status text)"))
        connection.execute(text("INSERT INTO runs VALUES ('r1', 'SUCCESS')"))
    as_role.dispose()
    luna = create_engine(settings.owner_url().set(username=role, password="s3cret-pw"))
    with pytest.raises(ProgrammingError, match="permission denied"), luna.connect() as connection:
        connection.execute(text("SELECT count(*) FROM tenants")).scalar_one()
    luna.dispose()


def test_nothing_happens_for_the_owner_itself_or_another_server(settings):
    owner = owner_engine(settings)
    assert not migrate.ensure_database_owner(owner, settings.dagster_url())  # the owner's own URL (dev)
    elsewhere = make_url("postgresql+psycopg2://luna_dagster:pw@dagster-db.example:5432/dagster")
    assert not migrate.ensure_database_owner(owner, elsewhere)
