"""Write simulated EPEX day-ahead prices to CSV or Parquet.

python -m sim.simulate_market_prices --start 2026-03-01 --end 2026-03-31 --resolution 15 --out prices.csv
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import typer

from luna_core.simulation.market import ZONES, simulate_day_ahead_prices
from sim import check_output, console, fail, write_table

app = typer.Typer(help="Simulated day-ahead market prices.", add_completion=False)


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date like 2026-03-01")


@app.command()
def market_prices(
    zone: str = typer.Option("DE-LU", help=f"Bidding zone ({', '.join(ZONES)})."),
    start: str | None = typer.Option(None, help="First delivery day (default: today in the zone)."),
    end: str | None = typer.Option(None, help="Last delivery day, inclusive (default: the day after start)."),
    resolution: int = typer.Option(60, help="Minutes per delivery period: 15 or 60."),
    seed: int = typer.Option(7, min=0, help="Same seed, same prices."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .csv or .parquet."),
) -> None:
    """Simulate day-ahead prices for whole delivery days into a file."""
    check_output(out)
    if zone not in ZONES:
        fail(f"unknown bidding zone {zone!r}; simulated zones: {', '.join(ZONES)}")
    if resolution not in (15, 60):
        fail(f"--resolution must be 15 or 60, got {resolution}")
    first = parse_day(start, "--start") if start else datetime.now(ZoneInfo(ZONES[zone].timezone)).date()
    last = parse_day(end, "--end") if end else first + timedelta(days=1)
    if last < first:
        fail(f"--end {last} is before --start {first}")
    prices = simulate_day_ahead_prices(zone, first, last, resolution_minutes=resolution, seed=seed)  # type: ignore[arg-type]
    if out.suffix.lower() == ".csv":
        write_table(prices.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%:z")), out)
    else:
        write_table(prices, out)
    values = prices["eur_per_mwh"]
    negative_hours = (values < 0).sum() * resolution / 60
    console.print(
        f"{zone} {first} .. {last}: {prices.height:,} periods of {resolution} min, "
        f"mean {values.mean():.2f} EUR/MWh, min {values.min():.2f}, max {values.max():.2f}, "
        f"{negative_hours:g} negative hours"
    )
    console.print(f"wrote {out} ({out.stat().st_size / 1e3:.1f} kB)")


if __name__ == "__main__":
    app()
