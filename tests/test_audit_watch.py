"""The audit chains on /metrics: verified by a background thread that starts on the first scrape
(a scrape never walks the chains itself), a modified row shows as ``luna_audit_chain_broken`` for
its tenant (a count without tenant labels), and a verification that cannot run reports its source
down instead of a stale "intact"."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from luna_api.audit_watch import WATCH, AuditChainWatch
from luna_api.main import create_app
from luna_api.metrics import COLLECTOR
from tests.conftest import METRICS_TOKEN
from tests.private_services import free_port
from tests.test_audit import _owner_sql, _write


def _samples(client: TestClient) -> dict[tuple[str, tuple], float]:
    text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


def _wait_for_state(watch: AuditChainWatch, after: float, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (state := watch.state()) is None or state.verified_at < after:
        assert time.monotonic() < deadline, "the audit chain watch produced no new result"
        time.sleep(0.1)


@pytest.fixture
def tampered(engine, settings, tenant_factory):
    intact, broken = tenant_factory("chain-ok"), tenant_factory("chain-bad")
    _write(engine, intact, 3)
    _write(engine, broken, 3)
    _owner_sql(
        settings, "UPDATE audit_log SET outcome = 'denied' WHERE tenant_id = :t AND target = 'meter/1'", t=broken
    )
    return intact, broken


@pytest.mark.parametrize("tenant_labels", [True, False])
def test_a_modified_row_shows_on_metrics_after_the_background_check(api_settings, tampered, tenant_labels):
    intact, broken = tampered
    tampered_at = time.time()
    # A short interval, so the thread's next round (not this test) sees the modified row.
    settings = api_settings.model_copy(
        update={"metrics_tenant_labels": tenant_labels, "metrics_audit_interval_seconds": 0.5}
    )
    try:
        with TestClient(create_app(settings)) as client:
            _samples(client)  # the first scrape starts the thread (if no earlier one did)
            _wait_for_state(WATCH, after=tampered_at)
            COLLECTOR.expire()  # the next scrape reads the new result, not the 10 s cache
            samples = _samples(client)
    finally:
        create_app(api_settings)
    assert samples[("luna_metrics_source_up", (("source", "audit_chain"),))] == 1
    assert samples[("luna_audit_chain_verified_timestamp_seconds", ())] >= tampered_at
    if tenant_labels:
        assert samples[("luna_audit_chain_broken", (("tenant", broken),))] == 1
        assert samples[("luna_audit_chain_broken", (("tenant", intact),))] == 0
    else:
        assert samples[("luna_audit_chain_broken", ())] >= 1
        assert not [key for key in samples if key[0] == "luna_audit_chain_broken" and key[1]]


def test_the_watch_reports_a_database_it_cannot_reach():
    watch = AuditChainWatch()
    unreachable = create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none", connect_args={"connect_timeout": 1}
    )
    watch.bind(unreachable, interval=3600)
    assert watch.state() is None  # starts the thread; nothing verified yet
    deadline = time.monotonic() + 30
    while not watch.failing:
        assert time.monotonic() < deadline, "the failed verification was not reported"
        time.sleep(0.1)
    assert watch.state() is None


def test_verification_is_not_started_by_binding_alone(engine):
    watch = AuditChainWatch()
    watch.bind(engine, interval=3600)
    time.sleep(0.2)
    assert watch._thread is None  # only a scrape (state()) starts it: processes nobody scrapes never pay
    found = watch.verify_now()
    assert found.verified_at > 0 and {b.tenant_id for b in found.breaks} <= set(found.tenants)
