"""Which day the playbook plans and which plan the API serves, at set instants (time-machine, so the
outcome never depends on when CI runs): before 13:00 Berlin only today's prices exist and today is
planned; from 13:00 tomorrow's prices are stored, tomorrow is planned, and GET /playbook/recommendations
and /playbook/schedule without a date answer tomorrow's while today's stays readable by date. Through
the real ``day_ahead_prices`` and ``recommendations`` assets, on an ordinary day, the eve of the 23-hour
day, the 25-hour day and a month and year end; and "today" is the tenant's day, not the UTC one."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import time_machine
from dagster import instance_for_test, materialize

from luna_assets.definitions import ASSETS
from luna_core.db.tenancy import tenant_scope
from luna_core.playbook.recommendations import DayPlan, Recommendation
from luna_core.playbook.rules import create_rule
from luna_core.playbook.store import current_day, write_day
from luna_core.simulation.market import simulate_day_ahead_prices
from tests.conftest import Meter
from tests.dagster_resources import luna_resources

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(day: date, hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def local_hours(day: date) -> int:
    start, end = berlin(day, "00:00").astimezone(UTC), berlin(day + timedelta(days=1), "00:00").astimezone(UTC)
    return round((end - start).total_seconds() / 3600)


@pytest.fixture
def ev_tenant(tenant_factory, engine):
    """A tenant with a wallbox, a rule for it and a bidding zone of its own."""
    zone = f"PD-{uuid.uuid4().hex[:6]}"
    tenant = tenant_factory("pd", meters=(Meter("house"), Meter("car", "ev", 11.0)), zone=zone)
    with tenant_scope(engine, tenant) as connection:
        create_rule(
            connection,
            tenant,
            name="Charge the car",
            strategy="ev_cheapest_window",
            params={"arrival": "07:00", "deadline": "19:00", "energy_kwh": 22},
            actor="test",
        )
    return tenant, zone


def _materialize(resource, selection: str, tenant: str | None = None) -> dict:
    with instance_for_test() as instance:
        if tenant:
            instance.add_dynamic_partitions("tenants", [tenant])
        result = materialize(ASSETS, selection=[selection], partition_key=tenant, instance=instance, resources=resource)
    assert result.success
    return {k: v.value for k, v in result.asset_materializations_for_node(selection)[0].metadata.items()}


@pytest.mark.parametrize(
    "day",
    [date(2026, 12, 2), date(2026, 3, 28), date(2026, 10, 25), date(2026, 12, 31)],
    ids=["winter-workday", "eve-of-23h-day", "25h-day", "year-end"],
)
def test_today_is_planned_before_publication_and_tomorrow_after(settings, api, api_user, ev_tenant, tmp_path, day):
    tenant, zone = ev_tenant
    tomorrow = day + timedelta(days=1)
    csv = tmp_path / "prices.csv"
    simulate_day_ahead_prices("DE-LU", day - timedelta(days=1), day + timedelta(days=2), 60, seed=3).select(
        pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "eur_per_mwh", pl.lit(zone).alias("zone")
    ).write_csv(csv)
    resource = luna_resources(
        database_url=settings.database_url,
        data_dir=str(settings.data_dir),
        market_source="csv",
        market_csv_path=str(csv),
    )

    with time_machine.travel(berlin(day, "06:41"), tick=True):
        assert _materialize(resource, "day_ahead_prices")["through_day"] == day.isoformat()
        morning = _materialize(resource, "recommendations", tenant)
        user = api_user(tenant)  # logged in now: the token's times are the set clock's
        recs = api.get("/playbook/recommendations", headers=user.headers).json()
        schedule = api.get("/playbook/schedule", headers=user.headers).json()
    assert morning["planned"] is True and morning["day"] == day.isoformat(), morning
    assert recs["date"] == day.isoformat() and [r["strategy"] for r in recs["items"]] == ["ev_cheapest_window"]
    assert recs["items"][0]["saving_eur"] > 0
    assert schedule["date"] == day.isoformat() and len(schedule["slots"]) == local_hours(day)
    today_rec = recs["items"][0]

    with time_machine.travel(berlin(day, "14:00"), tick=True):
        assert _materialize(resource, "day_ahead_prices")["through_day"] == tomorrow.isoformat()
        afternoon = _materialize(resource, "recommendations", tenant)
        user = api_user(tenant)
        recs = api.get("/playbook/recommendations", headers=user.headers).json()
        schedule = api.get("/playbook/schedule", headers=user.headers).json()
        kept = api.get("/playbook/recommendations", headers=user.headers, params={"date": day.isoformat()}).json()
    assert afternoon["planned"] is True and afternoon["day"] == tomorrow.isoformat(), afternoon
    assert recs["date"] == tomorrow.isoformat() and [r["strategy"] for r in recs["items"]] == ["ev_cheapest_window"]
    assert schedule["date"] == tomorrow.isoformat() and len(schedule["slots"]) == local_hours(tomorrow)
    starts = datetime.fromisoformat(recs["items"][0]["starts_at"]).astimezone(BERLIN)
    assert starts.date() == tomorrow
    # Today's plan is still there for whoever asks for it by date.
    assert kept["date"] == day.isoformat() and kept["items"] == [today_rec]


def _recommendation(title: str) -> DayPlan:
    return DayPlan(recommendations=[Recommendation(None, "custom", "playbook.custom", {"title": title}, 1.0)])


def test_the_current_day_is_the_tenants_local_day(engine, tenant_factory):
    """At 23:30 UTC on 30 November it is already 1 December in Berlin, but not in New York."""
    berlin_tenant = tenant_factory("pdb")
    new_york = tenant_factory("pdn", timezone="America/New_York")
    now = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    for tenant, today in ((berlin_tenant, date(2026, 12, 1)), (new_york, date(2026, 11, 30))):
        with tenant_scope(engine, tenant) as connection:
            assert current_day(connection, tenant, "recommendations", now) == today
            write_day(connection, tenant, today, _recommendation("today's"))
            assert current_day(connection, tenant, "recommendations", now) == today
            # A day planned with nothing to recommend does not hide today's recommendations.
            write_day(connection, tenant, today + timedelta(days=1), DayPlan())
            assert current_day(connection, tenant, "recommendations", now) == today
            write_day(connection, tenant, today + timedelta(days=1), _recommendation("tomorrow's"))
            assert current_day(connection, tenant, "recommendations", now) == today + timedelta(days=1)
            # A plan further ahead (asked for by date) is not "the current" one.
            write_day(connection, tenant, today + timedelta(days=5), _recommendation("later"))
            assert current_day(connection, tenant, "recommendations", now + timedelta(days=2)) == today + timedelta(
                days=2
            )
            assert current_day(connection, tenant, "schedule", now) == today  # no schedule stored at all
