"""The market page shows prices with their unit and, next to the wholesale price, what a kWh costs the
customer now on its own tariff (all-in: grid fees, levies, VAT); without a tariff it says the figure
is the wholesale price only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.e2e.conftest import World, login, screenshot

DYNAMIC = {
    "kind": "dynamic",
    "valid_from": "2020-01-01",
    "markup_ct_kwh": 2.0,
    "grid_fee_ct_kwh": 9.0,
    "levies_ct_kwh": 4.0,
    "vat_pct": 19.0,
}


def _open_prices(page, person):
    login(page, person)
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Market prices").click()
    tile = page.get_by_test_id("price-now")
    tile.wait_for()
    return tile


def test_without_a_tariff_the_price_is_labelled_wholesale(page, world: World):
    tile = _open_prices(page, world.b_customer)
    page.get_by_text("Wholesale price: no tariff stored").wait_for()
    assert "€/MWh" in tile.inner_text()


def test_with_a_tariff_the_customer_sees_its_all_in_price_now(page, world: World):
    token = world.a_admin.token(world.url)
    stored = httpx.put(
        f"{world.url}/tariffs", json={"tariffs": [DYNAMIC]}, headers={"Authorization": f"Bearer {token}"}
    )
    assert stored.status_code == 200, stored.text
    now = datetime.now(UTC)
    prices = world.api(
        world.a_customer,
        "/market/prices",
        start=(now - timedelta(hours=1)).isoformat(),
        end=(now + timedelta(hours=1)).isoformat(),
    )
    assert prices["cost_basis"] == "tariff"
    current = next(
        p
        for p in prices["prices"]
        if datetime.fromisoformat(p["ts"])
        <= now
        < datetime.fromisoformat(p["ts"]) + timedelta(minutes=p["resolution_minutes"])
    )
    # Hand-computed: (spot + markup + grid fee + levies) x 1.19, in ct/kWh.
    expected = (current["eur_per_mwh"] / 10 + 2.0 + 9.0 + 4.0) * 1.19
    assert abs(current["all_in_ct_kwh"] - expected) < 0.01

    tile = _open_prices(page, world.a_customer)
    shown = tile.get_by_test_id("price-now-all-in")
    shown.wait_for()
    assert f"{current['all_in_ct_kwh']:.1f}" in shown.inner_text()
    assert "€/MWh" in tile.inner_text()
    screenshot(page, "prices-all-in")
