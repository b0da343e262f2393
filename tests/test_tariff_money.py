"""Every euro from the tariff: /readings/aggregate buckets, the KPIs and /market/prices price a PV
site's grid import at the all-in price and credit its export; without a tariff they say wholesale."""

from __future__ import annotations

from datetime import date

import pytest

from luna_core.db.tenancy import tenant_scope
from luna_core.energy.kpis import compute_tenant_kpis
from tests.conftest import Meter
from tests.tariff_fixtures import BERLIN, hourly_prices, ingest, local, put, unique_zone

OCTOBER = (local(2026, 10, 1), local(2026, 11, 1))


@pytest.fixture
def pv_site(engine, tenant_factory, api_user):
    """1 kW load all October; PV 2 kW 10:00-14:00 local: a day imports 20 kWh and exports 4 kWh."""
    zone = unique_zone()
    tenant = tenant_factory("money", zone=zone, meters=(Meter("main"), Meter("roof", "pv", 10.0)))
    ingest(engine, tenant, "main", *OCTOBER, lambda ts: 0.25)
    ingest(engine, tenant, "roof", *OCTOBER, lambda ts: 0.5 if 10 <= ts.astimezone(BERLIN).hour < 14 else 0.0)
    hourly_prices(engine, zone, *OCTOBER, lambda hour: 80.0)
    return tenant, api_user(tenant)


def _tariffs(engine, tenant):
    put(engine, tenant, kind="fixed", valid_from=date(2026, 1, 1), energy_ct_kwh=30.0, vat_pct=19.0)
    put(engine, tenant, direction="export", kind="feed_in", valid_from=date(2026, 1, 1), feed_in_ct_kwh=7.86)


def test_aggregate_buckets_are_import_at_the_all_in_price_less_the_credit(api, engine, pv_site):
    tenant, user = pv_site
    params = {"start": local(2026, 10, 10).isoformat(), "end": local(2026, 10, 12).isoformat(), "bucket": "day"}
    wholesale = api.get("/readings/aggregate", headers=user.headers, params=params).json()["current"]
    assert wholesale["cost_basis"] == "wholesale"
    assert wholesale["buckets"][0]["cost_eur"] == pytest.approx(20 * 0.08)  # grid import x day-ahead, as the KPIs
    _tariffs(engine, tenant)
    priced = api.get("/readings/aggregate", headers=user.headers, params=params).json()["current"]
    # 20 kWh x 30 ct x 1.19 = 7.14; minus 4 kWh x 7.86 ct = 0.3144
    assert priced["cost_basis"] == "tariff"
    assert [b["cost_eur"] for b in priced["buckets"]] == pytest.approx([6.8256, 6.8256])
    assert priced["buckets"][0]["kwh"] == 24  # the site's load, unchanged
    one_meter = api.get("/readings/aggregate", headers=user.headers, params={**params, "meter_id": "main"}).json()
    assert one_meter["current"]["buckets"][0]["cost_eur"] == pytest.approx(24 * 0.357)


def test_kpis_from_the_tariff(engine, pv_site):
    tenant, _ = pv_site
    with tenant_scope(engine, tenant) as connection:
        assert compute_tenant_kpis(connection, tenant, date(2026, 10, 10)).cost_basis == "wholesale"
    _tariffs(engine, tenant)
    with tenant_scope(engine, tenant) as connection:
        kpis = compute_tenant_kpis(connection, tenant, date(2026, 10, 10))
    assert kpis.cost_basis == "tariff" and kpis.cost_today_eur == 6.83
    # 10 days: 200 kWh x 30 ct = 60.00 + VAT 11.40 - 40 kWh x 7.86 ct (3.14) = 68.26
    assert kpis.cost_month_eur == 68.26


def test_market_prices_gain_all_in_ct_kwh_with_a_tariff(api, engine, pv_site):
    tenant, user = pv_site
    params = {"start": local(2026, 10, 10).isoformat(), "end": local(2026, 10, 10, 2).isoformat()}
    before = api.get("/market/prices", headers=user.headers, params=params).json()
    assert before["cost_basis"] == "wholesale" and before["prices"][0]["all_in_ct_kwh"] is None
    spec = {"grid_fee_ct_kwh": 9.0, "levies_ct_kwh": 2.5, "vat_pct": 19.0}
    put(engine, tenant, kind="dynamic", valid_from=date(2026, 1, 1), markup_ct_kwh=2.0, **spec)
    after = api.get("/market/prices", headers=user.headers, params={**params, "cheapest": 1}).json()
    # (8 ct spot + 2 markup + 9 grid + 2.5 levies) x 1.19
    assert after["cost_basis"] == "tariff"
    assert [p["all_in_ct_kwh"] for p in after["prices"]] == [25.585, 25.585]
    assert after["cheapest"][0]["all_in_ct_kwh"] == 25.585
    other_zone = api.get("/market/prices", headers=user.headers, params={**params, "zone": "DE-LU"}).json()
    assert other_zone["cost_basis"] == "wholesale"


def test_lunas_cost_answer_says_which_money_it_is(engine, pv_site):
    from datetime import UTC, datetime

    from luna_core.luna.data import answer_intent, tenant_info
    from luna_core.luna.intents import Intent, IntentKind, Period

    tenant, _ = pv_site
    now = datetime(2026, 10, 11, 9, tzinfo=UTC)
    intent = Intent(IntentKind.CONSUMPTION, Period.YESTERDAY)
    with tenant_scope(engine, tenant) as connection:
        wholesale = answer_intent(connection, tenant_info(connection, tenant), intent, "en", now)
    assert "at day-ahead prices" in wholesale.text
    _tariffs(engine, tenant)
    with tenant_scope(engine, tenant) as connection:
        priced = answer_intent(connection, tenant_info(connection, tenant), intent, "en", now)
        german = answer_intent(connection, tenant_info(connection, tenant), intent, "de", now)
    assert "6.83 EUR on your tariff" in priced.text and "in Ihrem Tarif" in german.text
    assert [i.value for i in priced.items if i.unit == "EUR"] == [pytest.approx(6.8256)]
