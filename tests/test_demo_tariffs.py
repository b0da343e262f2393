"""The demo tenants' tariffs as their sheets state them, stored once: the bakery's business tariff
with its demand charge and 11 kW limit, the office's feed-in, the household's gross sheet made net."""

from __future__ import annotations

import pytest

from luna_cli.demo_tariffs import DEMO_TARIFFS, ensure_demo_tariffs
from luna_core.db.tenancy import tenant_scope
from luna_core.tariffs import service, store


@pytest.mark.parametrize("demo", sorted(DEMO_TARIFFS))
def test_each_demo_tariff_is_stored_once(engine, tenant_factory, demo):
    tenant = tenant_factory(demo[:4])
    assert ensure_demo_tariffs(engine, [tenant], {tenant: DEMO_TARIFFS[demo]}) == {tenant: True}
    assert ensure_demo_tariffs(engine, [tenant], {tenant: DEMO_TARIFFS[demo]}) == {tenant: False}
    with tenant_scope(engine, tenant) as connection:
        found = service.tenant_tariffs(connection, tenant)
        limit = store.contracted_kw(connection, tenant)
    (imported,) = found.imports
    if demo == "bakery":
        assert imported.demand_charge_eur_kw == 8.2 and limit == 11.0  # 98.40 EUR per kW and year / 12
    if demo == "office":
        assert [e.feed_in_ct_kwh for e in found.exports] == [7.94]
    if demo == "household":
        assert imported.kind == "dynamic" and imported.markup_ct_kwh == 16.639  # 19.80 ct gross / 1.19
