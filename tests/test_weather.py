from __future__ import annotations

from datetime import UTC, datetime

from luna_core.tenants import Tenant
from luna_core.weather import GERMANY_CENTRE, STATE_CAPITALS, tenant_location, tenant_temperature


def _tenant(**kwargs) -> Tenant:
    base = {
        "id": "weather-test",
        "name": "W",
        "kind": "business",
        "zone": "DE-LU",
        "timezone": "Europe/Berlin",
        "state": None,
        "status": "active",
    }
    return Tenant(**{**base, **kwargs})


def test_location_falls_back_to_state_capital_then_centre():
    assert tenant_location(_tenant(latitude=50.0, longitude=7.0)) == (50.0, 7.0)
    assert tenant_location(_tenant(state="by")) == STATE_CAPITALS["BY"]
    assert tenant_location(_tenant()) == GERMANY_CENTRE


def test_temperature_is_colder_in_january_than_july():
    munich = _tenant(state="BY")
    january = tenant_temperature(munich, datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 1, 17, tzinfo=UTC))
    july = tenant_temperature(munich, datetime(2026, 7, 10, tzinfo=UTC), datetime(2026, 7, 17, tzinfo=UTC))
    assert january.height == 7 * 96
    assert january["temp_c"].mean() + 10 < july["temp_c"].mean()


def test_registered_coordinates_come_back_from_the_registry(engine, tenant_factory):
    from luna_core.tenants import fetch_tenant

    tenant = tenant_factory("geo", latitude=52.52, longitude=13.40)
    found = fetch_tenant(engine, tenant)
    assert (found.latitude, found.longitude, found.share_anonymised) == (52.52, 13.40, True)
