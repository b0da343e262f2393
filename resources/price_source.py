"""Where day-ahead prices come from."""

from pydantic import Field

from luna_core.market.sources import PriceSource, price_source
from resources.platform import PlatformResource


class PriceSourceResource(PlatformResource):
    market_source: str | None = Field(None, description="day-ahead price source; unset: LUNA_MARKET_SOURCE")
    market_csv_path: str | None = Field(None, description="CSV of prices when market_source=csv")
    seed: int | None = Field(None, description="seed of the simulated prices; unset: LUNA_SEED")
    entsoe_token: str | None = Field(None, description="ENTSO-E Transparency Platform token; unset: LUNA_ENTSOE_TOKEN")
    entsoe_url: str | None = Field(None, description="ENTSO-E API base address; unset: LUNA_ENTSOE_URL")

    def prices(self) -> PriceSource:
        settings = self.settings()
        return price_source(
            settings.market_source,
            seed=settings.seed,
            csv_path=settings.market_csv_path,
            entsoe_token=settings.entsoe_token,
            entsoe_url=settings.entsoe_url,
        )
