"""`luna demo --no-serve` end to end on the test server: demo tenants, every asset, KPIs present,
sample documents indexed, playbook rules on and recommendations planned, runs recorded in a
PostgreSQL-backed Dagster instance (the one the UI would show). The pgvector index lives in the
test session's embedded server (the server at 5432 has no pgvector).

The clock is set (time-machine): three days of simulated history and what the playbook can plan depend
on the date and the hour. At 06:41 in Berlin tomorrow's day-ahead prices are not out yet, so today is
planned and served; the wallbox charged on the Wednesday before, so an EV plan is expected."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import time_machine
from dagster import DagsterInstance
from sqlalchemy import select
from typer.testing import CliRunner

from luna_cli.demo_documents import add_demo_documents, demo_documents
from luna_cli.demo_playbook import DEMO_RULES, ensure_demo_rules
from luna_cli.demo_tariffs import ensure_demo_tariffs
from luna_cli.main import app
from luna_core.db.schema import playbook_recommendations, tenant_kpis
from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge import store
from luna_core.playbook.rules import list_rules
from luna_core.settings import get_settings
from luna_core.simulation.sites import DEMO_SITES
from tests.conftest import create_database, drop_database

NOW = datetime(2026, 11, 19, 5, 41, tzinfo=UTC)  # a Thursday, 06:41 in Berlin: before the prices' publication
TODAY = date(2026, 11, 19)


@time_machine.travel(NOW, tick=True)
def test_demo_seeds_and_materializes_everything(engine, settings, registry, monkeypatch, tmp_path):
    dagster_db = f"luna_demo_dagster_{uuid.uuid4().hex[:6]}"
    url = create_database(dagster_db).replace("+psycopg://", "+psycopg2://")
    monkeypatch.setenv("LUNA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LUNA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LUNA_DAGSTER_DATABASE_URL", url)
    monkeypatch.setenv("LUNA_MLFLOW_URL", registry.tracking_uri)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("LUNA_VECTOR_DATABASE_URL", settings.vector_database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["demo", "--no-serve", "--days", "3"])
        assert result.exit_code == 0, result.output
        # Its first set-up made the storage key, in the data folder every process it starts is given.
        key = (tmp_path / "storage_key").read_text()
        assert oct((tmp_path / "storage_key").stat().st_mode)[-3:] == "600"
        from luna_cli.demo import child_env

        assert child_env()["LUNA_DATA_DIR"] == str(tmp_path)
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
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            kpis = client.get("/kpis", headers=headers)
            assert kpis.status_code == 200 and kpis.json()["kwh_month"] > 0
            # The household's wallbox manual answers this; the citation points into it.
            answer = client.post(
                "/rag/ask", headers=headers, json={"question": "What does error E04 on the wallbox mean?"}
            )
            assert answer.status_code == 200, answer.text
            cited = {c["title"] for c in answer.json()["citations"]}
            assert answer.json()["mode"] in ("llm", "extractive") and any("Wallbox" in t for t in cited), answer.json()
            assert "residual current" in answer.json()["answer"], answer.json()
            current = client.get("/playbook/recommendations", headers=headers).json()
            assert current["date"] == TODAY.isoformat(), current  # today's: tomorrow's prices are not out yet
            planned = current["items"]
            assert any(item["strategy"] == "ev_cheapest_window" and item["saving_eur"] is not None for item in planned)
        for site in DEMO_SITES:
            with tenant_scope(engine, site.tenant_id) as connection:
                kpis = connection.execute(select(tenant_kpis)).one()
                documents = store.list_documents(connection, site.tenant_id, 50, 0)
                rules = list_rules(connection, site.tenant_id, enabled_only=True)
                recommendations = connection.execute(select(playbook_recommendations)).all()
            assert kpis.kwh_month > 0 and kpis.cost_month_eur is not None and kpis.cost_basis == "tariff"
            assert len(documents) == len(demo_documents(site.tenant_id)) >= 3
            assert all(d.status == "indexed" and d.chunk_count > 0 for d in documents), documents
            assert {r.strategy for r in rules} == {strategy for _, strategy, _ in DEMO_RULES[site.tenant_id]}
            assert recommendations, site.tenant_id
        # A second demo run adds nothing: the rules exist, the documents are recognised by their SHA-256.
        tenant_ids = [s.tenant_id for s in DEMO_SITES]
        assert ensure_demo_rules(engine, tenant_ids) == dict.fromkeys(tenant_ids, 0)
        assert ensure_demo_tariffs(engine, tenant_ids) == dict.fromkeys(tenant_ids, False)
        again = add_demo_documents(engine, get_settings(), tenant_ids)
        assert all(a.added == 0 and a.already_there == len(demo_documents(a.tenant_id)) for a in again)
        assert (tmp_path / "storage_key").read_text() == key
        with DagsterInstance.get() as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            runs = instance.get_runs()
            assert all(run.is_success for run in runs)
            assert {run.tags.get("tenant") for run in runs} >= {s.tenant_id for s in DEMO_SITES}
            assert set(instance.get_dynamic_partitions("tenants")) >= {s.tenant_id for s in DEMO_SITES}
    finally:
        get_settings.cache_clear()
        drop_database(dagster_db)
