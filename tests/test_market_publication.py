"""When tomorrow's day-ahead prices exist: from 13:00 Europe/Berlin (the auction's publication), in
winter and summer time, on the days the clocks change and across month and year ends; and the
``day_ahead_prices`` asset, run at set instants (time-machine), stores tomorrow only once published."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import time_machine
from dagster import instance_for_test, materialize

from luna_assets.definitions import ASSETS
from luna_core.market.auction import last_published_day, market_today
from luna_core.market.queries import prices
from luna_core.market.store import latest_price_day
from luna_core.simulation.market import simulate_day_ahead_prices
from tests.dagster_resources import luna_resources

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(day: date, hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("now", "published_through"),
    [
        (berlin(date(2026, 12, 2), "06:41"), date(2026, 12, 2)),  # the CI run that failed at 05:41 UTC
        (berlin(date(2026, 12, 2), "12:59"), date(2026, 12, 2)),
        (berlin(date(2026, 12, 2), "13:00"), date(2026, 12, 3)),
        (berlin(date(2026, 12, 2), "23:59"), date(2026, 12, 3)),
        (berlin(date(2026, 12, 3), "00:00"), date(2026, 12, 3)),
        # 13:00 Berlin is 12:00 UTC in winter and 11:00 UTC in summer.
        (datetime(2026, 7, 1, 10, 59, tzinfo=UTC), date(2026, 7, 1)),
        (datetime(2026, 7, 1, 11, 0, tzinfo=UTC), date(2026, 7, 2)),
        (datetime(2026, 1, 15, 11, 30, tzinfo=UTC), date(2026, 1, 15)),
        # The days the clocks change: the 23-hour and the 25-hour day.
        (berlin(date(2026, 3, 28), "14:00"), date(2026, 3, 29)),
        (berlin(date(2026, 3, 29), "13:00"), date(2026, 3, 30)),
        (berlin(date(2026, 10, 25), "02:30"), date(2026, 10, 25)),
        (berlin(date(2026, 10, 25), "13:00"), date(2026, 10, 26)),
        # Month and year ends; 23:30 UTC is already the next day in Berlin.
        (berlin(date(2026, 11, 30), "13:00"), date(2026, 12, 1)),
        (datetime(2026, 11, 30, 23, 30, tzinfo=UTC), date(2026, 12, 1)),
        (berlin(date(2026, 12, 31), "18:00"), date(2027, 1, 1)),
        (berlin(date(2028, 2, 28), "13:30"), date(2028, 2, 29)),
    ],
)
def test_tomorrow_is_published_from_one_in_the_afternoon_berlin_time(now, published_through):
    assert last_published_day(now) == published_through
    with time_machine.travel(now, tick=False):  # the default is this very moment
        assert last_published_day() == published_through
        assert market_today() == now.astimezone(BERLIN).date()


def _prices_csv(path: Path, zone: str, first: date, last: date) -> Path:
    """Simulated hourly prices of the Berlin days first..last for one zone, as a CSV export has them."""
    frame = simulate_day_ahead_prices("DE-LU", first, last, 60, seed=3)
    frame.select(
        pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        pl.col("eur_per_mwh"),
        pl.lit(zone).alias("zone"),
    ).write_csv(path)
    return path


@pytest.mark.parametrize(
    "day",
    [date(2026, 12, 2), date(2026, 3, 28), date(2026, 10, 25), date(2026, 12, 31)],
    ids=["winter-workday", "eve-of-23h-day", "25h-day", "year-end"],
)
def test_the_asset_stores_tomorrow_only_after_publication(settings, tenant_factory, tmp_path, day):
    zone = f"PUB-{uuid.uuid4().hex[:6]}"
    tenant_factory("pub", zone=zone)  # the asset prices every active tenant's zone
    csv = _prices_csv(tmp_path / "prices.csv", zone, day - timedelta(days=2), day + timedelta(days=2))
    resource = luna_resources(
        database_url=settings.database_url,
        data_dir=str(settings.data_dir),
        market_source="csv",
        market_csv_path=str(csv),
    )

    def run() -> str:
        with instance_for_test() as instance:
            result = materialize(ASSETS, selection=["day_ahead_prices"], instance=instance, resources=resource)
        assert result.success
        return result.asset_materializations_for_node("day_ahead_prices")[0].metadata["through_day"].value

    def stored_hours(of: date) -> int:
        start = berlin(of, "00:00").astimezone(UTC)
        end = berlin(of + timedelta(days=1), "00:00").astimezone(UTC)
        with resource["database"].engine().connect() as connection:
            return len(prices(connection, zone, start, end, 60))

    tomorrow = day + timedelta(days=1)
    hours_tomorrow = round(
        (
            berlin(tomorrow + timedelta(days=1), "00:00").astimezone(UTC) - berlin(tomorrow, "00:00").astimezone(UTC)
        ).total_seconds()
        / 3600
    )
    with time_machine.travel(berlin(day, "06:41"), tick=True):
        assert run() == day.isoformat()
    assert stored_hours(day) == len(simulate_day_ahead_prices("DE-LU", day, day, 60))
    assert stored_hours(tomorrow) == 0
    with time_machine.travel(berlin(day, "13:05"), tick=True):
        assert run() == tomorrow.isoformat()
    assert stored_hours(tomorrow) == hours_tomorrow
    with resource["database"].engine().connect() as connection:
        assert latest_price_day(connection, zone) == tomorrow
