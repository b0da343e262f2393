"""Bills checked against hand-computed ones: every tariff kind over a month with a clock change
(October 2026 has 745 hours, March 2026 743), PV import and export, the demand charge on the
15-minute peak, the month so far with its projection, and tariff versions."""

from __future__ import annotations

from datetime import date

import pytest

from luna_core.db.tenancy import tenant_scope
from luna_core.tariffs import service
from luna_core.tariffs.models import TariffError
from tests.conftest import Meter
from tests.tariff_fixtures import BERLIN, hourly_prices, ingest, local, put, unique_zone

OCTOBER = (local(2026, 10, 1), local(2026, 11, 1))
MARCH = (local(2026, 3, 1), local(2026, 4, 1))
AFTER_OCTOBER = local(2026, 11, 3, 12)
FEES = {"grid_fee_ct_kwh": 9.0, "levies_ct_kwh": 2.5, "vat_pct": 19.0}


def bill(engine, tenant, month="2026-10", now=AFTER_OCTOBER):
    with tenant_scope(engine, tenant) as connection:
        return service.month_bill(connection, tenant, month, now)


@pytest.fixture
def flat_october(engine, tenant_factory):
    """1 kW all month: 0.25 kWh in each of October's 2980 quarter-hours = 745 kWh."""
    zone = unique_zone()
    tenant = tenant_factory("bill", zone=zone)
    ingest(engine, tenant, "main", *OCTOBER, lambda ts: 0.25)
    return tenant, zone


def test_fixed_tariff_october_with_the_clock_change(engine, flat_october):
    tenant, _ = flat_october
    put(engine, tenant, kind="fixed", valid_from=date(2026, 1, 1), energy_ct_kwh=30.0, base_fee_eur_month=12.0, **FEES)
    found = bill(engine, tenant)
    assert found["complete"] and found["intervals"] == 2980 and found["import_kwh"] == 745.0
    # 745 x 30 ct = 223.50; x 9 ct = 67.05; x 2.5 ct = 18.625 -> 18.63 (half up); base 12.00
    assert found["so_far"]["lines"] == {
        "energy": 223.50,
        "grid_fees": 67.05,
        "levies": 18.63,
        "base_fee": 12.00,
        "demand_charge": 0.0,
    }
    # net 321.18, VAT 19 % = 61.0242 -> 61.02, total 382.20
    assert found["so_far"]["net_eur"] == 321.18 and found["so_far"]["vat_eur"] == 61.02
    assert found["so_far"]["total_eur"] == 382.20 and found["cost_basis"] == "tariff"
    assert found["projection"] is None


def test_dynamic_tariff_prices_the_repeated_hour_on_its_own(engine, flat_october):
    tenant, zone = flat_october
    repeated_first = local(2026, 10, 25, 2)  # 02:00 CEST = 00:00 UTC; 02:00 CET follows
    hourly_prices(engine, zone, *OCTOBER, lambda hour: -100.0 if hour == repeated_first else 80.0)
    put(engine, tenant, kind="dynamic", valid_from=date(2026, 1, 1), markup_ct_kwh=2.0, base_fee_eur_month=5.0, **FEES)
    found = bill(engine, tenant)
    # 744 kWh x (8 + 2) ct + 1 kWh x (-10 + 2) ct = 74.40 - 0.08 = 74.32
    assert found["so_far"]["lines"]["energy"] == 74.32
    # net 74.32 + 67.05 + 18.63 + 5.00 = 165.00, VAT 31.35, total 196.35
    assert found["so_far"]["net_eur"] == 165.00 and found["so_far"]["total_eur"] == 196.35
    assert found["unpriced_intervals"] == 0


def test_dynamic_tariff_counts_quarters_without_a_price(engine, flat_october):
    tenant, zone = flat_october
    hourly_prices(engine, zone, local(2026, 10, 2), OCTOBER[1], lambda hour: 80.0)  # 1 October unpriced
    put(engine, tenant, kind="dynamic", valid_from=date(2026, 1, 1), vat_pct=0.0)
    found = bill(engine, tenant)
    assert found["unpriced_intervals"] == 96
    assert found["so_far"]["lines"]["energy"] == pytest.approx((745 - 24) * 0.08)


def test_time_of_use_in_march_with_the_short_night(engine, tenant_factory):
    tenant = tenant_factory("tou")
    ingest(engine, tenant, "main", *MARCH, lambda ts: 0.25)
    window = {"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "06:00", "energy_ct_kwh": 10.0}
    put(engine, tenant, kind="time_of_use", valid_from=date(2026, 1, 1), energy_ct_kwh=20.0, windows=[window])
    found = bill(engine, tenant, "2026-03", local(2026, 4, 2))
    assert found["intervals"] == 2972
    # night: 31 x 6 h - 1 (29 March skips 02:00) = 185 kWh x 10 ct = 18.50; day 558 kWh x 20 ct = 111.60
    assert found["so_far"]["lines"]["energy"] == 130.10
    assert found["so_far"]["vat_eur"] == 24.72 and found["so_far"]["total_eur"] == 154.82  # 24.719 -> 24.72


def test_demand_charge_is_on_the_15_minute_peak(engine, tenant_factory):
    tenant = tenant_factory("peak", meters=(Meter("main", max_kw=50.0),))
    spike = local(2026, 10, 10, 12)
    ingest(engine, tenant, "main", *OCTOBER, lambda ts: 3.0 if ts == spike else 0.25)
    put(engine, tenant, kind="fixed", valid_from=date(2026, 1, 1), energy_ct_kwh=20.0, demand_charge_eur_kw=10.0)
    found = bill(engine, tenant)
    # 3 kWh in a quarter-hour = 12 kW (its hour averaged 3.75 kW); 12 kW x 10 EUR = 120.00
    assert found["peak_kw"] == 12.0 and found["peak_at"] == spike
    assert found["so_far"]["lines"]["demand_charge"] == 120.00
    # energy 747.75 kWh x 20 ct = 149.55; net 269.55; VAT 51.2145 -> 51.21; total 320.76
    assert found["so_far"]["lines"]["energy"] == 149.55 and found["so_far"]["total_eur"] == 320.76


def test_pv_is_priced_on_import_and_credited_for_export(engine, tenant_factory):
    tenant = tenant_factory("pv", meters=(Meter("main"), Meter("roof", "pv", 10.0)))
    ingest(engine, tenant, "main", *OCTOBER, lambda ts: 0.25)
    # PV 2 kW from 10:00 to 14:00 local: 16 quarter-hours a day, 496 in October
    ingest(engine, tenant, "roof", *OCTOBER, lambda ts: 0.5 if 10 <= ts.astimezone(BERLIN).hour < 14 else 0.0)
    put(engine, tenant, kind="fixed", valid_from=date(2026, 1, 1), energy_ct_kwh=30.0)
    put(engine, tenant, direction="export", kind="feed_in", valid_from=date(2026, 1, 1), feed_in_ct_kwh=7.86)
    found = bill(engine, tenant)
    # import (2980 - 496) x 0.25 = 621 kWh x 30 ct = 186.30; export 496 x 0.25 = 124 kWh x 7.86 ct = 9.7464
    assert found["import_kwh"] == 621.0 and found["export_kwh"] == 124.0
    assert found["so_far"]["lines"]["energy"] == 186.30 and found["so_far"]["feed_in_credit_eur"] == 9.75
    # VAT 35.397 -> 35.40 on the import only; total 186.30 + 35.40 - 9.75
    assert found["so_far"]["vat_eur"] == 35.40 and found["so_far"]["total_eur"] == 211.95


def test_month_so_far_and_its_projection(engine, flat_october):
    tenant, _ = flat_october
    put(engine, tenant, kind="fixed", valid_from=date(2026, 1, 1), energy_ct_kwh=30.0, base_fee_eur_month=12.0, **FEES)
    found = bill(engine, tenant, now=local(2026, 10, 16, 0, 7))
    assert not found["complete"] and found["intervals"] == 15 * 96
    # 15 days of 24 kWh: 360 kWh x 30 ct = 108.00; base fee 15/31 of a month (1440 of 2980 quarters)
    assert found["so_far"]["lines"]["energy"] == 108.00
    assert found["so_far"]["lines"]["base_fee"] == round(12 * 1440 / 2980, 2)
    # at the same load the projection is the whole month's bill
    assert found["projection"]["lines"]["energy"] == 223.50 and found["projection"]["lines"]["base_fee"] == 12.00
    assert found["projection"]["total_eur"] == 382.20


def test_a_new_version_mid_month_prices_each_day_by_its_own(engine, flat_october):
    tenant, _ = flat_october
    put(engine, tenant, kind="fixed", valid_from=date(2026, 1, 1), energy_ct_kwh=30.0, vat_pct=0.0)
    put(engine, tenant, kind="fixed", valid_from=date(2026, 10, 11), energy_ct_kwh=20.0, vat_pct=0.0)
    with tenant_scope(engine, tenant) as connection:
        versions = service.tenant_tariffs(connection, tenant).imports
    assert [(v.valid_from, v.valid_to) for v in versions] == [
        (date(2026, 1, 1), date(2026, 10, 11)),
        (date(2026, 10, 11), None),
    ]
    # 10 days x 24 kWh x 30 ct = 72.00; 21 days (one of 25 h) = 505 kWh x 20 ct = 101.00
    assert bill(engine, tenant)["so_far"]["lines"]["energy"] == 173.00


def test_without_a_tariff_the_bill_is_wholesale_only(engine, flat_october):
    tenant, zone = flat_october
    hourly_prices(engine, zone, *OCTOBER, lambda hour: 100.0)
    found = bill(engine, tenant)
    assert found["cost_basis"] == "wholesale" and found["so_far"]["total_eur"] == 74.50  # 745 kWh x 10 ct


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "october", ""])
def test_a_bad_month_says_how_to_write_it(engine, flat_october, month):
    tenant, _ = flat_october
    with pytest.raises(TariffError, match="YYYY-MM"):
        bill(engine, tenant, month)


def test_a_month_not_started_is_refused(engine, flat_october):
    tenant, _ = flat_october
    with pytest.raises(TariffError, match="not started"):
        bill(engine, tenant, "2027-01")
