"""A real Prometheus (Debian's binary) scraping a real API: the repository's prometheus.yml with its
targets rewritten to this test's ports, the bearer token read from a file as compose mounts it, the
API under uvicorn on a free port with a real database and a real Dagster run storage (one failed
run, one retrain the drift sensor would have requested). Queried over Prometheus' HTTP API: every
series the dashboards and alert rules use exists with its labels, every dashboard query and rule
evaluates, and the alerts the data calls for fire and reach a real Alertmanager (Debian's, on the
repository's alertmanager.yml), routed to their receivers."""

from __future__ import annotations

import shutil
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from dagster import DagsterInstance, job, op

from luna_api.audit_watch import WATCH
from luna_api.main import create_app
from tests.conftest import METRICS_TOKEN, create_database, drop_database
from tests.e2e.conftest import ServerThread
from tests.prometheus_server import ALERTMANAGER, NOT_INSTALLED, PROMETHEUS, AlertmanagerServer, PrometheusServer
from tests.test_observability import ROOT, alert_rules, dashboard_queries, luna_test_failing_job, metric_names

pytestmark = pytest.mark.skipif(PROMETHEUS is None or ALERTMANAGER is None, reason=NOT_INSTALLED)

# The labels each series must carry (besides job and instance, which Prometheus adds per target).
# Per-tenant figures carry `tenant` because this API runs with LUNA_METRICS_TENANT_LABELS=true.
LABELS = {
    "luna_http_requests_total": {"method", "route", "status"},
    "luna_http_request_duration_seconds_bucket": {"method", "route", "le"},
    "luna_ingest_rows_total": {"outcome"},
    "luna_db_pool_connections": {"state"},
    "luna_dagster_runs": {"status"},
    "luna_dagster_failed_runs_last_hour": {"dagster_job"},
    "luna_disk_free_ratio": {"volume"},
    "luna_disk_free_bytes": {"volume"},
    "luna_metrics_source_up": {"source"},
}
PER_TENANT = {
    "luna_tenant_data_age_seconds",
    "luna_tenant_last_reading_timestamp_seconds",
    "luna_tenant_last_ingest_timestamp_seconds",
    "luna_ingest_pending_files",
    "luna_ingest_lag_seconds",
    "luna_documents_needing_attention",
    "luna_readings_over_meter_limit",
    "luna_forecast_drift_retrains_last_day",
    "luna_audit_chain_broken",
}


@op
def retrain() -> None:
    pass


@job
def luna_test_retrain_job() -> None:
    retrain()


@pytest.fixture
def world(tmp_path, monkeypatch, api_settings, api_user, tenant_factory):
    """A tenant with readings (one above its meter's limit, pushed over HTTP) and a file waiting in its
    inbox, a Dagster run storage with a failed run and a drift retrain, the API serving on a port."""
    tenant = tenant_factory("live")
    name = f"luna_live_dagster_{uuid.uuid4().hex[:8]}"
    dagster_url = create_database(name).replace("postgresql+psycopg://", "postgresql+psycopg2://")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("LUNA_DAGSTER_DATABASE_URL", dagster_url)
    with DagsterInstance.from_config(str(home)) as instance:
        assert not luna_test_failing_job.execute_in_process(instance=instance, raise_on_error=False).success
        drift_tags = {"tenant": tenant, "luna/reason": "drift: live MAE 2.000 > 1.000"}
        assert luna_test_retrain_job.execute_in_process(instance=instance, tags=drift_tags).success
    inbox = api_settings.resolved_storage_dir / tenant / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "waiting.csv").write_text("meter_id,ts,kwh\n")

    settings = api_settings.model_copy(update={"dagster_database_url": dagster_url, "metrics_tenant_labels": True})
    admin = api_user(tenant, role="admin")
    try:
        with ServerThread(create_app(settings)) as server:
            start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
            readings = [
                {"meter_id": "main", "ts": (start + timedelta(minutes=15 * i)).isoformat(), "kwh": 0.5}
                for i in range(8)
            ]
            readings.append({"meter_id": "main", "ts": (start + timedelta(hours=2)).isoformat(), "kwh": 50.0})
            pushed = httpx.post(f"{server.url}/ingest/readings", headers=admin.headers, json={"readings": readings})
            assert pushed.status_code == 200 and pushed.json()["rows_quarantined"] == 1, pushed.text
            yield server, tenant
    finally:
        create_app(api_settings)  # the metrics collector back on the session's settings
        drop_database(name)


def test_prometheus_scrapes_every_series_the_dashboards_and_alerts_use(tmp_path, world):
    server, tenant = world
    with (
        AlertmanagerServer(tmp_path / "alertmanager") as alertmanager,
        PrometheusServer(tmp_path / "prometheus", server.port, METRICS_TOKEN, alertmanager.port) as prometheus,
    ):
        prometheus.wait_for('up{job="luna-api"} == 1')
        # The audit chains are verified in the background after the first scrape: wait for its result.
        prometheus.wait_for("luna_audit_chain_verified_timestamp_seconds")
        state = WATCH.state()
        if state is None or tenant not in state.tenants:
            # The watch thread, started by an earlier test, ran its round on this database before the
            # fixture created the tenant; the next round is an interval away: verify now and let
            # Prometheus scrape the result.
            state = WATCH.verify_now()
            prometheus.wait_for(f'luna_audit_chain_broken{{tenant="{tenant}"}}', timeout=30)
        assert tenant in state.tenants and not state.breaks

        used = set()
        for _, kind, expr in dashboard_queries():
            if kind == "prometheus":
                used |= metric_names(expr) - {"tenant"}
        for _, expr in alert_rules():
            used |= metric_names(expr)
        assert PER_TENANT | set(LABELS) <= used | {"luna_disk_free_bytes"}
        for name in sorted(used | PER_TENANT | set(LABELS)):
            series = prometheus.series(name)
            assert series, f"{name}: no series in Prometheus"
            for labels in series:
                assert "exported_job" not in labels, f"{name}: a label collides with Prometheus' own job"
                if name != "up":
                    assert labels["job"] == "luna-api" and labels["instance"] == f"127.0.0.1:{server.port}", labels
                assert LABELS.get(name, set()) <= set(labels), f"{name}: {labels}"
            if name in PER_TENANT:
                assert {s.get("tenant") for s in series} >= {tenant}, f"{name}: no series for {tenant}"

        mine = f'{{tenant="{tenant}"}}'
        assert _value(prometheus, f"luna_readings_over_meter_limit{mine}") == 1
        assert _value(prometheus, f"luna_forecast_drift_retrains_last_day{mine}") == 1
        assert _value(prometheus, f"luna_ingest_pending_files{mine}") == 1
        assert _value(prometheus, f"luna_audit_chain_broken{mine}") == 0
        assert _value(prometheus, 'luna_dagster_failed_runs_last_hour{dagster_job="luna_test_failing_job"}') == 1
        assert _value(prometheus, 'sum(luna_ingest_rows_total{outcome="stored"})') >= 8

        # Every dashboard query is valid PromQL and answers (Grafana's $tenant as "any").
        for _where, kind, expr in dashboard_queries():
            if kind == "prometheus" and not expr.startswith("label_values("):
                prometheus.query(expr.replace("$tenant", ".*"))
        # Every rule loaded and evaluates; the ones this data calls for fire (no `for:` on them).
        groups = prometheus.api("rules")["groups"]
        loaded = [rule for group in groups for rule in group["rules"]]
        assert {r["name"] for r in loaded} == {name for name, _ in alert_rules()}
        firing = prometheus.wait_for(
            f'ALERTS{{alertname="LunaMeterOverLimit", alertstate="firing", tenant="{tenant}"}}'
        )
        assert firing[0]["metric"]["severity"] == "warning" and firing[0]["metric"]["scope"] == "tenant"
        failed = prometheus.wait_for('ALERTS{alertname="LunaDagsterRunFailed", alertstate="firing"}')
        assert failed[0]["metric"]["dagster_job"] == "luna_test_failing_job"
        assert [
            r["lastError"] for g in prometheus.api("rules")["groups"] for r in g["rules"] if r["health"] != "ok"
        ] == []
        # Prometheus sent them on: Alertmanager holds each under the receiver its routes choose (other
        # tenants of this test session may have readings over their limit too).
        receivers = _wait_for_receivers(alertmanager, {"LunaMeterOverLimit", "LunaDagsterRunFailed"})
        assert ("tenant-operations", tenant) in receivers["LunaMeterOverLimit"]
        assert {receiver for receiver, _ in receivers["LunaMeterOverLimit"]} == {"tenant-operations"}
        assert receivers["LunaDagsterRunFailed"] == {("operators", None)}


def _value(prometheus: PrometheusServer, expr: str) -> float:
    # Polled: on a busy machine a scrape can time out, and Prometheus then marks every series of the
    # target stale until the next scrape answers.
    found = prometheus.wait_for(expr)
    assert len(found) == 1, (expr, found)
    return float(found[0]["value"][1])


def _wait_for_receivers(alertmanager: AlertmanagerServer, names: set[str]) -> dict[str, set]:
    """{alertname: {(receiver, tenant label)}} once Alertmanager holds every alert named."""
    deadline = time.monotonic() + 60
    found: dict[str, set] = {}
    while time.monotonic() < deadline:
        found = {}
        for group in alertmanager.groups():
            for alert in group["alerts"]:
                found.setdefault(alert["labels"]["alertname"], set()).add(
                    (group["receiver"]["name"], alert["labels"].get("tenant"))
                )
        if names <= set(found):
            return found
        time.sleep(0.5)
    raise AssertionError(f"Alertmanager holds {found}, not all of {names}")
