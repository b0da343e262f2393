"""Outdoor temperature for a tenant, from the DWD test reference year of its weather region.

Production would plug a weather service in here; the platform ships the same TRY data the
simulators use, so forecasts and simulated heat pumps see one consistent climate. Tenants without
coordinates are placed at their state's capital (or the middle of Germany).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from luna_core.simulation.weather import temperature_at
from luna_core.tenants import Tenant

STATE_CAPITALS = {
    "BW": (48.78, 9.18), "BY": (48.14, 11.58), "BE": (52.52, 13.40), "BB": (52.39, 13.06),
    "HB": (53.08, 8.80), "HH": (53.55, 9.99), "HE": (50.08, 8.24), "MV": (53.63, 11.41),
    "NI": (52.37, 9.74), "NW": (51.23, 6.78), "RP": (50.00, 8.27), "SL": (49.24, 6.99),
    "SN": (51.05, 13.74), "ST": (52.13, 11.63), "SH": (54.32, 10.14), "TH": (50.98, 11.03),
}  # fmt: skip
GERMANY_CENTRE = (51.16, 10.45)


def tenant_location(tenant: Tenant) -> tuple[float, float]:
    if tenant.latitude is not None and tenant.longitude is not None:
        return tenant.latitude, tenant.longitude
    return STATE_CAPITALS.get((tenant.state or "").upper(), GERMANY_CENTRE)


def tenant_temperature(tenant: Tenant, start: datetime, end: datetime) -> pl.DataFrame:
    """``ts`` (UTC, quarter-hour start), ``temp_c`` for [start, end)."""
    latitude, longitude = tenant_location(tenant)
    return temperature_at(latitude, longitude, start, end)
