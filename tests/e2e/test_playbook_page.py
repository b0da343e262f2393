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


def test_recommendations_and_strategy_names_read_in_the_dashboards_language(page, world: World, engine):
    """The server renders recommendations and strategy names in the language the dashboard asks for:
    switched to German, Home shows the German titles the API renders, never the English ones, and the
    Playbook page names the strategy in German."""
    tenant = world.a_admin.tenant_id
    with tenant_scope(engine, tenant) as connection:
        rule = create_rule(
            connection,
            tenant,
            name="Cheap hours",
            strategy="negative_price_alert",
            params={"threshold_eur_mwh": 4000},  # every hour is "cheap": one window per day
            actor="e2e",
        )
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    for day in (today, today + timedelta(days=1)):  # Home may ask for either
        assert run_day(engine, tenant, day).planned
    german = world.api(world.a_customer, "/playbook/recommendations", date=today.isoformat(), language="de")
    english = world.api(world.a_customer, "/playbook/recommendations", date=today.isoformat(), language="en")
    mine_de = next(r for r in german["items"] if r["rule_id"] == rule.id)
    mine_en = next(r for r in english["items"] if r["rule_id"] == rule.id)
    assert mine_de["title"].startswith("Niedrige Preise") and mine_en["title"].startswith("Low prices")

    login(page, world.a_customer)
    page.get_by_test_id("lang-switch").select_option("de")
    card = page.get_by_test_id("recommendations")
    card.get_by_text(mine_de["title"]).wait_for()
    shown = card.inner_text()
    assert mine_de["reason"] in shown and mine_en["title"] not in shown and mine_en["reason"] not in shown
    screenshot(page, "home-recommendations-de")

    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Playbook").click()
    page.get_by_test_id("rules").get_by_text("Warnung bei negativen Preisen").first.wait_for()
    assert "Negative-price alerts" not in page.get_by_test_id("rules").inner_text()


def test_a_customer_sees_rules_read_only_and_savings_made_so_far(page, world: World, engine):
    """A customer (not the tenant's admin) sees the rule switches disabled with the reason instead
    of a switch that fails with 403; "savings to date" counts today's plan but never tomorrow's, and
    names its month as a month ("December 2026"), not as the date 2026-12-01."""
    tenant = world.a_admin.tenant_id
    with tenant_scope(engine, tenant) as connection:
        rule = create_rule(
            connection,
            tenant,
            name="Charge for the commute",
            strategy="ev_cheapest_window",
            params={"arrival": "07:00", "deadline": "19:00", "energy_kwh": 22},
            actor="e2e",
        )
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    tomorrow = today + timedelta(days=1)
    for day in (today, tomorrow):
        assert run_day(engine, tenant, day).planned
    ledger = world.api(world.a_customer, "/playbook/savings", granularity="day")["items"]
    by_day = {row["period"]: row["saving_eur"] for row in ledger}
    assert by_day.get(tomorrow.isoformat(), 0) > 0  # tomorrow's plan is in the ledger ...
    so_far = sum(saving for day, saving in by_day.items() if day <= today.isoformat())

    login(page, world.a_customer)
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Playbook").click()
    switch = page.get_by_test_id(f"rule-switch-{rule.id}")
    switch.wait_for()
    assert switch.is_disabled()
    assert "administrator" in page.get_by_test_id("rules-admin-only").inner_text()

    rows = page.get_by_test_id("savings-row")
    rows.first.wait_for()
    periods = [rows.nth(i).get_attribute("data-period") for i in range(rows.count())]
    assert all(p <= today.replace(day=1).isoformat() for p in periods), periods  # ... but not "to date"
    card = page.get_by_test_id("savings").inner_text()
    assert today.strftime("%B %Y") in card and today.replace(day=1).isoformat() not in card
    assert f"{so_far:.2f}" in card.replace(",", "")
    screenshot(page, "playbook-customer-read-only")
