"""The playbook's savings in what the customer pays: on a dynamic tariff the saving is the
day-ahead saving with VAT on it (markup, grid fee and levies are the same every hour); on a fixed
tariff without demand charge shifting saves nothing and the recommendation says so."""

from __future__ import annotations

from datetime import date

import pytest

from luna_core.db.tenancy import tenant_scope
from luna_core.i18n import catalogue
from luna_core.playbook.inputs import load_day
from luna_core.playbook.recommendations import plan_day, recommendation_text
from luna_core.playbook.rules import create_rule, list_rules
from tests.conftest import Meter
from tests.tariff_fixtures import hourly_prices, local, put, unique_zone

DAY = date(2026, 5, 5)
PRICES = [90, 85, 40, 30, 35, 60, 120, 150, 140, 100, 80, 20, -15, 10, 70, 130, 160, 155, 120, 95, 88, 86, 84, 82]
FEES = {"grid_fee_ct_kwh": 9.0, "levies_ct_kwh": 6.656, "vat_pct": 19.0}


@pytest.fixture
def ev_site(engine, tenant_factory):
    zone = unique_zone()
    tenant = tenant_factory("pbt", zone=zone, meters=(Meter("house"), Meter("car", "ev", 11.0)))
    start = local(2026, 5, 5)
    hourly_prices(
        engine, zone, start, local(2026, 5, 6), lambda hour: PRICES[int((hour - start).total_seconds() // 3600)]
    )
    with tenant_scope(engine, tenant) as connection:
        params = {"arrival": "07:00", "deadline": "19:00", "energy_kwh": 22}
        create_rule(connection, tenant, name="Car", strategy="ev_cheapest_window", params=params, actor="test")
    return tenant


def _plan(engine, tenant):
    with tenant_scope(engine, tenant) as connection:
        return plan_day(load_day(connection, tenant, DAY), list_rules(connection, tenant, enabled_only=True))


def test_on_a_dynamic_tariff_the_saving_is_the_day_ahead_one_with_vat(engine, ev_site):
    wholesale = _plan(engine, ev_site)
    put(engine, ev_site, kind="dynamic", valid_from=date(2026, 1, 1), markup_ct_kwh=2.5, **FEES)
    priced = _plan(engine, ev_site)
    (before,), (after,) = wholesale.plans, priced.plans
    assert before.plan.saving_eur > 1
    assert after.plan.saving_eur == pytest.approx(before.plan.saving_eur * 1.19, rel=1e-6)
    assert priced.recommendations[0].message_key == "playbook.ev_charging"


def test_on_a_fixed_tariff_shifting_saves_nothing_and_says_so(engine, ev_site):
    put(engine, ev_site, kind="fixed", valid_from=date(2026, 1, 1), energy_ct_kwh=16.0, **FEES)
    priced = _plan(engine, ev_site)
    (plan,) = priced.plans
    assert plan.plan.saving_eur == pytest.approx(0, abs=1e-6)
    (recommendation,) = priced.recommendations
    assert recommendation.message_key == "playbook.flat_tariff" and recommendation.saving_eur == 0.0
    text = recommendation_text(recommendation.message_key, recommendation.params, catalogue().translator("en"))
    assert "saves nothing" in text.title and "37.67 ct" in text.reason  # (16 + 9 + 6.656) x 1.19 = 37.67064
    german = recommendation_text(recommendation.message_key, recommendation.params, catalogue().translator("de"))
    assert "spart" in german.title


def test_a_demand_charge_keeps_the_recommendation(engine, ev_site):
    spec = {"energy_ct_kwh": 16.0, "demand_charge_eur_kw": 8.0, **FEES}
    put(engine, ev_site, kind="fixed", valid_from=date(2026, 1, 1), **spec)
    assert _plan(engine, ev_site).recommendations[0].message_key == "playbook.ev_charging"


def test_a_peak_warning_names_the_demand_charge(engine, ev_site):
    import dataclasses

    import numpy as np

    spec = {"energy_ct_kwh": 16.0, "demand_charge_eur_kw": 8.2, **FEES}
    put(engine, ev_site, kind="fixed", valid_from=date(2026, 1, 1), **spec)
    with tenant_scope(engine, ev_site) as connection:
        create_rule(
            connection, ev_site, name="Hold 11 kW", strategy="peak_shaving", params={"contracted_kw": 11.0}, actor="t"
        )
        inputs = load_day(connection, ev_site, DAY)
        rules = [r for r in list_rules(connection, ev_site, enabled_only=True) if r.strategy == "peak_shaving"]
    forecast = np.full(len(inputs.curve), 5.0)
    forecast[6:8] = 14.0  # 3 kW above the contracted 11 kW from 06:00 to 08:00
    inputs = dataclasses.replace(inputs, frame=dataclasses.replace(inputs.frame, forecast_kw=forecast))
    (warning,) = plan_day(inputs, rules).recommendations
    assert warning.message_key == "playbook.peak_warning_charged"
    assert warning.params["charge"] == pytest.approx(3 * 8.2)
    text = recommendation_text(warning.message_key, warning.params, catalogue().translator("en"))
    assert "the demand charge rises by up to €24.60" in text.reason
