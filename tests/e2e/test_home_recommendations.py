"""Home shows tomorrow's recommendations once they exist and today's until then, at two set instants:
this process's clock (the API runs in it) set with time-machine, the page's clock with Playwright's.
Before 13:00 Berlin only today's prices are published and the playbook planned today; in the evening
tomorrow's prices are out and tomorrow is planned next to today's plan, and Home must show tomorrow's.
The instants fall on the 25-hour day when summer time ends and on a month end (tomorrow is 1 December)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import polars as pl
import pytest
import time_machine

from luna_core.db.tenancy import tenant_scope
from luna_core.market.auction import last_published_day
from luna_core.market.store import upsert_prices
from luna_core.playbook.rules import create_rule
from luna_core.playbook.service import run_day
from luna_core.simulation.market import simulate_day_ahead_prices
from tests.conftest import Meter
from tests.e2e.conftest import World, add_person, login, new_context, screenshot

pytestmark = pytest.mark.slow
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("now", "published"),
    [
        (datetime(2026, 10, 25, 6, 41, tzinfo=BERLIN), False),
        (datetime(2026, 11, 30, 20, 30, tzinfo=BERLIN), True),
    ],
    ids=["morning-before-publication", "evening-after-publication"],
)
def test_home_shows_tomorrows_recommendations_once_they_exist(
    browser, world: World, engine, tenant_factory, now, published
):
    with time_machine.travel(now, tick=True):
        zone = f"HM-{uuid.uuid4().hex[:6]}"
        tenant = tenant_factory("home", meters=(Meter("house"), Meter("car", "ev", 11.0)), zone=zone)
        with tenant_scope(engine, tenant) as connection:
            create_rule(
                connection,
                tenant,
                name="Charge the car",
                strategy="ev_cheapest_window",
                params={"arrival": "07:00", "deadline": "19:00", "energy_kwh": 22},
                actor="e2e",
            )
        today = now.date()
        # What the prices asset has stored by now, and the playbook's runs: yesterday afternoon's
        # (today) and, once tomorrow's prices are out, this afternoon's (tomorrow).
        prices = simulate_day_ahead_prices("DE-LU", today - timedelta(days=1), last_published_day(), 60, seed=9)
        with engine.begin() as connection:
            upsert_prices(connection, prices.with_columns(pl.lit(zone).alias("zone")))
        assert run_day(engine, tenant, today).planned
        current = run_day(engine, tenant)  # the asset's default day
        expected = today + timedelta(days=1) if published else today
        assert current.planned and current.day == expected, (current.day, current.reason)

        person = add_person(engine, tenant, "customer")
        token = person.token(world.url)
        shown_by_api = httpx.get(
            f"{world.url}/playbook/recommendations",
            params={"date": expected.isoformat()},
            headers={"Authorization": f"Bearer {token}"},
        ).json()["items"]
        assert [r["strategy"] for r in shown_by_api] == ["ev_cheapest_window"]

        context = new_context(browser, world)
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            login(page, person)
            label = page.get_by_test_id("recommendations-day")
            label.wait_for()
            assert label.get_attribute("data-day") == expected.isoformat()
            assert label.inner_text().startswith("Tomorrow" if published else "Today"), label.inner_text()
            card = page.get_by_test_id("recommendations")
            card.get_by_text(shown_by_api[0]["title_en"]).wait_for()
            assert f"saves €{shown_by_api[0]['saving_eur']:.2f}" in card.inner_text()
            screenshot(page, f"home-recommendations-{'tomorrow' if published else 'today'}")
        finally:
            context.close()
        assert not errors, f"the page threw: {errors}"
        assert datetime.now(UTC) - now < timedelta(hours=1)  # the set clock held for the whole test
