"""Cardinality and safety of /metrics with 100 tenants: without LUNA_METRICS_TENANT_LABELS no tenant id
(and never a user id or a raw path) reaches a label, and the series per scrape stay under a bound
that does not grow with the tenants — counted by a real Prometheus too —
while with the operator's switch on they grow by a known number of series per tenant."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from luna_api.audit_watch import WATCH
from luna_api.main import create_app
from tests.conftest import METRICS_TOKEN
from tests.e2e.conftest import ServerThread
from tests.prometheus_server import ALERTMANAGER, NOT_INSTALLED, PROMETHEUS, AlertmanagerServer, PrometheusServer

TENANTS = 100
# Series of one scrape without tenant labels, whatever the number of tenants, besides the request
# counters and histograms (bounded by the app's routes, not by tenants, and process-wide: they hold
# every route earlier tests of this process touched): process and Python collectors, the scrape-time
# figures, the DB pool.
SERIES_BOUND = 80
REQUEST_FAMILIES = ("luna_http_requests", "luna_http_request_duration_seconds")
# Per-tenant families with tenant labels on: newest reading, data age, last ingest (tenants with
# data), pending files, lag, documents needing attention, readings over the limit, audit chain broken
# (every active tenant), drift retrains (tenants with retrains).
PER_TENANT_MAX = 9


def samples(text: str) -> list[tuple[str, dict[str, str]]]:
    return [(s.name, s.labels) for f in text_string_to_metric_families(text) for s in f.samples]


def scrape(client: TestClient) -> str:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    return response.text


@pytest.fixture
def many_tenants(tenant_factory, api_user):
    tenants = [tenant_factory("card") for _ in range(TENANTS)]
    return tenants, api_user(tenants[0])


def test_series_per_scrape_do_not_grow_with_tenants_unless_the_operator_asks(api_settings, many_tenants, capsys):
    tenants, user = many_tenants
    off = api_settings.model_copy(update={"metrics_tenant_labels": False})
    on = api_settings.model_copy(update={"metrics_tenant_labels": True})
    try:
        with TestClient(create_app(off), raise_server_exceptions=False) as client:
            for _ in range(50):  # 50 different paths of one route: one series, the route template
                client.get(f"/documents/{uuid.uuid4()}", headers=user.headers)
            client.get(f"/no/such/path/{tenants[1]}", headers=user.headers)
            started = time.perf_counter()
            plain = samples(scrape(client))
            templates = set(client.app.openapi()["paths"]) | {"unmatched"}
            scrape_seconds = time.perf_counter() - started
            started = time.perf_counter()
            chains = WATCH.verify_now()
            verify_seconds = time.perf_counter() - started
        with TestClient(create_app(on), raise_server_exceptions=False) as client:
            labelled = samples(scrape(client))
    finally:
        create_app(api_settings)

    values = {value for _, labels in plain for value in labels.values()}
    assert not values & set(tenants), "a tenant id in a label without LUNA_METRICS_TENANT_LABELS"
    assert not [name for name, labels in plain if "tenant" in labels]
    # Other tests of the session leave other templates (/documents/{document_id}/chunks): never an id.
    assert user.email not in values and not any(v.startswith("/documents/") and "{" not in v for v in values)
    routes = {labels["route"] for name, labels in plain if name.startswith(REQUEST_FAMILIES)}
    assert {"/documents/{document_id}", "unmatched"} <= routes
    # Route templates only (the API's, or the docs' and dashboard's mounts): never an id from a path.
    assert not [r for r in routes - templates if re.search(r"[0-9a-f]{8}|\d{3,}", r)], routes - templates
    others = [name for name, _ in plain if not name.startswith(REQUEST_FAMILIES)]
    assert len(others) <= SERIES_BOUND, len(others)

    active = {labels["tenant"] for _, labels in labelled if "tenant" in labels}
    assert set(tenants) <= active
    # Pending files, lag, documents needing attention and readings over the limit for every active tenant
    # at least; at most every per-tenant family for each.
    per_tenant = [name for name, labels in labelled if "tenant" in labels]
    assert 4 * TENANTS <= len(per_tenant) <= PER_TENANT_MAX * len(active), (len(per_tenant), len(active))
    with capsys.disabled():
        print(
            f"\n/metrics with {len(chains.tenants)} active tenants: {len(plain)} series without tenant labels "
            f"({len(others)} besides the request metrics of {len(routes)} routes), {len(labelled)} with; "
            f"scrape {scrape_seconds:.3f} s; audit chain verification {verify_seconds:.3f} s"
        )


@pytest.mark.skipif(PROMETHEUS is None or ALERTMANAGER is None, reason=NOT_INSTALLED)
def test_a_real_prometheus_counts_the_series_per_scrape(tmp_path, api_settings, many_tenants):
    off = api_settings.model_copy(update={"metrics_tenant_labels": False})
    try:
        with (
            ServerThread(create_app(off)) as server,
            AlertmanagerServer(tmp_path / "am") as alertmanager,
            PrometheusServer(tmp_path / "prom", server.port, METRICS_TOKEN, alertmanager.port) as prometheus,
        ):
            prometheus.wait_for('up{job="luna-api"} == 1')
            scraped = prometheus.wait_for('scrape_samples_scraped{job="luna-api"}')
            others = prometheus.wait_for('count({job="luna-api", __name__!~"luna_http_request.*"})')
            assert 0 < float(others[0]["value"][1]) <= SERIES_BOUND
            assert float(scraped[0]["value"][1]) >= float(others[0]["value"][1])
            assert prometheus.query('count({job="luna-api", tenant!=""})') == []
    finally:
        create_app(api_settings)
