"""The demo tenants' tariffs, as their sample tariff sheets (luna_cli/demo_docs/) state them, stored
through the tariffs service. A tenant that already has a tariff keeps it (a second demo run, or a
tariff the user changed, is not overwritten).

Sheets to data: prices net of VAT (the household's sheet is gross: divided by 1.19); an annual demand
charge per kW becomes a twelfth per billing month on the month's 15-minute peak.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from luna_core import audit
from luna_core.db.tenancy import tenant_scope
from luna_core.tariffs import defaults, service
from luna_core.tariffs.models import Tariff

ACTOR = "luna-demo"
SINCE = date(2026, 1, 1)
VAT = 1 + defaults.VAT_PCT / 100

# tenant -> (tariff versions, contracted kW)
DEMO_TARIFFS: dict[str, tuple[list[Tariff], float | None]] = {
    # "Luna Dynamisch Haushalt": spot + 19.80 ct gross (grid fee, levies, tax, margin), 13.90 EUR a month
    # and 20 EUR a year for the smart meter, gross.
    "household": (
        [
            Tariff(
                kind="dynamic", name="Luna Dynamisch Haushalt", valid_from=SINCE,
                markup_ct_kwh=round(19.80 / VAT, 3), base_fee_eur_month=round((13.90 + 20 / 12) / VAT, 2),
            )
        ],
        None,
    ),
    # "Luna Business Flex": spot + 3.10 ct, grid 4.85 ct, tax and levies 2.05 + 1.17 ct, 45 EUR a month,
    # 98.40 EUR per kW and year; contracted 11 kW.
    "bakery": (
        [
            Tariff(
                kind="dynamic", name="Luna Business Flex", valid_from=SINCE, markup_ct_kwh=3.10,
                grid_fee_ct_kwh=4.85, levies_ct_kwh=2.05 + 1.17, base_fee_eur_month=45.0,
                demand_charge_eur_kw=round(98.40 / 12, 2),
            )
        ],
        11.0,
    ),
    # "Luna Gewerbe Solar": spot + 16.40 ct (all fees), 29 EUR a month, 72 EUR per kW and year; feed-in 7.94 ct.
    "office": (
        [
            Tariff(
                kind="dynamic", name="Luna Gewerbe Solar", valid_from=SINCE, markup_ct_kwh=16.40,
                base_fee_eur_month=29.0, demand_charge_eur_kw=72.0 / 12,
            ),
            Tariff(
                direction="export", kind="feed_in", name="Luna Gewerbe Solar Einspeisung", valid_from=SINCE,
                feed_in_ct_kwh=7.94, vat_pct=0.0,
            ),
        ],
        None,
    ),
}  # fmt: skip


def ensure_demo_tariffs(
    engine: Engine, tenant_ids: list[str], tariffs: dict[str, tuple[list[Tariff], float | None]] = DEMO_TARIFFS
) -> dict[str, bool]:
    """Stores each tenant's demo tariff unless it has one; returns which tenants got theirs now."""
    stored: dict[str, bool] = {}
    for tenant_id in tenant_ids:
        stored[tenant_id] = False
        if tenant_id not in tariffs:
            continue
        versions, limit = tariffs[tenant_id]
        with tenant_scope(engine, tenant_id) as connection:
            if service.tenant_tariffs(connection, tenant_id).imports:
                continue
            detail = service.set_tariffs(connection, tenant_id, versions, ACTOR, limit)
            audit.record(connection, tenant_id=tenant_id, actor=ACTOR, action="tariff.update", detail=detail)
            stored[tenant_id] = True
    return stored
