"""The price of a quarter-hour, defined once: the 15-minute day-ahead price, else its hour's.

Since the day-ahead auction went to 15-minute products some days (and zones) have quarter-hour
prices and older ones only hourly; every cost figure values energy the same way through these
two fragments (aliases ``p15``/``p60`` of ``market_prices``). They are built from column
expressions of the calling query only, never from input.
"""

from __future__ import annotations

# The EUR/MWh in force, once ``price_joins`` is in the FROM clause; NULL when neither is stored.
PRICE_EUR_PER_MWH = "coalesce(p15.eur_per_mwh, p60.eur_per_mwh)"


def price_joins(quarter_hour: str, zone: str) -> str:
    """LEFT JOINs of the 15-minute price at ``quarter_hour`` (a SQL timestamptz expression) and the
    price of its UTC hour, in bidding zone ``zone`` (a SQL expression or bind parameter)."""
    return (
        f"LEFT JOIN market_prices p15 ON p15.zone = {zone} AND p15.resolution_minutes = 15"
        f" AND p15.ts = {quarter_hour}\n"
        f"LEFT JOIN market_prices p60 ON p60.zone = {zone} AND p60.resolution_minutes = 60"
        f" AND p60.ts = date_trunc('hour', {quarter_hour}, 'UTC')"
    )
