"""The playbook page in the browser: tomorrow's EV plan drawn against the prices with what it saves,
and a rule switched off by a tenant admin (the API agrees afterwards)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from luna_core.db.tenancy import tenant_scope
from luna_core.playbook.rules import create_rule
from luna_core.playbook.service import run_day
from tests.e2e.conftest import World, login, screenshot


def test_tomorrows_schedule_and_a_rule_switch(page, world: World, engine):
    tenant = world.a_admin.tenant_id
    with tenant_scope(engine, tenant) as connection:
        rule = create_rule(
            connection,
            tenant,
            name="Charge the car when it is cheapest",
            strategy="ev_cheapest_window",
            params={"arrival": "07:00", "deadline": "19:00", "energy_kwh": 22},
            actor="e2e",
        )
    tomorrow = datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=1)
    planned = run_day(engine, tenant, tomorrow)
    assert planned.planned, planned.reason
    schedule = world.api(world.a_admin, "/playbook/schedule", date=tomorrow.isoformat())
    assert schedule["slots"] and schedule["saving_eur"] > 0

    login(page, world.a_admin)
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Playbook").click()
    page.locator('[data-testid="schedule-chart"][data-chart-ready="true"]').wait_for()
    card = page.get_by_test_id("schedule").inner_text()
    assert f"{schedule['saving_eur']:.2f}" in card.replace(",", "")
    switch = page.get_by_test_id(f"rule-switch-{rule.id}")
    assert switch.get_attribute("aria-checked") == "true"
    screenshot(page, "playbook-schedule")
    switch.click()
    page.locator(f'[data-testid="rule-switch-{rule.id}"][aria-checked="false"]').wait_for()
    rules = world.api(world.a_admin, "/playbook/rules")["items"]
    assert [r["enabled"] for r in rules if r["id"] == rule.id] == [False]
