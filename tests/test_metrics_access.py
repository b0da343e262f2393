"""/metrics: only with the bearer token LUNA_METRICS_TOKEN, or without one only from the scrape network;
and no tenant id in its labels unless the operator turns metrics_tenant_labels on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from luna_api import metrics
from luna_api.main import create_app
from luna_core.db.engine import app_engine
from luna_core.ingest import ingest_records
from tests.conftest import METRICS_TOKEN

T0 = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture
def rebind(api_settings):
    """Apps built here re-point the process-wide collector; the session's app gets it back afterwards."""
    yield
    metrics.install(app_engine(api_settings), api_settings)


def test_metrics_need_the_token(api):
    missing = api.get("/metrics")
    assert missing.status_code == 401 and missing.json()["error"] == "unauthorized"
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert api.get("/metrics", headers={"Authorization": "Bearer not-the-token"}).status_code == 401
    assert api.get("/metrics", headers={"Authorization": f"Basic {METRICS_TOKEN}"}).status_code == 401
    assert api.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200


def test_without_a_token_only_the_scrape_network_may_read(api_settings, rebind):
    settings = api_settings.model_copy(update={"metrics_token": None, "metrics_networks": "127.0.0.0/8,10.8.0.0/16"})
    app = create_app(settings)
    for address, status in (("127.0.0.1", 200), ("10.8.3.4", 200), ("203.0.113.5", 403), ("testclient", 403)):
        with TestClient(app, raise_server_exceptions=False, client=(address, 1234)) as http:
            response = http.get("/metrics")
            assert response.status_code == status, address
            if status == 403:
                assert response.json()["error"] == "forbidden"


def test_tenant_ids_stay_out_of_the_labels_unless_enabled(api_settings, engine, tenant_factory, rebind):
    tenant = tenant_factory("metric-secret")
    readings = [{"meter_id": "main", "ts": (T0 + timedelta(minutes=15 * i)).isoformat(), "kwh": 0.5} for i in range(4)]
    ingest_records(engine, tenant, readings, source="http", source_ref="metrics-test")
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}

    def scrape(labels: bool) -> str:
        with TestClient(create_app(api_settings.model_copy(update={"metrics_tenant_labels": labels}))) as http:
            return http.get("/metrics", headers=auth).text

    hidden = scrape(False)
    assert tenant not in hidden
    families = {f.name: f for f in text_string_to_metric_families(hidden)}
    ages = families["luna_tenant_data_age_seconds"].samples
    assert len(ages) == 1 and ages[0].labels == {}  # the worst tenant's age, no tenant named
    assert families["luna_ingest_pending_files"].samples[0].labels == {}
    shown = scrape(True)
    assert f'luna_tenant_data_age_seconds{{tenant="{tenant}"}}' in shown
