"""The recommendations asset materialized for real (Dagster ``materialize``, PostgreSQL): a simulated
site with EV chargers, a heat pump, a battery and PV, four weeks of readings and simulated day-ahead
prices; the schedule, recommendations and ledger it writes, realised savings from the device meters,
the same data through the API, and rules that act only on their own tenant.

The module runs at a set instant (time-machine): what the simulated devices did on "yesterday" (an EV
charging, a heat pump heating) depends on the date, so the asserted plans would otherwise too."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import time_machine
from dagster import instance_for_test, materialize
from sqlalchemy import func, select

from luna_assets.definitions import ASSETS
from luna_core.db.schema import playbook_recommendations, playbook_savings, playbook_schedules
from luna_core.db.tenancy import tenant_scope
from luna_core.energy.hourly import refresh_consumption_hourly
from luna_core.i18n import translator
from luna_core.ingest import ingest_frame
from luna_core.market.store import upsert_prices
from luna_core.playbook.advice import cheapest_charging_window
from luna_core.playbook.recommendations import recommendation_text
from luna_core.playbook.rules import create_rule, list_rules
from luna_core.simulation.market import simulate_day_ahead_prices
from luna_core.simulation.meters import simulate_site
from luna_core.simulation.registry import register_site
from luna_core.simulation.sites import MeterSpec, SiteSpec
from luna_core.tenants import delete_tenant
from tests.dagster_resources import luna_resources

BERLIN = ZoneInfo("Europe/Berlin")
DAYS = 29
NOW = datetime(2026, 12, 2, 14, 30, tzinfo=BERLIN)  # a Wednesday afternoon: tomorrow's prices are out


@pytest.fixture(scope="module", autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True):
        yield


def _site(tenant_id: str, zone: str) -> SiteSpec:
    return SiteSpec(
        tenant_id=tenant_id,
        name="Playbook test site",
        kind="business",
        state="BE",
        latitude=52.5,
        longitude=13.4,
        zone=zone,
        meters=(
            MeterSpec("main", "consumption", annual_kwh=80_000, profile="g1", max_kw=110.0),
            MeterSpec("pv", "pv", kwp=30.0, max_kw=27.0),
            MeterSpec("ev", "ev", annual_kwh=24_000, max_kw=50.0, name="Ladepark Hof"),
            MeterSpec("heat-pump", "heat_pump", annual_kwh=11_000, max_kw=9.0),
            MeterSpec("battery", "battery", max_kw=10.0),
        ),
    )


@pytest.fixture(scope="module")
def world(engine):
    """Tenants A (with rules) and B (one rule of its own) in a bidding zone only this module uses."""
    suffix = uuid.uuid4().hex[:6]
    zone = f"PB-{suffix}"
    today = datetime.now(BERLIN).date()
    end = datetime.combine(today, time(), BERLIN).astimezone(UTC)
    start = end - timedelta(days=DAYS)
    prices = pl.concat(
        [
            simulate_day_ahead_prices("DE-LU", today - timedelta(days=DAYS + 1), today + timedelta(days=1), r, seed=5)
            for r in (60, 15)
        ]
    ).with_columns(pl.lit(zone).alias("zone"))
    with engine.begin() as connection:
        upsert_prices(connection, prices)
    tenants = {}
    for name in ("a", "b"):
        site = _site(f"pb-{name}-{suffix}", zone)
        register_site(engine, site)
        readings = simulate_site(site, start, end, seed=11).select("meter_id", "ts", "kwh")
        ingest_frame(engine, site.tenant_id, readings, source="test", source_ref="playbook-fixture")
        with tenant_scope(engine, site.tenant_id) as connection:
            refresh_consumption_hourly(connection, site.tenant_id)
        tenants[name] = site.tenant_id
    with tenant_scope(engine, tenants["a"]) as connection:
        for strategy, params in (
            ("ev_cheapest_window", {"arrival": "07:00", "deadline": "19:00"}),
            ("heat_pump_preheat", {}),
            ("battery_arbitrage", {}),
            ("pv_self_consumption", {}),
            ("negative_price_alert", {"threshold_eur_mwh": 4000}),  # every hour: the alert path is exercised
            ("peak_shaving", {"contracted_kw": 1}),  # any load is a peak: the warning path is exercised
        ):
            create_rule(connection, tenants["a"], name=strategy, strategy=strategy, params=params, actor="test")
    with tenant_scope(engine, tenants["b"]) as connection:
        b_rule = create_rule(
            connection,
            tenants["b"],
            name="B's own alert",
            strategy="custom",
            condition={"always": True},
            action={"type": "notify", "message_en": "B only", "message_de": "nur B"},
            actor="test",
        )
    yield {"a": tenants["a"], "b": tenants["b"], "b_rule": b_rule.id, "zone": zone, "today": today}
    for tenant in tenants.values():
        delete_tenant(engine, tenant)


@pytest.fixture
def resource(settings):
    return luna_resources(database_url=settings.database_url, data_dir=str(settings.data_dir))


def _materialize(resource, tenant: str, day=None):
    config = {"ops": {"recommendations": {"config": {"day": day.isoformat()}}}} if day else None
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", [tenant])
        result = materialize(
            ASSETS,
            selection=["recommendations"],
            partition_key=tenant,
            instance=instance,
            resources=resource,
            run_config=config,
        )
    assert result.success
    return result.asset_materializations_for_node("recommendations")[0].metadata


def _count(engine, tenant: str, table) -> int:
    with tenant_scope(engine, tenant) as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_asset_plans_a_day_and_settles_realised_savings(engine, world, resource):
    a, yesterday = world["a"], world["today"] - timedelta(days=1)
    meta = _materialize(resource, a, yesterday)
    assert meta["planned"].value is True and meta["day"].value == yesterday.isoformat()
    assert meta["devices_planned"].value == 3
    with tenant_scope(engine, a) as connection:
        schedules = {r.device: r for r in connection.execute(select(playbook_schedules))}
        ledger = {r.device: r for r in connection.execute(select(playbook_savings))}
        recommendations = list(connection.execute(select(playbook_recommendations)))
    assert set(schedules) == {"ev", "heat-pump", "battery"}
    for device, row in ledger.items():
        assert row.optimised_eur <= row.naive_eur + 1e-9, device
        assert schedules[device].naive_cost_eur == pytest.approx(row.naive_eur)
    assert sum(r.naive_eur - r.optimised_eur for r in ledger.values()) > 0
    # EV energy is the same in both plans: only its timing changed.
    ev_slots = schedules["ev"].slots
    assert sum(s["optimised_kw"] for s in ev_slots) == pytest.approx(sum(s["baseline_kw"] for s in ev_slots), rel=1e-3)
    # Yesterday is over and its readings are complete: EV and heat pump are settled, the battery cannot be.
    assert ledger["ev"].realised_eur is not None and ledger["heat-pump"].realised_eur is not None
    assert ledger["battery"].realised_eur is None
    assert ledger["ev"].actual_kwh == pytest.approx(_meter_kwh(engine, a, "ev", yesterday), rel=1e-6)
    strategies = {r.strategy for r in recommendations}
    assert {
        "ev_cheapest_window",
        "heat_pump_preheat",
        "battery_arbitrage",
        "negative_price_alert",
        "peak_shaving",
    } <= strategies
    ev_rec = next(r for r in recommendations if r.strategy == "ev_cheapest_window")
    english, german = (
        recommendation_text(ev_rec.message_key, ev_rec.params, translator(lang)) for lang in ("en", "de")
    )
    assert "saves" in english.reason and "spart" in german.reason
    assert ev_rec.saving_eur == pytest.approx(ledger["ev"].naive_eur - ledger["ev"].optimised_eur)


def _meter_kwh(engine, tenant: str, meter: str, day) -> float:
    from sqlalchemy import text

    start = datetime.combine(day, time(), BERLIN)
    with tenant_scope(engine, tenant) as connection:
        return connection.execute(
            text("SELECT sum(kwh) FROM meter_readings WHERE meter_id = :m AND ts >= :s AND ts < :e"),
            {"m": meter, "s": start, "e": start + timedelta(days=1)},
        ).scalar_one()


def test_default_day_is_tomorrow_once_its_prices_are_out(world, resource):
    meta = _materialize(resource, world["a"])
    assert meta["day"].value == (world["today"] + timedelta(days=1)).isoformat()
    assert meta["planned"].value is True


def test_a_day_without_prices_is_reported_not_failed(world, resource):
    meta = _materialize(resource, world["a"], world["today"] + timedelta(days=30))
    assert meta["planned"].value is False and "not published" in meta["reason"].value


def test_rules_of_one_tenant_never_act_on_another(engine, world, resource):
    a, b, yesterday = world["a"], world["b"], world["today"] - timedelta(days=1)
    _materialize(resource, a, yesterday)
    with tenant_scope(engine, a) as connection:
        a_rules = {r.id for r in list_rules(connection, a)}
        a_rule_ids = set(connection.execute(select(playbook_recommendations.c.rule_id)).scalars())
    assert a_rule_ids <= a_rules and world["b_rule"] not in a_rule_ids
    _materialize(resource, b, yesterday)
    with tenant_scope(engine, b) as connection:
        rows = list(connection.execute(select(playbook_recommendations)))
    # B has no devices rules: its only recommendations come from its own rule, one window for the day.
    assert {r.rule_id for r in rows} == {world["b_rule"]}
    assert recommendation_text(rows[0].message_key, rows[0].params, translator("en")).title == "B only"
    assert _count(engine, b, playbook_schedules) == 0 and _count(engine, b, playbook_savings) == 0


def test_api_serves_the_schedule_recommendations_and_savings(api, api_user, world, resource):
    a, yesterday = world["a"], world["today"] - timedelta(days=1)
    _materialize(resource, a, yesterday)
    user = api_user(a)
    schedule = api.get("/playbook/schedule", params={"date": yesterday.isoformat()}, headers=user.headers)
    assert schedule.status_code == 200, schedule.text
    body = schedule.json()
    assert {s["device"] for s in body["slots"]} == {"ev", "heat-pump", "battery"}
    assert body["saving_eur"] == pytest.approx(body["naive_cost_eur"] - body["optimised_cost_eur"], abs=1e-3)
    recs = api.get("/playbook/recommendations", params={"date": yesterday.isoformat()}, headers=user.headers).json()
    assert recs["date"] == yesterday.isoformat()
    assert all(r["title_de"] and r["reason_de"] and r["reason_en"] for r in recs["items"])
    # Devices are named as the tenant named their meters, not by meter id.
    ev = next(r for r in recs["items"] if r["strategy"] == "ev_cheapest_window")
    assert "Ladepark Hof" in ev["title_de"] and "Ladepark Hof" in ev["title_en"], ev
    assert "ev" not in ev["title_de"].split()
    days = api.get("/playbook/savings", params={"granularity": "day"}, headers=user.headers).json()
    row = next(i for i in days["items"] if i["period"] == yesterday.isoformat())
    assert row["saving_eur"] >= 0 and row["realised_eur"] is not None
    months = api.get("/playbook/savings", params={"granularity": "month"}, headers=user.headers).json()
    assert months["total_saving_eur"] == pytest.approx(days["total_saving_eur"], abs=1e-6)
    assert all(i["period"].endswith("-01") for i in months["items"])
    # B's user sees none of it.
    b_user = api_user(world["b"])
    other = api.get("/playbook/schedule", params={"date": yesterday.isoformat()}, headers=b_user.headers).json()
    assert other["slots"] == []


def test_advice_names_the_cheapest_charging_window(engine, world):
    tomorrow = world["today"] + timedelta(days=1)
    with tenant_scope(engine, world["a"]) as connection:
        start, end, cost, saving = cheapest_charging_window(connection, world["a"], tomorrow, 22.0, 11.0)
        day = simulate_day_ahead_prices("DE-LU", tomorrow, tomorrow, 60, seed=5)
    prices, starts = day["eur_per_mwh"].to_list(), day["ts"].to_list()
    assert end - start == timedelta(hours=2)
    best = min(range(len(prices) - 1), key=lambda k: prices[k] + prices[k + 1])
    assert start == starts[best] and start.utcoffset() == starts[best].astimezone(BERLIN).utcoffset()
    assert cost == pytest.approx((prices[best] + prices[best + 1]) * 11 / 1000, abs=0.01)
    assert saving >= 0
