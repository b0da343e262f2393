"""Market assets: day-ahead prices for the platform's bidding zones (not tenant-partitioned)."""

from datetime import date, datetime, timedelta

from dagster import AssetExecutionContext, Config, MaterializeResult, asset

from luna_core.market.auction import MARKET_TZ, last_published_day, market_today
from luna_core.market.store import latest_price_day, upsert_prices
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
    now = datetime.now(MARKET_TZ)
    today = market_today(now)
    end = date.fromisoformat(config.end) if config.end else last_published_day(now)
    written, fetched, failed = {}, 0, {}
    for zone in zones:
        # One zone's source failing must not hold back the others; the run still fails below.
        try:
            with engine.begin() as connection:
                start = _start_day(config, latest_price_day(connection, zone), today)
                if start > end:
                    raise ValueError(f"start {start} is after end {end}")
                prices = source.fetch(zone, start, end)
                written[zone] = upsert_prices(connection, prices)
                fetched += prices.height
        except ValueError as error:
            failed[zone] = str(error)
            context.log.error(f"{zone}: no prices: {error}")
            continue
        context.log.info(f"{zone}: {prices.height} prices {start}..{end} from {source.name}, {written[zone]} new")
    if failed:
        raise ValueError(f"prices missing for {len(failed)} zone(s): {failed}")
    return MaterializeResult(
        metadata={
            "zones": ", ".join(zones),
            "prices_fetched": fetched,
            "prices_written": sum(written.values()),
            "source": source.name,
            "through_day": end.isoformat(),
        }
    )


def _start_day(config: PricesConfig, latest: date | None, today: date) -> date:
    if config.start:
        return date.fromisoformat(config.start)
    if latest is None:
        return today - timedelta(days=config.history_days)
    return min(latest, today)
