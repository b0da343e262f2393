"""`luna demo --no-serve` end to end on the test server: demo tenants, every asset, KPIs present,
runs recorded in a PostgreSQL-backed Dagster instance (the one the UI would show)."""

from __future__ import annotations

import uuid

from dagster import DagsterInstance
from sqlalchemy import select
from typer.testing import CliRunner

from luna_cli.main import app
from luna_core.db.schema import tenant_kpis
from luna_core.db.tenancy import tenant_scope
from luna_core.settings import get_settings
from luna_core.simulation.sites import DEMO_SITES
from tests.conftest import create_database, drop_database


def test_demo_seeds_and_materializes_everything(engine, settings, registry, monkeypatch, tmp_path):
    dagster_db = f"luna_demo_dagster_{uuid.uuid4().hex[:6]}"
    url = create_database(dagster_db).replace("+psycopg://", "+psycopg2://")
    monkeypatch.setenv("LUNA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LUNA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LUNA_DAGSTER_DATABASE_URL", url)
    monkeypatch.setenv("LUNA_MLFLOW_URL", registry.tracking_uri)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["demo", "--no-serve", "--days", "3"])
        assert result.exit_code == 0, result.output
        credentials = (tmp_path / "demo-credentials.txt").read_text().splitlines()
        assert (
            len(credentials) == 1 + len(DEMO_SITES)
            and oct((tmp_path / "demo-credentials.txt").stat().st_mode)[-3:] == "600"
        )
        email, password, _ = credentials[1].split("\t")
        from fastapi.testclient import TestClient

        from luna_api.main import create_app

        with TestClient(create_app(get_settings())) as client:
            login = client.post("/auth/token", data={"username": email, "password": password})
            assert login.status_code == 200, login.text
            kpis = client.get("/kpis", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
            assert kpis.status_code == 200 and kpis.json()["kwh_month"] > 0
        for site in DEMO_SITES:
            with tenant_scope(engine, site.tenant_id) as connection:
                kpis = connection.execute(select(tenant_kpis)).one()
            assert kpis.kwh_month > 0 and kpis.cost_month_eur is not None
        with DagsterInstance.get() as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            runs = instance.get_runs()
            assert all(run.is_success for run in runs)
            assert {run.tags.get("tenant") for run in runs} >= {s.tenant_id for s in DEMO_SITES}
            assert set(instance.get_dynamic_partitions("tenants")) >= {s.tenant_id for s in DEMO_SITES}
    finally:
        get_settings.cache_clear()
        drop_database(dagster_db)
