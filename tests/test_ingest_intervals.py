"""Meters know their reading interval (15, 30 or 60 minutes): set through the API and the CLI, or
detected on the first ingest and kept; validation, KPIs, completeness and forecast scoring use it.
Real PostgreSQL throughout; the migration test upgrades a database that already holds readings."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import create_engine, select, text
from typer.testing import CliRunner

from luna_cli.main import app
from luna_core.db import migrate
from luna_core.db.schema import ingest_batches, meter_readings, meters
from luna_core.db.tenancy import tenant_scope
from luna_core.energy.hourly import refresh_consumption_hourly
from luna_core.energy.kpis import compute_tenant_kpis
from luna_core.forecasting.store import live_error, write_forecasts
from luna_core.ingest import ingest_records
from luna_core.market.store import upsert_prices
from luna_core.quality import suites
from luna_core.settings import get_settings
from luna_core.tenants import MeterDef
from tests.conftest import create_database, drop_database

T0 = datetime(2026, 5, 3, 22, 0, tzinfo=UTC)  # Monday 4 May 2026, 00:00 in Berlin
runner = CliRunner()


def _series(meter: str, minutes: int, count: int, kwh, start: datetime = T0) -> list[dict]:
    values = kwh if isinstance(kwh, list) else [kwh] * count
    step = timedelta(minutes=minutes)
    return [{"meter_id": meter, "ts": (start + i * step).isoformat(), "kwh": values[i]} for i in range(count)]


def _interval(engine, tenant: str, meter: str = "main") -> int | None:
    with tenant_scope(engine, tenant) as connection:
        return connection.execute(select(meters.c.interval_minutes).where(meters.c.meter_id == meter)).scalar_one()


def test_half_hourly_readings_below_the_limit_are_stored_and_the_interval_kept(engine, tenant_factory):
    """The issue's case: 30-minute readings up to 9 kW on a 10 kW meter were quarantined as spikes."""
    tenant = tenant_factory(meters=(MeterDef("main", "consumption", 10.0),))
    values = [0.5 + (i % 9) * 0.5 for i in range(96)]  # up to 4.5 kWh in 30 minutes = 9 kW
    result = ingest_records(engine, tenant, _series("main", 30, 96, values), source="http", source_ref="half")
    assert (result.rows_stored, result.rows_quarantined) == (96, 0), result.reasons
    assert result.intervals == {"main": {"minutes": 30, "source": "detected"}}
    assert "meter 'main': reading interval detected as 30 minutes and kept" in result.notes
    assert _interval(engine, tenant) == 30
    with tenant_scope(engine, tenant) as connection:
        recorded = connection.execute(select(ingest_batches.c.intervals)).scalar_one()
    assert recorded == {"main": {"minutes": 30, "source": "detected"}}

    # Now known: a reading off the half-hour grid is refused, a real spike too, each saying why.
    later = T0 + timedelta(days=2)
    odd = [
        {"meter_id": "main", "ts": (later + timedelta(minutes=15)).isoformat(), "kwh": 1.0},
        {"meter_id": "main", "ts": (later + timedelta(minutes=30)).isoformat(), "kwh": 5.5},
    ]
    second = ingest_records(engine, tenant, odd, source="http", source_ref="odd")
    assert second.intervals == {"main": {"minutes": 30, "source": "set"}}
    assert second.reasons == {
        "timestamp not on the 30-minute grid (meter 'main' reads every 30 minutes; Luna accepts readings every 15, "
        "30 or 60 minutes, at :00, :15, :30, :45; if the meter reads more often, set its interval (luna meters set, "
        "PATCH /meters/{id}))": 1,
        "implausible spike: above the limit of meter 'main' (5.0 kWh: max_kw 10.0 x 30 minutes); check the unit or "
        "the meter's max_kw": 1,
    }


def test_detection_does_not_depend_on_order_gaps_or_a_stray_row(engine, tenant_factory):
    tenant = tenant_factory(meters=(MeterDef("main", "consumption", 10.0),))
    rows = [r for i, r in enumerate(_series("main", 30, 200, 1.0)) if i % 10 != 3]  # gaps
    rows.append({"meter_id": "main", "ts": "1926-05-04T00:15:00+00:00", "kwh": 1.0})  # a typo far away
    random.Random(4).shuffle(rows)
    result = ingest_records(engine, tenant, rows, source="http", source_ref="shuffled")
    assert result.intervals == {"main": {"minutes": 30, "source": "detected"}}
    assert result.rows_stored == len(rows) - 1


def test_a_single_reading_waits_for_the_next_to_detect_the_interval(engine, tenant_factory):
    tenant = tenant_factory(meters=(MeterDef("main", "consumption", 10.0),))
    first = ingest_records(engine, tenant, _series("main", 60, 1, 8.0), source="mqtt", source_ref="1")
    assert first.rows_stored == 1  # 8 kWh is plausible for up to an hour
    assert first.intervals == {"main": {"minutes": 60, "source": "assumed"}}
    assert _interval(engine, tenant) is None
    power = ingest_records(
        engine,
        tenant,
        [{"meter_id": "main", "ts": T0.isoformat(), "value": 2, "unit": "kW"}],
        source="mqtt",
        source_ref="p",
    )
    assert "needs the reading interval of meter 'main', which is not known yet" in next(iter(power.reasons))
    second = ingest_records(
        engine, tenant, _series("main", 60, 1, 7.0, T0 + timedelta(hours=1)), source="mqtt", source_ref="2"
    )
    assert second.intervals == {"main": {"minutes": 60, "source": "detected"}}
    assert _interval(engine, tenant) == 60


def test_an_interval_the_data_contradicts_is_pointed_out(engine, tenant_factory):
    tenant = tenant_factory(meters=(MeterDef("main", "consumption", 10.0, 15),))
    result = ingest_records(engine, tenant, _series("main", 30, 8, 1.0), source="http", source_ref="c")
    assert result.rows_stored == 8
    assert result.intervals == {"main": {"minutes": 15, "source": "set", "seen_minutes": 30}}
    assert any("is set to 15-minute readings, but these are mostly 30 minutes apart" in n for n in result.notes)


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("LUNA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LUNA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LUNA_DAGSTER_DATABASE_URL", settings.dagster_url().render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_interval_set_through_the_cli(engine, cli_env):
    from luna_core.tenants import delete_tenant

    tenant = f"cliint-{uuid.uuid4().hex[:6]}"
    added = runner.invoke(app, ["tenants", "add", tenant, "--name", "I", "--meter", "main:consumption:10:60"])
    assert added.exit_code == 0, added.output
    try:
        assert _interval(engine, tenant) == 60
        assert "60 min" in runner.invoke(app, ["meters", "list", tenant]).output
        hourly = ingest_records(engine, tenant, _series("main", 60, 4, 8.0), source="http", source_ref="h")
        assert (hourly.rows_stored, hourly.rows_quarantined) == (4, 0)
        changed = runner.invoke(app, ["meters", "set", tenant, "main", "--interval", "30"])
        assert changed.exit_code == 0, changed.output
        assert _interval(engine, tenant) == 30
        created = runner.invoke(
            app, ["meters", "set", tenant, "pv", "--kind", "pv", "--max-kw", "5", "--interval", "15"]
        )
        assert created.exit_code == 0 and _interval(engine, tenant, "pv") == 15
        bad = runner.invoke(app, ["meters", "set", tenant, "main", "--interval", "45"])
        assert bad.exit_code == 1 and "expected one of 15, 30, 60" in bad.output
        missing = runner.invoke(app, ["meters", "set", tenant, "ghost", "--interval", "15"])
        assert missing.exit_code == 1 and "give --kind and --max-kw" in missing.output
    finally:
        delete_tenant(engine, tenant)


def test_interval_set_through_the_api(api, api_user, engine, tenant_factory):
    admin = api_user(role="admin")
    customer = api_user(admin.tenant_id)
    assert api.get("/meters/main", headers=admin.headers).json()["interval_minutes"] is None
    assert api.patch("/meters/main", json={"interval_minutes": 60}, headers=customer.headers).status_code == 403
    bad = api.patch("/meters/main", json={"interval_minutes": 45}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"
    assert api.patch("/meters/main", json={}, headers=admin.headers).status_code == 422
    assert api.patch("/meters/ghost", json={"interval_minutes": 60}, headers=admin.headers).status_code == 404
    other = api_user(role="admin")  # another tenant's meter of the same id is not touched
    changed = api.patch("/meters/main", json={"interval_minutes": 60}, headers=admin.headers)
    assert changed.status_code == 200 and changed.json()["interval_minutes"] == 60
    assert _interval(engine, other.tenant_id) is None
    pushed = api.post(
        "/ingest/readings",
        json={"readings": [{"meter_id": "main", "ts": (T0 + timedelta(minutes=15)).isoformat(), "kwh": 1}]},
        headers=admin.headers,
    )
    assert pushed.json()["rows_quarantined"] == 1 and pushed.json()["intervals"]["main"]["minutes"] == 60


def test_kpis_use_the_interval_for_peak_and_price(engine, tenant_factory):
    zone = f"TEST-{uuid.uuid4().hex[:6]}"
    tenant = tenant_factory(meters=(MeterDef("main", "consumption", 10.0, 30),), zone=zone)
    ingest_records(engine, tenant, _series("main", 30, 4, [1.0, 2.5, 2.0, 1.0]), source="http", source_ref="k")
    quarters = [T0 + timedelta(minutes=15 * i) for i in range(8)]
    prices = pl.DataFrame(
        {
            "zone": [zone] * 8,
            "ts": quarters,
            "resolution_minutes": [15] * 8,
            "eur_per_mwh": [100.0, 300.0, 200.0, 200.0, 50.0, 150.0, 80.0, 120.0],
            "source": ["test"] * 8,
        },
        schema_overrides={"resolution_minutes": pl.Int16, "ts": pl.Datetime("us", "UTC")},
    )
    with tenant_scope(engine, tenant) as connection:
        upsert_prices(connection, prices)
        kpis = compute_tenant_kpis(connection, tenant, date(2026, 5, 4))
    assert kpis is not None
    assert kpis.peak_kw_month == pytest.approx(5.0)  # 2.5 kWh in 30 minutes
    assert kpis.peak_at == T0 + timedelta(minutes=30)
    # each half hour at the mean of its two quarter-hour prices
    assert kpis.cost_today_eur == pytest.approx((1 * 200 + 2.5 * 200 + 2 * 100 + 1 * 100) / 1000)
    assert (kpis.intervals, kpis.unpriced_intervals) == (4, 0)


def test_completeness_and_range_checks_use_the_interval(engine, tenant_factory):
    tenant = tenant_factory(meters=(MeterDef("main", "consumption", 10.0, 30),))
    rows = _series("main", 30, 48 * 8 + 1, 2.0)  # 8 full days and the first reading of the ninth
    ingest_records(engine, tenant, rows, source="http", source_ref="full")
    with tenant_scope(engine, tenant) as connection:
        complete = suites.readings_complete(connection, tenant, "Europe/Berlin")
        in_range = suites.readings_in_range(connection, tenant)
        fresh = suites.readings_fresh(connection, tenant, timedelta(hours=1), now=T0 + timedelta(days=8, minutes=45))
    assert complete.success, complete.failures
    assert in_range.success, in_range.failures
    assert fresh.success, fresh.failures  # the newest reading covers until 00:30


def test_a_half_hourly_device_day_settles_in_the_savings_ledger(engine, tenant_factory):
    from luna_core.playbook.savings import realised

    tenant = tenant_factory(meters=(MeterDef("ev", "ev", 11.0, 30),))
    ingest_records(engine, tenant, _series("ev", 30, 48, 1.0), source="http", source_ref="ev")
    slots = [
        {"start": (T0 + timedelta(hours=h)).isoformat(), "price_eur_mwh": 100.0, "baseline_kw": 2.0} for h in range(24)
    ]
    with tenant_scope(engine, tenant) as connection:
        settled = realised(connection, tenant, "Europe/Berlin", date(2026, 5, 4), "ev", slots)
    assert settled is not None  # 48 of 48 half-hours: complete
    assert settled[:2] == (pytest.approx(48.0), pytest.approx(4.8))


def test_an_hourly_meter_is_scored_against_its_forecast(engine, tenant_factory):
    tenant = tenant_factory(meters=(MeterDef("main", "consumption", 10.0, 60),))
    ingest_records(engine, tenant, _series("main", 60, 24, 2.0), source="http", source_ref="h")
    hours = [T0 + timedelta(hours=h) for h in range(24)]
    with tenant_scope(engine, tenant) as connection:
        refresh_consumption_hourly(connection, tenant, full=True)
        write_forecasts(connection, tenant, pl.DataFrame({"ts": hours, "kwh_pred": [2.5] * 24}), "m", "1")
        mae, scored = live_error(connection, tenant, T0)
    assert (scored, mae) == (24, pytest.approx(0.5))


def test_the_migration_detects_the_interval_of_meters_with_readings():
    name = f"luna_migrate_{uuid.uuid4().hex[:8]}"
    engine = create_engine(create_database(name))
    try:
        migrate.upgrade(engine, "luna_app", "0009")
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO tenants (id, name, kind) VALUES ('mig-i', 'I', 'business')"))
            for meter in ("half", "quarter", "empty"):
                connection.execute(
                    text(
                        "INSERT INTO meters (tenant_id, meter_id, kind, name, max_kw) VALUES ('mig-i', :m, 'pv', :m, 5)"
                    ),
                    {"m": meter},
                )
            connection.execute(text("SELECT luna_ensure_reading_partitions(:a, :a)"), {"a": T0})
            for meter, minutes in (("half", 30), ("quarter", 15)):
                for i in range(20):
                    if i == 7:
                        continue  # a gap does not change the interval
                    connection.execute(
                        meter_readings.insert().values(
                            tenant_id="mig-i", meter_id=meter, ts=T0 + timedelta(minutes=minutes * i), kwh=0.1
                        )
                    )
        migrate.upgrade(engine, "luna_app")
        with engine.connect() as connection:
            found = dict(connection.execute(text("SELECT meter_id, interval_minutes FROM meters")).all())
        assert found == {"half": 30, "quarter": 15, "empty": None}
        migrate.downgrade(engine, "luna_app", "0009")
        with engine.connect() as connection:
            columns = connection.execute(
                text("SELECT column_name FROM information_schema.columns WHERE table_name = 'meters'")
            ).scalars()
            assert "interval_minutes" not in set(columns)
    finally:
        engine.dispose()
        drop_database(name)
