"""The "simulate a load shift" card on the smart-meter page: the heat pump asks the optimiser with a
daily energy (it used to send only a power and always got 422), and the car with the times it is
plugged in and must be charged by (it used to assume a midnight arrival)."""

from __future__ import annotations

import json

from tests.e2e.conftest import World, login, screenshot


def _open_simulation(page, world: World):
    login(page, world.a_customer)
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Smart meter").click()
    card = page.get_by_test_id("simulate")
    card.wait_for()
    return card


def test_the_heat_pump_simulation_plans_instead_of_failing(page, world: World):
    card = _open_simulation(page, world)
    card.get_by_label("Device").select_option("heat_pump")
    card.get_by_label("Electricity per day (kWh)").fill("18")
    with page.expect_response(lambda r: r.url.endswith("/playbook/simulate")) as answer:
        card.get_by_role("button", name="Simulate", exact=True).click()
    assert answer.value.status == 200, answer.value.text()
    assert json.loads(answer.value.request.post_data or "{}")["daily_kwh"] == 18
    card.get_by_text("Saving").first.wait_for()
    assert card.get_by_role("alert").count() == 0
    screenshot(page, "simulate-heat-pump")


def test_the_car_simulation_sends_when_the_car_is_plugged_in_and_due(page, world: World):
    card = _open_simulation(page, world)
    card.get_by_label("Plugged in at").fill("19:30")
    card.get_by_label("Charged by").fill("06:15")
    with page.expect_response(lambda r: r.url.endswith("/playbook/simulate")) as answer:
        card.get_by_role("button", name="Simulate", exact=True).click()
    sent = json.loads(answer.value.request.post_data or "{}")
    assert (sent["device"], sent["arrival"], sent["deadline"]) == ("ev", "19:30", "06:15")
    assert answer.value.status == 200, answer.value.text()
    plan = answer.value.json()["plan"]
    charging = [slot["start"] for slot in plan if slot["optimised_kw"] > 0]
    assert charging, plan
