"""The playbook rules the demo switches on: the built-in strategies that fit each demo tenant's
meters and tariff. Created through the rules store; a rule of the same name is left as it is, so a
second demo run (or a rule the user changed in the dashboard) is not overwritten."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from luna_core.db.tenancy import tenant_scope
from luna_core.playbook.rules import create_rule, list_rules

ACTOR = "luna-demo"

# (rule name, strategy, params) per demo tenant; the numbers match the tenants' sample tariff sheets.
DEMO_RULES: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    # The wallbox charges overnight: plugged in after work, the car is needed at 07:00.
    "household": [
        ("Charge the car in the cheapest hours", "ev_cheapest_window", {"arrival": "18:00", "deadline": "07:00"}),
        ("Negative-price alerts", "negative_price_alert", {"threshold_eur_mwh": 0.0}),
    ],
    "bakery": [
        ("Pre-heat before expensive hours", "heat_pump_preheat", {"comfort_min_c": 19.0, "comfort_max_c": 22.0}),
        ("Hold the contracted 11 kW", "peak_shaving", {"contracted_kw": 11.0}),
    ],
    "office": [
        ("Solar power first", "pv_self_consumption", {"feed_in_eur_kwh": 0.0794}),
        ("Charge the company cars cheaply", "ev_cheapest_window", {"arrival": "08:00", "deadline": "17:00"}),
        ("Negative-price alerts", "negative_price_alert", {"threshold_eur_mwh": 0.0}),
    ],
}


def ensure_demo_rules(engine: Engine, tenant_ids: list[str]) -> dict[str, int]:
    """Creates the missing demo rules; returns how many each tenant got now."""
    created: dict[str, int] = {}
    for tenant_id in tenant_ids:
        created[tenant_id] = 0
        with tenant_scope(engine, tenant_id) as connection:
            names = {rule.name for rule in list_rules(connection, tenant_id)}
            for name, strategy, params in DEMO_RULES.get(tenant_id, []):
                if name in names:
                    continue
                create_rule(connection, tenant_id, name=name, strategy=strategy, params=params, actor=ACTOR)
                created[tenant_id] += 1
    return created
