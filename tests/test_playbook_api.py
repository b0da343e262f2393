"""/playbook over HTTP: rules (admins write, versions kept, another tenant's rule is 404), the strategy
catalogue, and what-if simulations with their known optimum or a 422 that says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from luna_core.db.schema import audit_log
from luna_core.db.tenancy import tenant_scope
from luna_core.playbook.rules import rule_versions

PRICES = [90, 85, 40, 30, 35, 60, 120, 150, 140, 100, 80, 20, -15, 10, 70, 130, 160, 155, 120, 95, 88, 86, 84, 82]
START = datetime(2026, 5, 4, 22, tzinfo=UTC)  # 00:00 in Berlin


@pytest.fixture
def admin(api_user):
    return api_user(role="admin")


def test_rule_lifecycle_with_versions_and_audit(api, engine, admin):
    created = api.post(
        "/playbook/rules",
        headers=admin.headers,
        json={"name": "Charge the fleet", "strategy": "ev_cheapest_window", "params": {"deadline": "17:00"}},
    )
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["version"] == 1 and rule["enabled"] is True
    assert rule["action"] == {"type": "shift_load", "device": "ev", "optimise": True}
    assert rule["params"]["deadline"] == "17:00" and rule["params"]["arrival"] == "07:00"  # default kept

    patched = api.patch(
        f"/playbook/rules/{rule['id']}", headers=admin.headers, json={"enabled": False, "params": {"energy_kwh": 40}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2 and patched.json()["params"]["deadline"] == "17:00"
    listed = api.get("/playbook/rules", headers=admin.headers).json()
    assert [r["id"] for r in listed["items"]] == [rule["id"]] and listed["items"][0]["enabled"] is False

    with tenant_scope(engine, admin.tenant_id) as connection:
        versions = rule_versions(connection, admin.tenant_id, rule["id"])
        actions = set(
            connection.execute(select(audit_log.c.action).where(audit_log.c.action.like("playbook.rule.%"))).scalars()
        )
    assert [v["version"] for v in versions] == [1, 2] and versions[0]["enabled"] is True
    assert {"playbook.rule.create", "playbook.rule.update"} <= actions

    assert api.delete(f"/playbook/rules/{rule['id']}", headers=admin.headers).status_code == 204
    assert api.delete(f"/playbook/rules/{rule['id']}", headers=admin.headers).status_code == 404
    with tenant_scope(engine, admin.tenant_id) as connection:
        assert len(rule_versions(connection, admin.tenant_id, rule["id"])) == 2  # history outlives the rule


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": "x", "strategy": "custom"}, "needs a condition and an action"),
        ({"name": "x", "strategy": "peak_shaving"}, "contracted_kw"),
        (
            {
                "name": "x",
                "strategy": "custom",
                "condition": {"metric": "price", "op": "<"},
                "action": {"type": "notify"},
            },
            "exactly one of value, percentile or param",
        ),
        ({"name": "x", "strategy": "negative_price_alert", "params": {"threshold_eur_mwh": "cheap"}}, "threshold"),
    ],
)
def test_invalid_rules_are_422_with_the_reason(api, admin, body, words):
    response = api.post("/playbook/rules", headers=admin.headers, json=body)
    assert response.status_code == 422 and words in response.json()["detail"]


def test_customers_read_rules_but_only_admins_change_them(api, api_user, admin):
    customer = api_user(admin.tenant_id)
    body = {"name": "alerts", "strategy": "negative_price_alert"}
    assert api.post("/playbook/rules", headers=customer.headers, json=body).status_code == 403
    rule = api.post("/playbook/rules", headers=admin.headers, json=body).json()
    assert api.get("/playbook/rules", headers=customer.headers).json()["items"][0]["id"] == rule["id"]
    assert (
        api.patch(f"/playbook/rules/{rule['id']}", headers=customer.headers, json={"enabled": False}).status_code == 403
    )


def test_another_tenants_rule_is_404_and_unchanged(api, api_user, admin):
    other = api_user(role="admin")
    rule = api.post("/playbook/rules", headers=other.headers, json={"name": "B", "strategy": "negative_price_alert"})
    rule_id = rule.json()["id"]
    assert api.patch(f"/playbook/rules/{rule_id}", headers=admin.headers, json={"enabled": False}).status_code == 404
    assert api.delete(f"/playbook/rules/{rule_id}", headers=admin.headers).status_code == 404
    assert rule_id not in [r["id"] for r in api.get("/playbook/rules", headers=admin.headers).json()["items"]]
    mine = api.get("/playbook/rules", headers=other.headers).json()["items"]
    assert [(r["id"], r["enabled"], r["version"]) for r in mine] == [(rule_id, True, 1)]


def test_strategies_are_listed_in_both_languages(api, admin):
    strategies = {s["key"]: s for s in api.get("/playbook/strategies", headers=admin.headers).json()}
    assert {
        "ev_cheapest_window",
        "heat_pump_preheat",
        "peak_shaving",
        "pv_self_consumption",
        "negative_price_alert",
    } <= set(strategies)
    assert all(s["name_de"] and s["description_de"] and s["description_en"] for s in strategies.values())
    assert strategies["ev_cheapest_window"]["default_params"]["deadline"] == "18:00"


def test_simulate_ev_finds_the_cheapest_hours_before_the_deadline(api, admin):
    body = {
        "device": "ev",
        "energy_kwh": 30,
        "power_kw": 11,
        "prices": PRICES,
        "start": START.isoformat(),
        "arrival": (START + timedelta(hours=1)).isoformat(),
        "deadline": "11:00",  # Berlin local time of the price day
    }
    response = api.post("/playbook/simulate", headers=admin.headers, json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    charged = {i: s["optimised_kw"] for i, s in enumerate(result["plan"]) if s["optimised_kw"] > 1e-6}
    assert charged == pytest.approx({2: 8.0, 3: 11.0, 4: 11.0})
    assert result["optimised_cost_eur"] == pytest.approx((8 * 40 + 11 * 30 + 11 * 35) / 1000)
    assert result["saving_eur"] == pytest.approx(result["naive_cost_eur"] - result["optimised_cost_eur"])
    assert result["feasible"] is True and result["saving_eur"] > 0


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"energy_kwh": 60, "arrival": "20:00"}, "only 4.0 h"),
        ({"energy_kwh": 80, "battery_kwh": 60}, "do not fit"),
        (
            {"energy_kwh": 10, "arrival": (START + timedelta(hours=5)).isoformat(), "deadline": START.isoformat()},
            "not after the arrival",
        ),
    ],
)
def test_simulate_infeasible_is_422_with_the_reason(api, admin, extra, words):
    body = {"device": "ev", "power_kw": 11, "prices": PRICES, "start": START.isoformat(), **extra}
    response = api.post("/playbook/simulate", headers=admin.headers, json=body)
    assert response.status_code == 422
    assert response.json()["error"] == "infeasible" and words in response.json()["detail"]


def test_simulate_overnight_deadline_means_the_next_morning(api, admin):
    body = {"device": "ev", "energy_kwh": 11, "power_kw": 11, "prices": PRICES, "start": START.isoformat()}
    result = api.post(
        "/playbook/simulate", headers=admin.headers, json={**body, "arrival": "18:00", "deadline": "07:00"}
    )
    assert result.status_code == 200, result.text
    assert "before the deadline" in result.json()["reason"]
    charged = [i for i, s in enumerate(result.json()["plan"]) if s["optimised_kw"] > 1e-6]
    assert charged == [23]  # the cheapest hour from 18:00 to the end of the prices (82 EUR/MWh at 23:00)


def test_simulate_battery_and_heat_pump(api, admin):
    load = [5.0] * 24
    battery = api.post(
        "/playbook/simulate",
        headers=admin.headers,
        json={"device": "battery", "capacity_kwh": 10, "power_kw": 5, "load_kw": load, "prices": PRICES},
    ).json()
    assert battery["saving_eur"] > 0 and all(abs(s["optimised_kw"]) <= 5 + 1e-6 for s in battery["plan"])
    heat = api.post(
        "/playbook/simulate",
        headers=admin.headers,
        json={"device": "heat_pump", "power_kw": 6, "daily_kwh": 36, "capacity_kwh_per_k": 12, "prices": PRICES},
    ).json()
    assert heat["saving_eur"] > 0 and heat["optimised_kwh"] >= heat["naive_kwh"] - 1e-6


def test_simulate_on_a_day_without_prices_is_404(api, admin):
    response = api.post(
        "/playbook/simulate", headers=admin.headers, json={"device": "ev", "energy_kwh": 10, "date": "2099-01-01"}
    )
    assert response.status_code == 404 and "not published" in response.json()["detail"]


def test_every_playbook_read_is_audited(api, engine, admin):
    with tenant_scope(engine, admin.tenant_id) as connection:
        before = connection.execute(select(func.count()).select_from(audit_log)).scalar_one()
    for path in (
        "/playbook/rules",
        "/playbook/strategies",
        "/playbook/recommendations",
        "/playbook/schedule",
        "/playbook/savings",
    ):
        assert api.get(path, headers=admin.headers).status_code == 200, path
    with tenant_scope(engine, admin.tenant_id) as connection:
        after = connection.execute(select(func.count()).select_from(audit_log)).scalar_one()
    assert after - before == 5
