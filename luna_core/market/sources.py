"""Where day-ahead prices come from. Each source returns the same frame shape:
``zone, ts (UTC, delivery start), resolution_minutes (15|60), eur_per_mwh, source``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Protocol

import polars as pl

from luna_core.ingest.errors import IngestError
from luna_core.market.auction import MARKET_TIMEZONE

PRICE_COLUMNS = ("zone", "ts", "resolution_minutes", "eur_per_mwh", "source")
# EPEX SDAC harmonised clearing limits.
MIN_PRICE, MAX_PRICE = -500.0, 4000.0


class PriceSource(Protocol):
    name: str

    def fetch(self, zone: str, start_day: date, end_day: date) -> pl.DataFrame: ...


class SimulatedPrices:
    """The seeded market simulator: hourly and quarter-hourly products."""

    name = "sim"

    def __init__(self, seed: int = 7) -> None:
        self.seed = seed

    def fetch(self, zone: str, start_day: date, end_day: date) -> pl.DataFrame:
        from luna_core.simulation.market import simulate_day_ahead_prices

        frames = [
            simulate_day_ahead_prices(zone, start_day, end_day, resolution_minutes=resolution, seed=self.seed)
            for resolution in (60, 15)
        ]
        return normalise_prices(pl.concat(frames))


class CsvPrices:
    """A CSV export (for example from ENTSO-E): ts with UTC offset, eur_per_mwh, optional zone/resolution."""

    name = "csv"

    def __init__(self, path: Path) -> None:
        self.path = path

    def fetch(self, zone: str, start_day: date, end_day: date) -> pl.DataFrame:
        try:
            frame = pl.read_csv(self.path, infer_schema=False)
        except Exception as error:
            raise IngestError(f"{self.path}: cannot read prices: {error}") from error
        if not {"ts", "eur_per_mwh"} <= set(frame.columns):
            raise IngestError(f"{self.path}: needs columns ts and eur_per_mwh, found {', '.join(frame.columns)}")
        frame = frame.with_columns(
            pl.col("ts").str.to_datetime(format="%Y-%m-%dT%H:%M:%S%#z", time_zone="UTC", strict=False),
            pl.col("eur_per_mwh").cast(pl.Float64, strict=False),
            (pl.col("zone") if "zone" in frame.columns else pl.lit(zone)).alias("zone"),
            (pl.col("resolution_minutes") if "resolution_minutes" in frame.columns else pl.lit("60"))
            .cast(pl.Int16, strict=False)
            .alias("resolution_minutes"),
            pl.lit(self.name).alias("source"),
        )
        local_day = pl.col("ts").dt.convert_time_zone(MARKET_TIMEZONE).dt.date()
        frame = frame.filter((pl.col("zone") == zone) & local_day.is_between(start_day, end_day))
        return normalise_prices(frame)


def normalise_prices(frame: pl.DataFrame) -> pl.DataFrame:
    """Checks a source's frame; a bad price is an error of the source, not something to guess."""
    frame = frame.select(
        pl.col("zone").cast(pl.Utf8),
        pl.col("ts").cast(pl.Datetime("us", "UTC")),
        pl.col("resolution_minutes").cast(pl.Int16),
        pl.col("eur_per_mwh").cast(pl.Float64),
        pl.col("source").cast(pl.Utf8),
    )
    problems = {
        "missing values": frame.null_count().sum_horizontal().item(),
        f"prices outside [{MIN_PRICE}, {MAX_PRICE}] EUR/MWh": frame.filter(
            ~pl.col("eur_per_mwh").is_between(MIN_PRICE, MAX_PRICE)
        ).height,
        "resolutions other than 15 or 60 minutes": frame.filter(~pl.col("resolution_minutes").is_in([15, 60])).height,
        "duplicate delivery periods": frame.height - frame.select("zone", "resolution_minutes", "ts").n_unique(),
    }
    found = [f"{count} {what}" for what, count in problems.items() if count]
    if found:
        raise IngestError("price source returned " + "; ".join(found))
    return frame.sort("zone", "resolution_minutes", "ts")


PRICE_SOURCES = ("auto", "sim", "csv", "entsoe")


def price_source(
    name: str,
    *,
    seed: int = 7,
    csv_path: Path | None = None,
    entsoe_token: str | None = None,
    entsoe_url: str | None = None,
) -> PriceSource:
    """The configured source; ``auto`` is ENTSO-E when a token is set, else the simulator."""
    if name == "auto":
        name = "entsoe" if entsoe_token else "sim"
    if name == "entsoe":
        from luna_core.market.entsoe import DEFAULT_URL, EntsoePrices

        if not entsoe_token:
            raise ValueError("market source 'entsoe' needs LUNA_ENTSOE_TOKEN")
        return EntsoePrices(entsoe_token, entsoe_url or DEFAULT_URL)
    if name == "sim":
        return SimulatedPrices(seed)
    if name == "csv":
        if csv_path is None:
            raise ValueError("market source 'csv' needs LUNA_MARKET_CSV_PATH")
        return CsvPrices(csv_path)
    raise ValueError(f"unknown market source {name!r}; expected one of {', '.join(PRICE_SOURCES)}")
