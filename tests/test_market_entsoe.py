"""ENTSO-E day-ahead prices through the real HTTP path against a local stand-in of the Transparency
Platform (tests/entsoe_standin.py: documents written from the published schemas, since the real API
needs a personal token and the network), parsed with entsoe-py's parser, stored in the real database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from dagster import instance_for_test, materialize

from luna_assets.definitions import ASSETS
from luna_core.market.entsoe import HOURLY_MEAN_SOURCE, EntsoeError, EntsoePrices, parse_document
from luna_core.market.queries import prices
from luna_core.market.service import refresh_prices
from luna_core.market.sources import SimulatedPrices, price_source
from tests.dagster_resources import luna_resources
from tests.entsoe_standin import (
    PublishedDay,
    StandIn,
    day_bounds,
    example_prices,
    no_matching_data,
    publication_document,
    serve,
)

SPRING_DST = date(2025, 3, 30)  # 23 hours, hourly products (before the 15-minute switch)
LAST_HOURLY = date(2025, 9, 30)
FIRST_QUARTER_HOURLY = date(2025, 10, 1)  # SDAC day-ahead moved to 15-minute products
AUTUMN_DST = date(2025, 10, 26)  # 25 hours: 100 quarter-hours


@pytest.fixture
def stand_in():
    stand_in = StandIn()
    server = serve(stand_in)
    yield stand_in
    server.shutdown()


def _source(stand_in: StandIn, **kwargs) -> EntsoePrices:
    return EntsoePrices(stand_in.token, stand_in.url, sleep=lambda _: None, **kwargs)


def _published(day: date, minutes: int, offset: float = 0.0, revision: int = 1) -> PublishedDay:
    return PublishedDay(day, minutes, example_prices(day, minutes, offset), revision)


def test_an_hourly_dst_day_is_parsed_with_its_23_hours_including_left_out_positions():
    day = _published(SPRING_DST, 60)
    frame = parse_document(publication_document([day]), "DE-LU")
    assert frame.height == 23
    assert frame["resolution_minutes"].unique().to_list() == [60]
    assert frame["eur_per_mwh"].to_list() == day.prices  # A03's left-out repeats are filled, not lost
    assert frame["ts"].min() == day_bounds(SPRING_DST)[0]


def test_a_15_minute_dst_day_has_100_quarter_hours_and_25_hourly_means(stand_in):
    stand_in.publish(_published(AUTUMN_DST, 15))
    frame = _source(stand_in).fetch("DE-LU", AUTUMN_DST, AUTUMN_DST)
    quarters = frame.filter(pl.col("resolution_minutes") == 15)
    hourly = frame.filter(pl.col("resolution_minutes") == 60)
    assert quarters.height == 100 and set(quarters["source"]) == {"entsoe"}
    assert hourly.height == 25 and set(hourly["source"]) == {HOURLY_MEAN_SOURCE}
    first_hour = quarters.head(4)["eur_per_mwh"].mean()
    assert hourly["eur_per_mwh"][0] == pytest.approx(first_hour)


def test_the_2025_switch_from_hourly_to_15_minutes_in_one_request(stand_in):
    stand_in.publish(_published(LAST_HOURLY, 60), _published(FIRST_QUARTER_HOURLY, 15))
    frame = _source(stand_in).fetch("DE-LU", LAST_HOURLY, FIRST_QUARTER_HOURLY)
    by_day = frame.with_columns(pl.col("ts").dt.convert_time_zone("Europe/Berlin").dt.date().alias("day"))
    counts = {(d, r): n for d, r, n in by_day.group_by("day", "resolution_minutes").len().rows()}
    assert counts == {(LAST_HOURLY, 60): 24, (FIRST_QUARTER_HOURLY, 15): 96, (FIRST_QUARTER_HOURLY, 60): 24}
    assert len(stand_in.requests) == 1
    request = stand_in.requests[0]
    assert request["documentType"] == "A44" and request["in_Domain"] == request["out_Domain"] == "10Y1001A1001A82H"
    assert request["periodStart"] == "202509292200" and request["periodEnd"] == "202510012200"


def test_no_matching_data_is_an_empty_result_and_a_missing_day(stand_in):
    start, end = day_bounds(date(2026, 1, 11))
    assert parse_document(no_matching_data(start, end), "DE-LU").height == 0
    stand_in.publish(_published(date(2026, 1, 10), 15))
    source = _source(stand_in)
    frame = source.fetch("DE-LU", date(2026, 1, 10), date(2026, 1, 11))
    assert frame.height == 96 + 24
    assert source.missing_days == [date(2026, 1, 11)]


def test_rate_limit_is_retried_then_reported_with_the_request(stand_in):
    stand_in.publish(_published(date(2026, 1, 10), 15))
    stand_in.rate_limited = 2
    assert _source(stand_in).fetch("DE-LU", date(2026, 1, 10), date(2026, 1, 10)).height == 120
    stand_in.rate_limited = 10
    with pytest.raises(EntsoeError, match=r"ENTSO-E A44 DE-LU 2026-01-10\.\.2026-01-10: rate limited \(HTTP 429\)"):
        _source(stand_in, max_retries=2).fetch("DE-LU", date(2026, 1, 10), date(2026, 1, 10))


def test_a_wrong_token_and_an_unknown_zone_are_clear_errors(stand_in):
    with pytest.raises(EntsoeError, match="token was refused"):
        EntsoePrices("wrong", stand_in.url).fetch("DE-LU", date(2026, 1, 10), date(2026, 1, 10))
    with pytest.raises(EntsoeError, match="'XX-YY' is unknown"):
        _source(stand_in).fetch("XX-YY", date(2026, 1, 10), date(2026, 1, 10))
    with pytest.raises(EntsoeError, match="not an XML document"):
        parse_document("<html>", "DE-LU")


def test_a_corrected_publication_replaces_the_day_idempotently(engine, stand_in):
    day = date(2025, 11, 5)
    stand_in.publish(_published(day, 15))
    source = _source(stand_in)
    with engine.begin() as connection:  # the simulator had this day first: real prices replace it
        from luna_core.market.store import replace_prices

        replace_prices(connection, SimulatedPrices(seed=1).fetch("DE-LU", day, day))

    def run() -> tuple[int, int]:
        outcome = refresh_prices(engine, source, ["DE-LU"], start=day, end=day).zones[0]
        assert outcome.error is None
        return outcome.written, outcome.deleted

    written, _ = run()
    assert written == 96 + 24
    assert run() == (0, 0)  # the same publication again changes nothing
    stand_in.publish(_published(day, 15, offset=10.0, revision=2))
    assert run() == (96 + 24, 0)
    assert run() == (0, 0)
    start, end = day_bounds(day)
    with engine.connect() as connection:
        stored = prices(connection, "DE-LU", start, end, 15)
    assert [row.eur_per_mwh for row in stored] == [p + 10.0 for p in example_prices(day, 15)]
    # The day was published quarter-hourly only: an hourly publication of it later drops the quarters.
    stand_in.publish(_published(day, 60, revision=3))
    written, deleted = run()
    assert (written, deleted) == (24, 96)


def test_the_source_is_chosen_by_configuration():
    assert price_source("auto").name == "sim"
    assert price_source("auto", entsoe_token="t").name == "entsoe"
    with pytest.raises(ValueError, match="LUNA_ENTSOE_TOKEN"):
        price_source("entsoe")


def test_the_asset_backfills_a_date_range_from_entsoe_when_a_token_is_set(settings, stand_in):
    stand_in.publish(*(_published(date(2025, 2, 1) + timedelta(days=n), 60) for n in range(3)))
    resources = luna_resources(
        database_url=settings.database_url,
        data_dir=str(settings.data_dir),
        entsoe_token=stand_in.token,
        entsoe_url=stand_in.url,
    )
    config = {"ops": {"day_ahead_prices": {"config": {"start": "2025-02-01", "end": "2025-02-04"}}}}
    with instance_for_test() as instance:
        result = materialize(
            ASSETS, selection=["day_ahead_prices"], instance=instance, resources=resources, run_config=config
        )
    assert result.success
    metadata = result.asset_materializations_for_node("day_ahead_prices")[0].metadata
    assert metadata["source"].value == "entsoe"
    assert metadata["missing_days"].value == "2025-02-04"  # not published: reported, never invented
    with engine_for(settings).connect() as connection:
        stored = prices(
            connection, "DE-LU", datetime(2025, 1, 31, 23, tzinfo=UTC), datetime(2025, 2, 4, 23, tzinfo=UTC), 60
        )
    assert len(stored) == 72


def engine_for(settings):
    from luna_core.db.engine import app_engine

    return app_engine(settings)


def test_the_token_never_reaches_a_log_line(stand_in, caplog):
    stand_in.publish(_published(date(2026, 1, 10), 15))
    with caplog.at_level("INFO", logger="httpx"):
        _source(stand_in).fetch("DE-LU", date(2026, 1, 10), date(2026, 1, 10))
    lines = [record.getMessage() for record in caplog.records if record.name == "httpx"]
    assert lines and all(stand_in.token not in line and "securityToken=[redacted]" in line for line in lines)


def test_an_acknowledgement_with_another_reason_is_an_error_naming_it():
    refused = no_matching_data(*day_bounds(date(2026, 1, 10))).replace(
        "No matching data found for Data item Energy Prices [12.1.D]", "Invalid query attributes or parameters"
    )
    with pytest.raises(EntsoeError, match="refused: Invalid query attributes"):
        parse_document(refused, "DE-LU", document="ENTSO-E A44 DE-LU 2026-01-10")
