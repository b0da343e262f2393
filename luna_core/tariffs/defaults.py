"""German defaults for 2026 (net of VAT), the sources in docs/energy.md ("Tariffs and money").

The regulated parts are the same whichever supplier a customer picks, so the comparison keeps a
tenant's own grid fee, levies, VAT and demand charge and swaps only the energy price and base fee.
"""

from __future__ import annotations

from datetime import date, time

from luna_core.tariffs.models import Tariff, TouWindow

# Stromsteuer 2.05 (StromStG §3) + Konzessionsabgabe 1.66 (KAV §2, towns up to 100,000 people, a
# mid value) + KWKG-Umlage 0.446 + §19 StromNEV-Umlage 1.559 + Offshore-Netzumlage 0.941
# (the 2026 values the transmission operators published on netztransparenz.de), ct/kWh.
LEVIES_CT_KWH = round(2.05 + 1.66 + 0.446 + 1.559 + 0.941, 3)
# Average household grid fee (Netzentgelt incl. metering) 2026, BNetzA/BDEW figures: about 10 ct/kWh.
GRID_FEE_CT_KWH = 10.0
VAT_PCT = 19.0  # UStG §12 (1)
# EEG 2023 feed-in for PV up to 10 kWp, partial feed-in, commissioned Aug 2025 - Jan 2026 (BNetzA).
EEG_FEED_IN_CT_KWH = 7.86
SINCE = date(2026, 1, 1)


def regulated(**overrides) -> dict:
    return {"grid_fee_ct_kwh": GRID_FEE_CT_KWH, "levies_ct_kwh": LEVIES_CT_KWH, "vat_pct": VAT_PCT} | overrides


def fixed(**overrides) -> Tariff:
    # A 2026 fixed-price offer: about 16 ct/kWh net energy and 12 EUR/month net base fee.
    spec = regulated(kind="fixed", name="Fixed price (default)", valid_from=SINCE, energy_ct_kwh=16.0)
    return Tariff(**(spec | {"base_fee_eur_month": 12.0} | overrides))


def dynamic(**overrides) -> Tariff:
    # Dynamic offers (EnWG §41a): the day-ahead price plus a markup of about 2.5 ct/kWh net, base fee about 5 EUR.
    spec = regulated(kind="dynamic", name="Dynamic (default)", valid_from=SINCE, markup_ct_kwh=2.5)
    return Tariff(**(spec | {"base_fee_eur_month": 5.0} | overrides))


def time_of_use(**overrides) -> Tariff:
    # Peak 17-21 on weekdays, off-peak 0-6 every day, else the day price (the shape of §14a EnWG module 3).
    weekdays = [1, 2, 3, 4, 5]
    windows = [
        TouWindow(weekdays=weekdays, start=time(17), end=time(21), energy_ct_kwh=24.0),
        TouWindow(weekdays=[1, 2, 3, 4, 5, 6, 7], start=time(0), end=time(6), energy_ct_kwh=11.0),
    ]
    spec = regulated(kind="time_of_use", name="Time of use (default)", valid_from=SINCE, energy_ct_kwh=16.0)
    return Tariff(**(spec | {"windows": windows, "base_fee_eur_month": 10.0} | overrides))


def feed_in(**overrides) -> Tariff:
    spec = {"direction": "export", "kind": "feed_in", "name": "EEG feed-in (default)", "valid_from": SINCE}
    return Tariff(**(spec | {"feed_in_ct_kwh": EEG_FEED_IN_CT_KWH, "vat_pct": 0.0} | overrides))


# No tariff set: the day-ahead price alone, no fees, no VAT ("wholesale only").
WHOLESALE = Tariff(kind="dynamic", name="Wholesale only", valid_from=date(2000, 1, 1), vat_pct=0.0)


def alternatives(current: Tariff | None) -> list[Tariff]:
    """The comparison's fixed, dynamic and time-of-use offers, with the tenant's regulated parts."""
    keep = {}
    if current is not None and current is not WHOLESALE:
        keep = {
            "grid_fee_ct_kwh": current.grid_fee_ct_kwh,
            "levies_ct_kwh": current.levies_ct_kwh,
            "vat_pct": current.vat_pct,
            "demand_charge_eur_kw": current.demand_charge_eur_kw,
        }
    return [fixed(**keep), dynamic(**keep), time_of_use(**keep)]
