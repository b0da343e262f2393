"""The sources registry: what is configured, each source's last read in /admin/status (per tenant, a
source bound to one tenant invisible to the others), the per-source metrics, and the dry runs of
``luna sources`` (against the ENTSO-E stand-in and a real asyncua server, see their modules)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from luna_api.metrics import COLLECTOR
from luna_cli.main import app
from luna_core.db.tenancy import tenant_scope
from luna_core.ingest import ingest_records
from luna_core.market.queries import prices
from luna_core.settings import get_settings
from luna_core.sources import configured_sources, source_statuses, source_totals
from luna_core.tenants import MeterDef
from tests.conftest import METRICS_TOKEN
from tests.entsoe_standin import PublishedDay, StandIn, day_bounds, example_prices, serve
from tests.opcua_site import SiteServer

NOW = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)
runner = CliRunner()


def _readings(meter: str = "main", count: int = 4) -> list[dict[str, object]]:
    start = NOW - timedelta(hours=2)
    return [
        {"meter_id": meter, "ts": (start + i * timedelta(minutes=15)).isoformat(), "kwh": 0.5} for i in range(count)
    ]


def test_configured_sources_name_their_targets_without_credentials(settings):
    configured = settings.model_copy(
        update={"opcua_endpoint": "opc.tcp://user:secret@plc.example:4840/site", "opcua_tenant": "acme"}
    )
    by_name = {s.name: s for s in configured_sources(configured)}
    assert set(by_name) == {"file", "http", "mqtt", "opcua", "sim"}
    assert by_name["opcua"].target == "opc.tcp://plc.example:4840/site i=85" and by_name["opcua"].tenant_id == "acme"
    with_token = settings.model_copy(update={"entsoe_token": "t"})
    assert {s.name for s in configured_sources(with_token) if s.kind == "price"} == {"entsoe"}


def test_a_tenant_sees_its_own_reads_and_no_source_of_another_tenant(engine, settings, tenant_factory):
    a, b = tenant_factory("srca"), tenant_factory("srcb")
    configured = settings.model_copy(update={"opcua_endpoint": "opc.tcp://plc.example:4840", "opcua_tenant": a})
    ingest_records(engine, a, _readings(), source="opcua", source_ref="opcua:test")
    ingest_records(
        engine,
        a,
        [*_readings(), {"meter_id": "nope", "ts": NOW.isoformat(), "kwh": 1}],
        source="http",
        source_ref="http:test",
    )
    with tenant_scope(engine, a) as connection:
        seen_by_a = {s.name: s for s in source_statuses(connection, configured, a, NOW)}
    with tenant_scope(engine, b) as connection:
        seen_by_b = {s.name: s for s in source_statuses(connection, configured, b, NOW)}
    assert seen_by_a["opcua"].last_read is not None
    assert seen_by_a["opcua"].lag_seconds == pytest.approx(timedelta(hours=1, minutes=15).total_seconds())
    assert seen_by_a["http"].errors_last_day == 1 and seen_by_a["mqtt"].last_read is None
    assert "opcua" not in seen_by_b  # bound to tenant a
    assert seen_by_b["http"].last_read is None and seen_by_b["http"].errors_last_day == 0
    totals = {s.name: s for s in source_totals(engine, configured, NOW)}
    assert totals["http"].errors_last_day >= 1 and totals["opcua"].tenant_id is None


def test_admin_status_lists_sources_and_metrics_export_them(api, api_user, engine):
    admin = api_user(role="admin")
    ingest_records(engine, admin.tenant_id, _readings(), source="http", source_ref="http:status")
    body = api.get("/admin/status", headers=admin.headers).json()
    sources = {s["name"]: s for s in body["sources"]}
    assert {"file", "http", "mqtt"} <= set(sources) and any(s["kind"] == "price" for s in body["sources"])
    assert sources["http"]["last_read"] is not None and sources["http"]["target"] is None  # tenant admin
    assert sources["mqtt"]["last_read"] is None
    COLLECTOR.expire()  # figures read now, not an earlier test's scrape from the 10 s cache
    text = api.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    samples = {(s.name, s.labels.get("source")) for f in text_string_to_metric_families(text) for s in f.samples}
    assert ("luna_source_errors_last_day", "http") in samples
    assert ("luna_source_last_read_timestamp_seconds", "http") in samples
    assert ("luna_metrics_source_up", "sources") in samples


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("LUNA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LUNA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LUNA_DAGSTER_DATABASE_URL", settings.dagster_url().render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_dry_run_prices_prints_what_entsoe_would_store_and_stores_nothing(cli_env, engine):
    stand_in = StandIn()
    server = serve(stand_in)
    day = date(2025, 12, 3)
    stand_in.publish(PublishedDay(day, 15, example_prices(day, 15)))
    cli_env.setenv("LUNA_ENTSOE_TOKEN", stand_in.token)
    cli_env.setenv("LUNA_ENTSOE_URL", stand_in.url)
    get_settings.cache_clear()
    try:
        result = runner.invoke(
            app, ["sources", "dry-run", "prices", "--zone", "DE-LU", "--start", "2025-12-03", "--end", "2025-12-04"]
        )
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("DE-LU ")]
    assert len(lines) == 96 + 24 and lines[0].startswith("DE-LU 2025-12-02T23:00:00+00:00 15 min")
    assert "not published: 2025-12-04" in result.output
    with engine.connect() as connection:
        assert prices(connection, "DE-LU", *day_bounds(day), 15) == []


def test_dry_run_opcua_prints_counters_and_stores_nothing(cli_env, tenant_factory, engine):
    tenant = tenant_factory("opccli", meters=(MeterDef("main", "consumption", 50.0, 15),))
    site = SiteServer({"main": (42.0, "kWh")}).start()
    try:
        cli_env.setenv("LUNA_OPCUA_TENANT", tenant)
        get_settings.cache_clear()
        result = runner.invoke(
            app, ["sources", "dry-run", "opcua", "--endpoint", site.endpoint, "--root-node", site.site_node]
        )
        cli_env.setenv("LUNA_OPCUA_ENDPOINT", site.endpoint)
        cli_env.setenv("LUNA_OPCUA_ROOT_NODE", site.site_node)
        get_settings.cache_clear()
        once = runner.invoke(app, ["ingest-opcua", "--once"])
    finally:
        site.close()
    assert result.exit_code == 0, result.output
    assert "counter main (ns=2;s=Site.main): 42.000 kWh" in result.stdout
    assert once.exit_code == 0 and "1 counters read, 0 readings stored" in once.output  # the first read: a baseline
    with tenant_scope(engine, tenant) as connection:
        from sqlalchemy import func, select

        from luna_core.db.schema import ingest_batches

        assert connection.execute(select(func.count()).select_from(ingest_batches)).scalar_one() == 0
