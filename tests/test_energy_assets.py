"""Every asset materialized for two tenants with ``dagster.materialize`` on a real instance and
real PostgreSQL; KPIs compared with numbers worked out by hand from a small fixed input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from dagster import DagsterInstance, instance_for_test, materialize
from sqlalchemy import func, select

from luna_assets.checks import ALL_CHECKS
from luna_assets.definitions import ASSETS
from luna_core.db.schema import consumption_hourly, meter_readings, tenant_kpis
from luna_core.db.tenancy import tenant_scope
from luna_core.landing import drop_file, tenant_dir
from tests.conftest import Meter
from tests.dagster_resources import luna_resources

DAY = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
EARLY = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
PRICES_CONFIG = {"ops": {"day_ahead_prices": {"config": {"start": "2026-01-01", "end": "2026-01-14"}}}}


def _prices_csv(path) -> str:
    hours = [datetime(2025, 12, 31, 23, tzinfo=UTC) + timedelta(hours=h) for h in range(14 * 24)]
    pl.DataFrame(
        {
            "ts": [h.isoformat() for h in hours],
            "eur_per_mwh": [200.0 if h == DAY else 100.0 for h in hours],
        }
    ).write_csv(path)
    return str(path)


def _readings_csv(path, rows: list[tuple[str, datetime, float]]):
    pl.DataFrame(
        {"meter_id": [m for m, _, _ in rows], "ts": [t.isoformat() for _, t, _ in rows], "kwh": [k for *_, k in rows]}
    ).write_csv(path)
    return path


@pytest.fixture
def instance() -> DagsterInstance:
    with instance_for_test() as instance:
        yield instance


@pytest.fixture
def two_tenants(engine, settings, tenant_factory, tmp_path):
    # A zone of its own: market_prices is shared by all tenants, and other tests write DE-LU prices.
    zone = f"TEST-{uuid.uuid4().hex[:6]}"
    a = tenant_factory("office", meters=(Meter("main"), Meter("pv", "pv", 10.0)), zone=zone)
    b = tenant_factory("bakery", meters=(Meter("main"),), zone=zone)
    q = timedelta(minutes=15)
    a_rows = [("main", EARLY, 1.0), ("pv", EARLY, 0.0)]
    for i, (load, pv) in enumerate([(1.0, 0.25), (2.0, 0.5), (0.5, 1.0), (1.5, 0.0)]):
        a_rows += [("main", DAY + i * q, load), ("pv", DAY + i * q, pv)]
    drop_file(settings, a, _readings_csv(tmp_path / "a.csv", a_rows))
    drop_file(settings, b, _readings_csv(tmp_path / "b.csv", [("main", DAY, 3.0)]))
    resource = luna_resources(
        database_url=settings.database_url,
        data_dir=str(settings.data_dir),
        market_source="csv",
        market_csv_path=_prices_csv(tmp_path / "prices.csv"),
    )
    return a, b, resource


def _materialize_all(instance, resource, tenants):
    prices = materialize(
        ASSETS,
        selection=["day_ahead_prices"],
        instance=instance,
        resources=resource,
        run_config=PRICES_CONFIG,
    )
    assert prices.success
    for tenant in tenants:
        instance.add_dynamic_partitions("tenants", [tenant])
        result = materialize(
            [*ASSETS, *ALL_CHECKS],
            selection=["meter_readings", "consumption_hourly", "tenant_kpis"],
            partition_key=tenant,
            instance=instance,
            resources=resource,
            tags={"tenant": tenant},
        )
        assert result.success


def _kpis(engine, tenant):
    with tenant_scope(engine, tenant) as connection:
        return connection.execute(select(tenant_kpis)).one()


def _count(engine, tenant, table):
    with tenant_scope(engine, tenant) as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_kpis_match_hand_computed_values(engine, settings, instance, two_tenants):
    a, b, resource = two_tenants
    _materialize_all(instance, resource, [a, b])

    kpis = _kpis(engine, a)
    assert kpis.as_of.isoformat() == "2026-01-14"
    assert kpis.kwh_today == pytest.approx(5.0)  # 1 + 2 + 0.5 + 1.5
    assert kpis.kwh_month == pytest.approx(6.0)  # + 1.0 on Jan 2
    # grid import today: 0.75 + 1.5 + 0 + 1.5 = 3.75 kWh at 200 EUR/MWh
    assert kpis.cost_today_eur == pytest.approx(0.75)
    assert kpis.cost_month_eur == pytest.approx(0.85)  # + 1.0 kWh at 100 EUR/MWh
    assert kpis.peak_kw_month == pytest.approx(6.0)  # 1.5 kWh in 15 minutes
    assert kpis.peak_at == DAY + timedelta(minutes=15)
    assert kpis.pv_kwh_month == pytest.approx(1.75)
    assert kpis.self_consumption_ratio == pytest.approx(1.25 / 1.75)

    other = _kpis(engine, b)
    assert (other.kwh_today, other.cost_today_eur, other.self_consumption_ratio) == (3.0, pytest.approx(0.6), None)

    with tenant_scope(engine, a) as connection:
        hourly = dict(
            connection.execute(
                select(consumption_hourly.c.meter_id, consumption_hourly.c.kwh).where(consumption_hourly.c.hour == DAY)
            ).all()
        )
    assert hourly == {"main": pytest.approx(5.0), "pv": pytest.approx(1.75)}
    assert sorted(p.name for p in (tenant_dir(settings, a) / "processed").iterdir()) == ["a.csv"]


def test_rerun_changes_nothing(engine, instance, two_tenants):
    a, b, resource = two_tenants
    _materialize_all(instance, resource, [a, b])
    before = [_count(engine, a, t) for t in (meter_readings, consumption_hourly, tenant_kpis)]
    first_kpis = _kpis(engine, a)
    _materialize_all(instance, resource, [a, b])
    assert [_count(engine, a, t) for t in (meter_readings, consumption_hourly, tenant_kpis)] == before == [10, 4, 1]
    assert _kpis(engine, a).cost_month_eur == first_kpis.cost_month_eur


def test_late_correction_reaches_its_hour(engine, settings, instance, two_tenants, tmp_path):
    a, _, resource = two_tenants
    _materialize_all(instance, resource, [a])
    drop_file(settings, a, _readings_csv(tmp_path / "fix.csv", [("main", EARLY, 4.0)]))
    _materialize_all(instance, resource, [a])
    with tenant_scope(engine, a) as connection:
        early = connection.execute(
            select(consumption_hourly.c.kwh).where(
                consumption_hourly.c.hour == EARLY, consumption_hourly.c.meter_id == "main"
            )
        ).scalar_one()
    assert early == 4.0
    assert _kpis(engine, a).kwh_month == pytest.approx(9.0)


def test_checks_report_in_the_run(instance, two_tenants):
    a, _, resource = two_tenants
    instance.add_dynamic_partitions("tenants", [a])
    materialize(
        ASSETS,
        selection=["day_ahead_prices"],
        instance=instance,
        resources=resource,
        run_config=PRICES_CONFIG,
    )
    result = materialize(
        [*ASSETS, *ALL_CHECKS],
        selection=["meter_readings"],
        partition_key=a,
        instance=instance,
        resources=resource,
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["readings_in_range"].passed
    # Two isolated days of data: completeness over the last seven days must fail, and say so.
    assert not evaluations["readings_complete"].passed
    assert not evaluations["readings_fresh"].passed  # January data is not fresh today
