"""Market assets: day-ahead prices for the platform's bidding zones (not tenant-partitioned)."""

from datetime import date, datetime

from dagster import AssetExecutionContext, Config, MaterializeResult, asset

from luna_core.market.auction import MARKET_TZ
from luna_core.market.service import refresh_prices
from luna_core.tenants import list_tenants
from resources import DatabaseResource, PriceSourceResource


class PricesConfig(Config):
    start: str | None = None
    """First delivery day (YYYY-MM-DD) for a backfill; default: the newest stored day (or history_days back)."""
    end: str | None = None
    """Last delivery day; default: the last one published (tomorrow from 13:00 market time, the
    day-ahead auction's publication, else today)."""
    history_days: int = 120


@asset(
    group_name="market",
    kinds={"postgres"},
    description="Day-ahead EUR/MWh per hour and per quarter-hour for every zone a tenant is in; "
    "incremental from the newest stored day, idempotent.",
)
def day_ahead_prices(
    context: AssetExecutionContext, config: PricesConfig, database: DatabaseResource, price_source: PriceSourceResource
) -> MaterializeResult:
    settings, engine = database.settings(), database.engine()
    source = price_source.prices()
    zones = sorted({t.zone for t in list_tenants(engine, active_only=True)} | {settings.default_zone})
    refresh = refresh_prices(
        engine,
        source,
        zones,
        start=date.fromisoformat(config.start) if config.start else None,
        end=date.fromisoformat(config.end) if config.end else None,
        history_days=config.history_days,
        now=datetime.now(MARKET_TZ),
    )
    for zone in refresh.zones:
        if zone.error:
            context.log.error(f"{zone.zone}: no prices: {zone.error}")
            continue
        context.log.info(
            f"{zone.zone}: {zone.fetched} prices {zone.start}..{zone.end} from {source.name}, "
            f"{zone.written} new or changed, {zone.deleted} replaced"
        )
        if zone.missing_days:
            # Not published (yet): the next run starts from the newest stored day and picks them up.
            context.log.warning(f"{zone.zone}: not published: {', '.join(map(str, zone.missing_days))}")
    if refresh.failed:
        raise ValueError(f"prices missing for {len(refresh.failed)} zone(s): {refresh.failed}")
    return MaterializeResult(
        metadata={
            "zones": ", ".join(zones),
            "prices_fetched": sum(z.fetched for z in refresh.zones),
            "prices_written": sum(z.written for z in refresh.zones),
            "prices_replaced": sum(z.deleted for z in refresh.zones),
            "missing_days": ", ".join(sorted({str(d) for z in refresh.zones for d in z.missing_days})) or "none",
            "source": source.name,
            "through_day": refresh.end.isoformat(),
        }
    )
