"""The dashboard in a real browser against the real API: a customer signs in and sees the KPIs the
API computes, every page opens (a screenshot of each lands in test-artifacts/), language and theme
switch and stick, a customer of another tenant sees none of the first tenant's data, customers get
no admin console and admins do."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.conftest import PASSWORD, World, login, new_context, screenshot

pytestmark = pytest.mark.slow
BERLIN = ZoneInfo("Europe/Berlin")  # the tenants' time zone (the default)


def _nav(page, name: str):
    return page.get_by_role("navigation", name="Main navigation").get_by_role("link", name=name)


def _unlabelled_controls(page) -> list[str]:
    """Form controls a screen reader could not name."""
    return page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
            .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                            && !el.getAttribute('aria-labelledby') && !(el.textContent || '').trim())
            .map((el) => el.outerHTML.slice(0, 120))"""
    )


def _chart_drawn(page, test_id: str) -> None:
    page.locator(f'[data-testid="{test_id}"][data-chart-ready="true"]').wait_for()


def test_customer_sees_the_kpis_the_api_computes(page, world: World):
    login(page, world.a_customer)
    kpis = world.api(world.a_customer, "/kpis")
    tile = page.get_by_test_id("kpi-kwh-today")
    tile.wait_for()
    assert float(tile.get_attribute("data-value")) == pytest.approx(kpis["kwh_today"])
    shown = tile.locator('[data-role="value"]').inner_text()
    assert shown == f"{kpis['kwh_today']:,.1f} kWh"
    cost = page.get_by_test_id("kpi-cost-today")
    assert float(cost.get_attribute("data-value")) == pytest.approx(kpis["cost_today_eur"])
    assert cost.locator('[data-role="value"]').inner_text() == f"€{kpis['cost_today_eur']:,.2f}"
    peak = page.get_by_test_id("kpi-peak")
    assert float(peak.get_attribute("data-value")) == pytest.approx(kpis["peak_kw_month"])
    # This tenant has PV: the share of consumption it covered is shown.
    expected_share = kpis["pv_kwh_month"] * kpis["self_consumption_ratio"] / kpis["kwh_month"]
    assert float(page.get_by_test_id("kpi-pv-share").get_attribute("data-value")) == pytest.approx(expected_share)
    # A normal day is known from the history, and the day's curve is drawn.
    expect_hint = page.get_by_test_id("kpi-kwh-today").inner_text()
    assert "vs. a normal day" in expect_hint
    _chart_drawn(page, "home-chart")
    assert page.get_by_text(world.a_customer.email).count() >= 1
    assert page.get_by_test_id("footer-version").inner_text() == httpx.get(f"{world.url}/health").json()["version"]
    page.get_by_test_id("footer-freshness").filter(has_text=re.compile(r"\d")).wait_for()
    # The playbook module is hidden while the server has no such route, and shown when it does.
    has_playbook = "/playbook/recommendations" in world.openapi_paths
    assert (page.get_by_test_id("recommendations").count() == 1) == has_playbook
    screenshot(page, "home")


def test_every_page_opens(page, world: World):
    login(page, world.a_customer)
    _nav(page, "Market prices").click()
    page.get_by_role("heading", name="Day-ahead market prices").wait_for()
    _chart_drawn(page, "prices-chart")
    _chart_drawn(page, "prices-history")
    page.get_by_test_id("cheapest-summary").wait_for()
    assert "Cheapest 3 hours" in page.get_by_test_id("cheapest-summary").inner_text()
    assert _unlabelled_controls(page) == []
    screenshot(page, "prices")

    _nav(page, "Smart meter").click()
    page.get_by_role("heading", name="Smart meter", exact=True).wait_for()
    _chart_drawn(page, "trend-chart")
    page.get_by_test_id(f"live-{world.a_secret_meter}").filter(has_text="kW").wait_for()
    # The week shown (tenant-local midnights) adds up to what the API reports for it.
    end = datetime.combine(datetime.now(BERLIN).date() + timedelta(days=1), time(0), tzinfo=BERLIN)
    start = datetime.combine(end.date() - timedelta(days=7), time(0), tzinfo=BERLIN)
    window = {"start": start.isoformat(), "end": end.isoformat()}
    week = world.api(world.a_customer, "/readings/aggregate", bucket="hour", **window)
    shown = float(page.get_by_test_id("trend-total").get_attribute("data-value"))
    assert week["current"]["kwh"] > 0 and shown == pytest.approx(week["current"]["kwh"])
    page.get_by_role("radio", name="15 min").click()
    _chart_drawn(page, "trend-chart")
    assert _unlabelled_controls(page) == []
    screenshot(page, "smart-meter")

    _nav(page, "Playbook").click()
    page.get_by_role("heading", name="Playbook", exact=True).wait_for()
    assert _unlabelled_controls(page) == []
    screenshot(page, "playbook")

    _nav(page, "Support").click()
    page.get_by_role("heading", name="Luna helpdesk").wait_for()
    page.get_by_role("button", name="How do I connect my heat pump?").wait_for()
    # Help topics written for this tenant: its own month so far, as GET /rag/help has it.
    help_texts = {t["key"]: t["text"] for t in world.api(world.a_customer, "/rag/help", language="en")["topics"]}
    page.get_by_test_id("help-kpis").click()
    assert page.get_by_test_id("help-kpis").inner_text().endswith(help_texts["kpis"])
    assert "For you this month so far" in help_texts["kpis"]
    assert _unlabelled_controls(page) == []
    screenshot(page, "support")

    page.get_by_role("link", name="Imprint").click()
    page.get_by_role("heading", name="Imprint").wait_for()
    # A reload of a deep link lands in the app, still signed in.
    page.goto("/consumption")
    page.get_by_role("heading", name="Smart meter", exact=True).wait_for()


def test_live_readings_arrive_without_a_reload(page, world: World):
    login(page, world.a_customer)
    page.goto("/consumption")
    tile = page.get_by_test_id(f"live-{world.a_secret_meter}")
    tile.filter(has_text="kW").wait_for()
    before = tile.inner_text()
    # A mark on this document, gone if the page reloaded (not performance entries: a set browser clock
    # replaces the performance API).
    page.evaluate("() => { window.lunaSamePage = true; }")
    # A new quarter hour arrives through the API (as the MQTT subscriber would store it).
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    newest = now - timedelta(minutes=now.minute % 15)
    admin_token = world.a_admin.token(world.url)
    pushed = httpx.post(
        f"{world.url}/ingest/readings",
        json={"readings": [{"meter_id": world.a_secret_meter, "ts": newest.isoformat(), "kwh": 2.5}]},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert pushed.status_code == 200 and pushed.json()["rows_stored"] == 1, pushed.text
    tile.filter(has_text="10.00 kW").wait_for(timeout=20_000)  # 2.5 kWh in 15 minutes
    assert tile.inner_text() != before
    assert page.evaluate("() => window.lunaSamePage === true")


def test_language_and_theme_switch_and_are_remembered(page, world: World):
    login(page, world.a_customer)
    html = page.locator("html")
    assert "dark" in (html.get_attribute("class") or "")  # dark by default
    page.get_by_test_id("lang-switch").select_option("de")
    page.get_by_role("link", name="Übersicht").wait_for()
    assert html.get_attribute("lang") == "de"
    assert page.get_by_test_id("kpi-kwh-today").inner_text().count("kWh") == 1
    page.get_by_test_id("theme-toggle").click()
    assert "dark" not in (html.get_attribute("class") or "")
    screenshot(page, "home-light-de")
    page.reload()
    page.get_by_role("link", name="Übersicht").wait_for()
    assert "dark" not in (html.get_attribute("class") or "")
    # The theme belongs to the user: another user on the same browser starts dark.
    page.get_by_test_id("logout").click()
    page.get_by_label("E-Mail").fill(world.a_admin.email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_test_id("greeting").wait_for()
    assert "dark" in (html.get_attribute("class") or "")


def test_phone_layout(browser, world: World):
    context = new_context(browser, world, viewport={"width": 390, "height": 844})
    page = context.new_page()
    login(page, world.a_customer)
    assert not page.get_by_role("navigation", name="Main navigation").first.is_visible()
    page.get_by_role("button", name="Menu").click()
    page.locator("#mobile-nav").get_by_role("link", name="Smart meter").click()
    page.get_by_role("heading", name="Smart meter", exact=True).wait_for()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, "smart-meter-phone")
    context.close()


def test_other_tenant_sees_none_of_the_first_tenants_data(page, world: World):
    login(page, world.b_customer)
    b_kpis = world.api(world.b_customer, "/kpis")
    tile = page.get_by_test_id("kpi-kwh-today")
    assert float(tile.get_attribute("data-value")) == pytest.approx(b_kpis["kwh_today"])
    a_kpis = world.api(world.a_customer, "/kpis")
    assert b_kpis["kwh_today"] != pytest.approx(a_kpis["kwh_today"])
    page.goto("/consumption")
    page.get_by_test_id(f"live-{world.b_secret_meter}").wait_for()
    page.get_by_test_id("trend-chart").wait_for()
    for path in ("/", "/consumption", "/prices"):
        page.goto(path)
        page.get_by_test_id("footer").wait_for()
        page.wait_for_load_state("networkidle")
        text = page.locator("body").inner_text()
        for secret in (world.a_secret_meter, world.a_customer.tenant_id, world.a_name, world.a_customer.email):
            assert secret not in text, (path, secret)
    # No PV at this tenant: the PV tile says so instead of borrowing anyone's figure.
    page.goto("/")
    assert "No PV system" in page.get_by_test_id("kpi-pv-share").inner_text()


def test_keyboard_only(page, world: World):
    page.goto("/")
    # The sign-in form focuses its e-mail field once React has rendered it: wait for that, not for load.
    page.wait_for_function("() => document.activeElement && document.activeElement.type === 'email'")
    page.keyboard.type(world.a_customer.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_test_id("greeting").wait_for()
    assert _unlabelled_controls(page) == []
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


def test_session_refreshes_itself_and_ends_clearly(page, world: World):
    login(page, world.a_customer)
    # An access token the API no longer accepts (expired): the app refreshes it and carries on.
    page.evaluate(
        """() => {
          const s = JSON.parse(localStorage.getItem('luna.session'));
          localStorage.setItem('luna.session', JSON.stringify({ ...s, access: s.access.slice(0, -4) + 'AAAA' }));
        }"""
    )
    page.reload()
    page.get_by_test_id("kpi-kwh-today").wait_for()
    refreshed = page.evaluate("() => JSON.parse(localStorage.getItem('luna.session'))")
    assert httpx.get(f"{world.url}/kpis", headers={"Authorization": f"Bearer {refreshed['access']}"}).status_code == 200
    # A refresh token that was revoked: back to the sign-in form, saying why.
    httpx.post(f"{world.url}/auth/logout", json={"refresh_token": refreshed["refresh"]})
    page.evaluate(
        """() => {
          const s = JSON.parse(localStorage.getItem('luna.session'));
          localStorage.setItem('luna.session', JSON.stringify({ ...s, access: s.access.slice(0, -4) + 'AAAA' }));
        }"""
    )
    page.reload()
    page.get_by_text("Your session has ended. Please sign in again.").wait_for()
    assert page.evaluate("() => localStorage.getItem('luna.session')") is None


def test_customers_get_no_admin_console(page, world: World):
    login(page, world.a_customer)
    assert _nav(page, "Admin console").count() == 0
    page.goto("/console")
    page.get_by_test_id("forbidden").wait_for()
    assert page.get_by_test_id("admin-status").count() == 0


def test_admin_sees_the_console(page, world: World):
    login(page, world.a_admin)
    _nav(page, "Admin console").click()
    status = page.get_by_test_id("admin-status")
    status.wait_for()
    for component in ("Database", "Vector index", "Model registry (MLflow)", "MQTT broker", "Dagster", "API"):
        assert status.get_by_role("rowheader", name=component, exact=True).count() == 1
    vector_index = status.locator("tr[data-component=vector_store]")
    assert vector_index.get_by_text("OK", exact=True).count() == 1  # no longer "not configured yet"
    screenshot(page, "console-system")
    page.get_by_role("link", name="Models").click()
    page.get_by_test_id("models").get_by_text(f"luna-{world.a_admin.tenant_id}-load").wait_for()
    screenshot(page, "console-models")
    page.get_by_role("link", name="Tenants & users").click()
    page.get_by_test_id("users").get_by_text(world.a_customer.email).wait_for()
    assert page.get_by_test_id("users").get_by_text(world.b_customer.email).count() == 0
    screenshot(page, "console-tenants")
    page.get_by_role("link", name="Audit log").click()
    page.get_by_test_id("audit-row").first.wait_for()
    page.get_by_label("Action").fill("kpis.read")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state("networkidle")
    actions = page.get_by_test_id("audit-row").locator("td:nth-child(3)").all_inner_texts()
    assert actions and set(actions) == {"kpis.read"}
    screenshot(page, "console-audit")
    page.get_by_role("link", name="Documents").click()
    page.get_by_role("link", name="Knowledge").click()
    screenshot(page, "console-knowledge")
