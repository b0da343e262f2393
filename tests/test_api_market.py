"""/market/prices over HTTP: both resolutions as a query string carries them, the cheapest slots,
and a clear 422 for a resolution the market does not have."""

from __future__ import annotations

from datetime import date

from luna_core.market.store import upsert_prices
from luna_core.simulation.market import simulate_day_ahead_prices

DAY = date(2026, 3, 10)
WINDOW = {"start": "2026-03-10T00:00:00+01:00", "end": "2026-03-11T00:00:00+01:00", "zone": "DE-LU"}


def test_prices_at_both_resolutions_and_the_cheapest_slots(api, api_user, engine):
    user = api_user()
    hourly = simulate_day_ahead_prices("DE-LU", DAY, DAY, 60)
    quarter = simulate_day_ahead_prices("DE-LU", DAY, DAY, 15)
    with engine.begin() as connection:
        upsert_prices(connection, hourly)
        upsert_prices(connection, quarter)

    for resolution, expected in (("60", hourly), ("15", quarter)):
        response = api.get("/market/prices", headers=user.headers, params={**WINDOW, "resolution": resolution})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["resolution_minutes"] == int(resolution) and len(body["prices"]) == expected.height
        assert [p["eur_per_mwh"] for p in body["prices"]] == expected["eur_per_mwh"].to_list()

    cheapest = api.get("/market/prices", headers=user.headers, params={**WINDOW, "cheapest": 3}).json()["cheapest"]
    assert sorted(p["eur_per_mwh"] for p in cheapest) == sorted(hourly["eur_per_mwh"].to_list())[:3]


def test_a_resolution_the_market_does_not_have_is_422(api, api_user):
    response = api.get("/market/prices", headers=api_user().headers, params={**WINDOW, "resolution": "30"})
    assert response.status_code == 422
    assert response.json() == {"error": "invalid_request", "detail": "resolution must be 15 or 60 (minutes), not 30"}
