"""Observability as code: every dashboard query and alert rule names a metric the API really
exports, and the scrape-time figures (tenant freshness, ingest backlog, failed Dagster runs, disk)
come from a real database, a real landing inbox and a real Dagster run storage."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, job, op
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from luna_api.main import create_app
from luna_core.ingest import ingest_records
from tests.conftest import create_database, drop_database

ROOT = Path(__file__).resolve().parents[1]
OBS = ROOT / "deploy" / "observability"
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "or", "and", "unless"}
PROMETHEUS_OWN = {"up"}  # written by Prometheus itself for every target
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords or labels."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", expr):
        if not match.group(2) and match.group(1) not in PROMQL_WORDS:
            names.add(match.group(1))
    return names


def dashboard_queries() -> list[tuple[str, str]]:
    queries = []
    for path in sorted((OBS / "grafana" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel["targets"]:
                queries.append((f"{path.name}:{panel['title']}", target["datasource"]["type"], target["expr"]))
        for variable in board.get("templating", {}).get("list", []):
            if variable["datasource"]["type"] == "prometheus":
                queries.append((f"{path.name}:${variable['name']}", "prometheus", variable["definition"]))
    return queries


def alert_rules() -> list[tuple[str, str]]:
    doc = yaml.safe_load((OBS / "prometheus" / "alerts.yml").read_text())
    return [(rule["alert"], rule["expr"]) for group in doc["groups"] for rule in group["rules"]]


def test_metric_name_extraction_can_fail():
    assert metric_names('sum by (le) (rate(luna_x_bucket{a="b"}[5m])) / clamp_min(up, 1e-9)') == {"luna_x_bucket", "up"}
    assert metric_names("label_values(luna_tenant_data_age_seconds, tenant)") == {
        "luna_tenant_data_age_seconds",
        "tenant",
    }


@op
def explode() -> None:
    raise RuntimeError("deliberate failure for the metrics test")


@job
def luna_test_failing_job() -> None:
    explode()


@pytest.fixture
def dagster_db(tmp_path, monkeypatch):
    name = f"luna_obs_dagster_{uuid.uuid4().hex[:8]}"
    url = create_database(name).replace("postgresql+psycopg://", "postgresql+psycopg2://")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("LUNA_DAGSTER_DATABASE_URL", url)
    with DagsterInstance.from_config(str(home)) as instance:
        result = luna_test_failing_job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
    yield url
    drop_database(name)


def test_dashboards_and_alerts_use_only_exported_metrics(api_settings, engine, tenant_factory, dagster_db):
    tenant = tenant_factory("obs")
    readings = [{"meter_id": "main", "ts": (T0 + timedelta(minutes=15 * i)).isoformat(), "kwh": 0.5} for i in range(8)]
    ingest_records(engine, tenant, readings, source="http", source_ref="obs-test")
    inbox = api_settings.resolved_storage_dir / tenant / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "waiting.csv").write_text("meter_id,ts,kwh\n")

    settings = api_settings.model_copy(update={"dagster_database_url": dagster_db, "metrics_tenant_labels": True})
    try:
        with TestClient(create_app(settings)) as client:
            client.get("/health")
            text = client.get("/metrics", headers={"Authorization": f"Bearer {settings.metrics_token}"}).text
    finally:
        create_app(api_settings)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}

    assert samples[("luna_metrics_source_up", (("source", "luna_db"),))] == 1
    assert samples[("luna_metrics_source_up", (("source", "dagster_db"),))] == 1
    assert samples[("luna_dagster_failed_runs_last_hour", (("dagster_job", "luna_test_failing_job"),))] == 1
    assert samples[("luna_dagster_runs", (("status", "FAILURE"),))] == 1
    newest = T0 + timedelta(minutes=15 * 7)
    assert samples[("luna_tenant_last_reading_timestamp_seconds", (("tenant", tenant),))] == newest.timestamp()
    assert (
        samples[("luna_tenant_data_age_seconds", (("tenant", tenant),))]
        >= datetime.now(UTC).timestamp() - newest.timestamp() - 60
    )
    assert samples[("luna_ingest_pending_files", (("tenant", tenant),))] == 1
    assert 0 < samples[("luna_disk_free_ratio", (("volume", "data"),))] <= 1

    exported = {s.name for f in families.values() for s in f.samples}
    exported |= {name for name in REGISTRY._names_to_collectors if name.startswith("luna_")}
    checked = 0
    for where, kind, expr in dashboard_queries():
        if kind != "prometheus":
            assert kind == "loki" and '{job="luna"' in expr, where  # the label Fluent Bit sets
            continue
        names = metric_names(expr) - {"tenant"}
        assert names, f"{where}: no metric in {expr!r}"
        assert names <= exported | PROMETHEUS_OWN, f"{where}: {sorted(names - exported)} not exported"
        checked += 1
    for alert, expr in alert_rules():
        names = metric_names(expr)
        assert names and names <= exported | PROMETHEUS_OWN, f"alert {alert}: {sorted(names - exported)}"
        checked += 1
    assert checked >= 20
    assert {"LunaApiHighErrorRate", "LunaApiSlowP95", "LunaDagsterRunFailed", "LunaIngestLag", "LunaDiskLow"} <= {
        a for a, _ in alert_rules()
    }


def test_grafana_provisioning_points_at_the_dashboards_and_datasources():
    datasources = yaml.safe_load((OBS / "grafana/provisioning/datasources/datasources.yml").read_text())
    uids = {d["uid"] for d in datasources["datasources"]}
    boards = sorted((OBS / "grafana" / "dashboards").glob("*.json"))
    assert {b.stem for b in boards} >= {"luna-api", "luna-ingest", "luna-dagster", "luna-freshness", "luna-logs"}
    for path in boards:
        board = json.loads(path.read_text())
        assert board["uid"] == path.stem
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] in uids
    fluent = (OBS / "fluent-bit" / "fluent-bit.conf").read_text()
    assert "Name                   loki" in fluent and "Parser       json" in fluent
    prometheus = yaml.safe_load((OBS / "prometheus" / "prometheus.yml").read_text())
    assert prometheus["rule_files"] == ["/etc/prometheus/alerts.yml"]
    api_job = next(job for job in prometheus["scrape_configs"] if job["static_configs"][0]["targets"] == ["api:8000"])
    # The API's /metrics wants LUNA_METRICS_TOKEN: Prometheus reads it from the secret compose mounts.
    assert api_job["authorization"] == {"type": "Bearer", "credentials_file": "/run/secrets/LUNA_METRICS_TOKEN"}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "LUNA_METRICS_TOKEN" in compose["services"]["prometheus"]["secrets"]
    assert "LUNA_METRICS_TOKEN" in compose["services"]["api"]["secrets"]
    assert compose["secrets"]["LUNA_METRICS_TOKEN"]["file"].endswith("/LUNA_METRICS_TOKEN")
