"""OPC-UA meters: a real asyncua server (tests/opcua_site.py) simulates a site's cumulative kWh
counters; the poller reads them over TCP at fixed instants (no wall clock) and stores the intervals
through the one ingest path, in the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from luna_core.db.schema import meter_readings, readings_quarantine
from luna_core.db.tenancy import tenant_scope
from luna_core.ingest.counters import CounterRead, intervals_between
from luna_core.ingest.opcua import OpcUaConfig, OpcUaError, OpcUaPoller
from luna_core.tenants import MeterDef
from tests.opcua_site import SiteServer, client_security

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
Q = timedelta(minutes=15)
METERS = (MeterDef("main", "consumption", 50.0, 15), MeterDef("pv", "pv", 30.0, 15))


def test_counter_steps_rollover_reset_and_gap():
    first = CounterRead("main", T0, 999_998.0)
    wrapped = intervals_between(first, CounterRead("main", T0 + Q, 1.5), Q, rollover_kwh=1_000_000)
    assert [r["kwh"] for r in wrapped.records] == [3.5] and "rolled over" in wrapped.notes[0]
    reset = intervals_between(CounterRead("main", T0, 500.0), CounterRead("main", T0 + Q, 2.0), Q, 1_000_000)
    assert reset.records == [] and "counter reset (500 -> 2 kWh)" in reset.notes[0]
    gap = intervals_between(CounterRead("main", T0, 10.0), CounterRead("main", T0 + 3 * Q, 16.0), Q)
    assert [(r["ts"], r["kwh"], r["quality"]) for r in gap.records] == [
        ((T0 + n * Q).isoformat(), 2.0, "estimated") for n in range(3)
    ]
    assert intervals_between(None, first, Q).records == []
    assert intervals_between(first, first, Q).records == []  # the same boundary read twice


@pytest.fixture
def site():
    server = SiteServer({"main": (1000.0, "kWh"), "pv": (500_000.0, "Wh"), "boiler": (10.0, "kWh")}).start()
    yield server
    server.close()


def _readings(engine, tenant: str) -> dict[tuple[str, datetime], tuple[float, str]]:
    with tenant_scope(engine, tenant) as connection:
        rows = connection.execute(
            select(meter_readings.c.meter_id, meter_readings.c.ts, meter_readings.c.kwh, meter_readings.c.quality)
        )
        return {(r.meter_id, r.ts): (round(r.kwh, 6), r.quality) for r in rows}


def _quarantined(engine, tenant: str) -> list[str]:
    with tenant_scope(engine, tenant) as connection:
        return list(connection.execute(select(readings_quarantine.c.reason)).scalars())


def test_counters_become_intervals_across_a_reset_and_a_disconnect(engine, tenant_factory, site, tmp_path):
    tenant = tenant_factory("opc", meters=METERS)
    other = tenant_factory("opcb", meters=METERS)  # the same meter ids, another tenant
    config = OpcUaConfig(site.endpoint, tenant, root_node=site.site_node, state_path=tmp_path / "state.json")
    poller = OpcUaPoller(engine, config)

    first = poller.poll(T0 + timedelta(seconds=4))  # a read a few seconds after the boundary belongs to it
    assert [c.meter_id for c in first.counters] == ["boiler", "main", "pv"]  # the temperature is no counter
    assert first.ingest is None and first.boundary == T0

    site.set("main", 1002.5)
    site.set("pv", 501_000.0)  # Wh: 1 kWh
    site.set("boiler", 11.0)
    second = poller.poll(T0 + Q)
    assert second.ingest is not None and second.ingest.source == "opcua"
    assert second.ingest.rows_stored == 2 and second.ingest.rows_quarantined == 1  # boiler is no meter of the tenant

    site.set("main", 0.5)  # the meter was exchanged: its counter starts again
    site.set("pv", 502_000.0)
    third = poller.poll(T0 + 2 * Q)
    assert any("main: counter reset" in note for note in third.ingest.notes)

    site.set("main", 1.5)
    site.set("pv", 502_500.0)
    poller.poll(T0 + 3 * Q)

    site.stop()  # the site disconnects for one interval
    with pytest.raises(OpcUaError, match=site.endpoint.replace(".", r"\.") + ": cannot connect"):
        poller.poll(T0 + 4 * Q)
    site.set("main", 3.5)
    site.set("pv", 503_500.0)
    site.start()
    # A new poller, as after a restart of the subscriber: the counters' last values come from the state file.
    fifth = OpcUaPoller(engine, config).poll(T0 + 5 * Q)
    assert any("main: gap of 1 missed read(s)" in note for note in fifth.ingest.notes)

    assert _readings(engine, tenant) == {
        ("main", T0): (2.5, "measured"),
        ("pv", T0): (1.0, "measured"),
        ("pv", T0 + Q): (1.0, "measured"),  # main's interval across the reset is not guessed
        ("main", T0 + 2 * Q): (1.0, "measured"),
        ("pv", T0 + 2 * Q): (0.5, "measured"),
        ("main", T0 + 3 * Q): (1.0, "estimated"),
        ("main", T0 + 4 * Q): (1.0, "estimated"),
        ("pv", T0 + 3 * Q): (0.5, "estimated"),
        ("pv", T0 + 4 * Q): (0.5, "estimated"),
    }
    assert any("boiler" in reason for reason in _quarantined(engine, tenant))
    # Isolation: the source configured for one tenant never writes another's data.
    assert _readings(engine, other) == {} and _quarantined(engine, other) == []


def test_a_dry_run_stores_nothing_and_keeps_the_state(engine, tenant_factory, site, tmp_path):
    tenant = tenant_factory("opcd", meters=METERS)
    poller = OpcUaPoller(engine, OpcUaConfig(site.endpoint, tenant, root_node=site.site_node))
    poller.poll(T0)
    site.set("main", 1001.0)
    preview = poller.poll(T0 + Q, dry_run=True)
    assert [(r["meter_id"], r["kwh"]) for r in preview.records if r["meter_id"] == "main"] == [("main", 1.0)]
    assert _readings(engine, tenant) == {}
    assert poller.poll(T0 + Q).ingest.rows_stored == 2  # the step the dry run showed is still there to store


def test_a_missing_root_node_is_named(engine, tenant_factory, site):
    tenant = tenant_factory("opce", meters=METERS)
    poller = OpcUaPoller(engine, OpcUaConfig(site.endpoint, tenant, root_node="ns=2;s=NoSuchFolder"))
    with pytest.raises(OpcUaError, match=r"cannot browse ns=2;s=NoSuchFolder"):
        poller.poll(T0)


def test_credentials_come_from_the_settings(engine, tenant_factory, settings, tmp_path):
    tenant = tenant_factory("opcf", meters=METERS)
    site = SiteServer({"main": (5.0, "kWh")}, credentials=("luna", "s3cret")).start()
    try:
        configured = settings.model_copy(
            update={
                "opcua_endpoint": site.endpoint,
                "opcua_tenant": tenant,
                "opcua_root_node": site.site_node,
                "opcua_username": "luna",
                "opcua_password": "s3cret",
                "data_dir": tmp_path,
            }
        )
        config = OpcUaConfig.from_settings(configured)
        assert config.state_path == tmp_path / "opcua-state.json"
        assert [c.meter_id for c in OpcUaPoller(engine, config).poll(T0).counters] == ["main"]
        for refused in ({"opcua_password": "guess"}, {"opcua_username": None}):
            wrong = OpcUaConfig.from_settings(configured.model_copy(update=refused))
            with pytest.raises(OpcUaError, match="cannot connect"):
                OpcUaPoller(engine, wrong).poll(T0)
    finally:
        site.close()
    with pytest.raises(OpcUaError, match="LUNA_OPCUA_ENDPOINT and LUNA_OPCUA_TENANT"):
        OpcUaConfig.from_settings(settings)


def test_the_security_mode_comes_from_the_settings(engine, tenant_factory, settings, tmp_path):
    tenant = tenant_factory("opcs", meters=METERS)
    site = SiteServer({"main": (5.0, "kWh")}, certificates=tmp_path / "pki").start()
    try:
        configured = settings.model_copy(
            update={"opcua_endpoint": site.endpoint, "opcua_tenant": tenant, "opcua_root_node": site.site_node}
        )
        with pytest.raises(OpcUaError, match="cannot connect"):  # the site offers no unencrypted endpoint
            OpcUaPoller(engine, OpcUaConfig.from_settings(configured)).poll(T0)
        secure = configured.model_copy(update={"opcua_security": client_security(tmp_path / "pki")})
        assert [c.meter_id for c in OpcUaPoller(engine, OpcUaConfig.from_settings(secure)).poll(T0).counters] == [
            "main"
        ]
    finally:
        site.close()
