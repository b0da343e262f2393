"""/tariffs, /bills, /tariffs/compare and /events over HTTP: admins write (audited), customers read,
a bad month is a 422 that says how to write it, the comparison of a constructed year has a known
answer, events are written once per breach, and one tenant never sees another's tariff."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import select

from luna_core.db.schema import audit_log, events
from luna_core.db.tenancy import tenant_scope
from luna_core.tariffs import service
from tests.conftest import Meter
from tests.tariff_fixtures import BERLIN, hourly_prices, ingest, local, unique_zone

FIXED = {"kind": "fixed", "valid_from": "2026-01-01", "energy_ct_kwh": 30.0, "base_fee_eur_month": 10.0, "vat_pct": 0}


@pytest.fixture
def admin(api_user):
    return api_user(role="admin")


def test_admins_write_tariffs_audited_and_customers_read_them(api, api_user, engine, admin):
    customer = api_user(admin.tenant_id)
    assert api.get("/tariffs", headers=customer.headers).json()["cost_basis"] == "wholesale"
    refused = api.put("/tariffs", headers=customer.headers, json={"tariffs": [FIXED]})
    assert refused.status_code == 403
    stored = api.put("/tariffs", headers=admin.headers, json={"tariffs": [FIXED], "contracted_kw": 11})
    assert stored.status_code == 200, stored.text
    read = api.get("/tariffs", headers=customer.headers).json()
    assert read["cost_basis"] == "tariff" and read["contracted_kw"] == 11
    assert read["imports"][0]["energy_ct_kwh"] == 30.0 and read["exports"] == []
    with tenant_scope(engine, admin.tenant_id) as connection:
        actions = connection.execute(
            select(audit_log.c.action, audit_log.c.actor).where(audit_log.c.action == "tariff.update")
        ).all()
    assert [a.actor for a in actions] == [admin.email]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"tariffs": [{"kind": "fixed", "valid_from": "2026-01-01"}]}, "energy_ct_kwh"),
        ({"tariffs": [{"kind": "feed_in", "valid_from": "2026-01-01"}]}, "direction export"),
        ({"tariffs": [{**FIXED, "valid_to": "2025-01-01"}]}, "valid_to must be after valid_from"),
        ({"contracted_kw": 11, "clear_limit": True}, "not both"),
    ],
)
def test_invalid_tariffs_are_422_with_the_reason(api, admin, body, words):
    response = api.put("/tariffs", headers=admin.headers, json=body)
    assert response.status_code == 422 and words in response.text


@pytest.mark.parametrize("month", ["2026-13", "26-10", "2026-10-01", "oct", "0000-01", "9999-12"])
def test_a_bad_month_is_a_clear_422(api, admin, month):
    response = api.get("/bills", headers=admin.headers, params={"month": month})
    assert response.status_code == 422 and "YYYY-MM" in response.json()["detail"]


def test_bill_over_http(api, engine, tenant_factory, api_user):
    tenant = tenant_factory("bill")
    ingest(engine, tenant, "main", local(2026, 10, 1), local(2026, 11, 1), lambda ts: 0.25)
    # The clock set to a fixed instant before logging in: tokens are issued and checked at that time.
    with time_machine.travel(datetime(2026, 11, 5, 9, tzinfo=UTC), tick=False):
        admin = api_user(tenant, role="admin")
        api.put("/tariffs", headers=admin.headers, json={"tariffs": [FIXED]})
        found = api.get("/bills", headers=admin.headers, params={"month": "2026-10"})
    assert found.status_code == 200, found.text
    assert found.json()["so_far"]["total_eur"] == 745 * 0.30 + 10  # 233.50, VAT 0


def test_comparison_of_a_constructed_year(api, engine, tenant_factory, api_user):
    """1 kW all year (8760 kWh from December 2025), the day-ahead price 100 EUR/MWh every hour."""
    zone = unique_zone()
    tenant = tenant_factory("cmp", zone=zone)
    start, end = local(2025, 12, 1), local(2026, 12, 1)
    ingest(engine, tenant, "main", start, end, lambda ts: 0.25)
    hourly_prices(engine, zone, start, end, lambda hour: 100.0)
    night = {"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "06:00", "energy_ct_kwh": 10.0}
    alternatives = [
        {"kind": "fixed", "valid_from": "2026-06-01", "energy_ct_kwh": 25.0, "base_fee_eur_month": 10, "vat_pct": 0},
        {"kind": "dynamic", "valid_from": "2026-06-01", "markup_ct_kwh": 3.0, "base_fee_eur_month": 10, "vat_pct": 0},
        {"kind": "time_of_use", "valid_from": "2026-06-01", "energy_ct_kwh": 16.0, "windows": [night],
         "base_fee_eur_month": 10, "vat_pct": 0},
    ]  # fmt: skip
    with time_machine.travel(datetime(2026, 12, 2, 8, tzinfo=UTC), tick=False):
        admin = api_user(tenant, role="admin")
        api.put("/tariffs", headers=admin.headers, json={"tariffs": [FIXED]})
        response = api.post("/tariffs/compare", headers=admin.headers, json={"alternatives": alternatives})
    assert response.status_code == 200, response.text
    found = response.json()
    totals = {o["option"]: o["total_eur"] for o in found["options"]}
    assert found["months"] == 12 and found["import_kwh"] == 8760
    # 8760 kWh x 30 ct + 12 x 10 EUR; x 25 ct; x (10 + 3) ct; time of use: 2190 night kWh (365 x 6 h,
    # 29 March one hour short, 25 October one hour long) x 10 ct + 6570 x 16 ct
    assert totals == {"current": 2748.00, "fixed": 2310.00, "dynamic": 1258.80, "time_of_use": 1390.20}
    assert found["cheapest"] == "dynamic" and found["saving_eur"] == 1489.20
    dynamic = next(o for o in found["options"] if o["option"] == "dynamic")
    assert dynamic["difference_eur"] == -1489.20


def test_default_alternatives_keep_the_tenants_regulated_parts(api, engine, tenant_factory, api_user):
    tenant = tenant_factory("alt")
    ingest(engine, tenant, "main", local(2026, 10, 1), local(2026, 11, 1), lambda ts: 0.25)
    with time_machine.travel(datetime(2026, 11, 5, 9, tzinfo=UTC), tick=False):
        admin = api_user(tenant, role="admin")
        api.put("/tariffs", headers=admin.headers, json={"tariffs": [{**FIXED, "grid_fee_ct_kwh": 100.0}]})
        found = api.post("/tariffs/compare", headers=admin.headers).json()
    assert [o["option"] for o in found["options"]] == ["current", "fixed", "dynamic", "time_of_use"]
    # the grid fee of 100 ct/kWh stays in every offer: each costs at least 745 EUR
    assert all(o["total_eur"] >= 745 for o in found["options"])


def test_comparison_with_the_flexible_loads_shifted(api, engine, tenant_factory, api_user):
    """An EV of 11 kW drawing 1 kW all day; the day-ahead price 0 from 00:00 to 01:00 local, 100 else.
    Shifted, 11 of each day's 24 kWh go into that hour (4 quarter-hours x 2.75 kWh) instead of 1."""
    zone = unique_zone()
    tenant = tenant_factory("shift", zone=zone, meters=(Meter("car", "ev", 11.0),))
    start, end = local(2026, 10, 1), local(2026, 10, 11)
    ingest(engine, tenant, "car", start, end, lambda ts: 0.25)
    hourly_prices(engine, zone, start, end, lambda hour: 0.0 if hour.astimezone(BERLIN).hour == 0 else 100.0)
    dynamic = {"kind": "dynamic", "valid_from": "2026-01-01", "markup_ct_kwh": 2.0, "vat_pct": 0}
    with time_machine.travel(datetime(2026, 10, 20, 8, tzinfo=UTC), tick=False):
        admin = api_user(tenant, role="admin")
        api.put("/tariffs", headers=admin.headers, json={"tariffs": [dynamic]})
        found = api.post("/tariffs/compare", headers=admin.headers, json={"alternatives": [dynamic]}).json()
    totals = {o["option"]: o["total_eur"] for o in found["options"]}
    # 10 days: 230 kWh x 12 ct + 10 kWh x 2 ct = 27.80; shifted 130 x 12 ct + 110 x 2 ct = 17.80
    assert totals == {"current": 27.80, "dynamic": 27.80, "dynamic_shifted": 17.80}
    assert found["cheapest"] == "dynamic_shifted" and found["saving_eur"] == 10.00
    assert "cheapest quarter-hours" in found["options"][-1]["note"]


def test_events_are_written_once_per_breach(api, engine, tenant_factory, api_user):
    zone = unique_zone()
    tenant = tenant_factory("evt", zone=zone, meters=(Meter("main", max_kw=50.0),))
    start, end = local(2026, 10, 10), local(2026, 10, 11)
    breaches = {local(2026, 10, 10, 12), local(2026, 10, 10, 18, 30)}
    gap = {local(2026, 10, 10, 3), local(2026, 10, 10, 3, 15)}
    ingest(engine, tenant, "main", start, end, lambda ts: None if ts in gap else (4.0 if ts in breaches else 0.5))
    hourly_prices(engine, zone, start, end, lambda hour: -5.0 if hour == local(2026, 10, 10, 13) else 60.0)
    admin = api_user(tenant, role="admin")
    api.put("/tariffs", headers=admin.headers, json={"contracted_kw": 11})
    with tenant_scope(engine, tenant) as connection:
        assert service.find_events(connection, tenant, start, end) == 4
    with tenant_scope(engine, tenant) as connection:
        assert service.find_events(connection, tenant, start, end) == 0  # found again, not written again
        assert len(connection.execute(select(events.c.id)).all()) == 4
    listed = api.get(
        "/events", headers=admin.headers, params={"start": start.isoformat(), "end": end.isoformat()}
    ).json()["items"]
    kinds = sorted((e["kind"], e["ts"]) for e in listed)
    assert [k for k, _ in kinds] == ["data_gap", "limit_breach", "limit_breach", "negative_price"]
    breach = next(e for e in listed if e["kind"] == "limit_breach")
    assert breach["payload"] == {"kw": 16.0, "limit_kw": 11}
    gap_event = next(e for e in listed if e["kind"] == "data_gap")
    assert gap_event["payload"] == {"missing_intervals": 2}
    only = api.get(
        "/events",
        headers=admin.headers,
        params={"start": start.isoformat(), "end": end.isoformat(), "kind": "data_gap"},
    ).json()["items"]
    assert len(only) == 1


def test_tenants_never_see_or_change_each_others_tariffs(api, api_user, engine):
    a, b = api_user(role="admin"), api_user(role="admin")
    api.put("/tariffs", headers=a.headers, json={"tariffs": [FIXED], "contracted_kw": 5})
    assert api.get("/tariffs", headers=b.headers).json() == {
        "cost_basis": "wholesale",
        "imports": [],
        "exports": [],
        "contracted_kw": None,
    }
    # B's write lands in B's tenant, whatever it sends; the header naming A is refused.
    api.put("/tariffs", headers=b.headers, json={"tariffs": [{**FIXED, "energy_ct_kwh": 99.0}]})
    forged = api.put("/tariffs", headers={**b.headers, "X-Luna-Tenant": a.tenant_id}, json={"tariffs": [FIXED]})
    assert forged.status_code == 403
    assert api.get("/tariffs", headers=a.headers).json()["imports"][0]["energy_ct_kwh"] == 30.0
    with tenant_scope(engine, b.tenant_id) as connection:
        assert [t.energy_ct_kwh for t in service.tenant_tariffs(connection, a.tenant_id).imports] == []
    assert date(2026, 1, 1)  # both stored from the same day, each in its own tenant
