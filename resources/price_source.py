"""Where day-ahead prices come from."""

from pydantic import Field

from luna_core.market.sources import PriceSource, price_source
from resources.platform import PlatformResource


class PriceSourceResource(PlatformResource):
    market_source: str | None = Field(None, description="day-ahead price source; unset: LUNA_MARKET_SOURCE")
    market_csv_path: str | None = Field(None, description="CSV of prices when market_source=csv")
    seed: int | None = Field(None, description="seed of the simulated prices; unset: LUNA_SEED")

    def prices(self) -> PriceSource:
        settings = self.settings()
        return price_source(settings.market_source, seed=settings.seed, csv_path=settings.market_csv_path)
