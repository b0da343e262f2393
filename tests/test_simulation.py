"""The simulators: realistic magnitudes, complete grids, reproducible values, exact fault
counts and a plausible day-ahead market. No database needed (MQTT test skips without a broker)."""

from __future__ import annotations

import json
import socket
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import polars as pl
import pytest
from oemof.demand import bdew
from typer.testing import CliRunner

from luna_core.simulation.faults import FAULT_KINDS, NAIVE_FORMAT, TS_FORMAT, format_clean, inject_faults
from luna_core.simulation.market import MAX_PRICE, MIN_PRICE, PRICE_SCHEMA, simulate_day_ahead_prices
from luna_core.simulation.meters import READING_SCHEMA, simulate_many, simulate_site, temperature_series
from luna_core.simulation.profiles import yearly_profile
from luna_core.simulation.rng import stable_hash
from luna_core.simulation.sites import (
    DEMO_SITES,
    DEMO_SITES_BY_ID,
    TENANT_ID_PATTERN,
    MeterSpec,
    SiteSpec,
    bench_site,
    bench_sites,
    resolve_site,
)
from luna_core.simulation.weather import try_region

BERLIN = ZoneInfo("Europe/Berlin")
YEAR_START, YEAR_END = datetime(2025, 1, 1, tzinfo=BERLIN), datetime(2026, 1, 1, tzinfo=BERLIN)
HOUSEHOLD, BAKERY, OFFICE = (DEMO_SITES_BY_ID[t] for t in ("household", "bakery", "office"))


def local(frame: pl.DataFrame) -> pl.DataFrame:
    lt = pl.col("ts").dt.convert_time_zone("Europe/Berlin")
    return frame.with_columns(lt.dt.month().alias("month"), lt.dt.hour().alias("hour"), lt.dt.date().alias("day"))


@pytest.fixture(scope="module")
def year() -> dict[str, pl.DataFrame]:
    return {site.tenant_id: simulate_site(site, YEAR_START, YEAR_END) for site in DEMO_SITES}


# --- sites -------------------------------------------------------------------------------


def test_demo_sites_are_valid_tenants_with_sensible_limits():
    from luna_core.db.schema import METER_KINDS
    from luna_core.db.schema import TENANT_ID_PATTERN as SCHEMA_PATTERN
    from luna_core.tenants import TENANT_KINDS

    assert SCHEMA_PATTERN == TENANT_ID_PATTERN
    assert [s.tenant_id for s in DEMO_SITES] == ["household", "bakery", "office"]
    for site in DEMO_SITES:
        assert site.kind in TENANT_KINDS
        assert all(m.kind in METER_KINDS and m.max_kw > 0 for m in site.meters)
    assert {m.meter_id for m in OFFICE.meters} == {"main", "pv", "ev"}
    assert BAKERY.meter("heat-pump").kind == "heat_pump"


def test_invalid_specs_are_rejected():
    with pytest.raises(ValueError, match="tenant id"):
        SiteSpec("Bad_Id", "x", "business", "BY", 48.0, 11.0, meters=(MeterSpec("main", "pv", kwp=5),))
    with pytest.raises(ValueError, match="state"):
        SiteSpec("ok-id", "x", "business", "XX", 48.0, 11.0, meters=(MeterSpec("main", "pv", kwp=5),))
    with pytest.raises(ValueError, match="profile"):
        MeterSpec("main", "consumption", annual_kwh=1000, profile="z9")
    # The tenant registry builds specs from kind and limit alone; only simulating needs more.
    bare = SiteSpec("ok-id", "x", "business", "BY", 48.0, 11.0, meters=(MeterSpec("pv", "pv", max_kw=10),))
    with pytest.raises(ValueError, match="kwp"):
        simulate_site(bare, YEAR_START, YEAR_START + timedelta(hours=1))
    assert MeterSpec("main", "consumption").max_kw > 0


def test_bench_sites_are_varied_and_deterministic():
    sites = bench_sites(40, meters_per_tenant=6)
    assert sites == bench_sites(40, meters_per_tenant=6)
    assert len({s.tenant_id for s in sites}) == 40
    assert all(len(s.meters) == 6 for s in sites)
    assert len({s.state for s in sites}) >= 8
    assert {m.kind for s in sites for m in s.meters} == {"consumption", "pv", "ev", "heat_pump", "battery"}
    assert resolve_site("bench-7") == bench_site(7)
    with pytest.raises(ValueError, match="household"):
        resolve_site("nobody")


def test_weather_regions_follow_the_dwd_map():
    assert try_region(48.16, 11.58) == 13  # Munich: Alpine foreland
    assert try_region(52.50, 13.40) == 4  # Berlin: north-east lowlands
    assert try_region(50.95, 6.92) == 5  # Cologne: lower Rhine
    assert 1 <= try_region(48.85, 2.35) <= 15  # Paris: nearest station, no error


# --- profiles ----------------------------------------------------------------------------


@pytest.mark.parametrize(("profile", "column"), [("h0", "h0_dyn"), ("g1", "g1"), ("g5", "g5"), ("l0", "l0")])
def test_holiday_fast_path_equals_oemof(profile, column):
    expected = bdew.ElecSlp(2026, holidays=dict(holidays.Germany(subdiv="NW", years=2026))).get_profiles()[column]
    expected = expected.to_numpy() / expected.sum()
    np.testing.assert_allclose(yearly_profile(profile, 2026, "NW"), expected, rtol=1e-12)


# --- meters ------------------------------------------------------------------------------


def test_schema_and_complete_grid(year):
    for site in DEMO_SITES:
        frame = year[site.tenant_id]
        assert dict(frame.schema) == READING_SCHEMA
        counts = frame.group_by("meter_id").len()
        assert counts["len"].to_list() == [35040] * len(site.meters)
        assert frame["quality"].unique().to_list() == ["measured"]
        for _, group in frame.group_by("meter_id"):
            steps = group["ts"].diff().drop_nulls().unique()
            assert steps.to_list() == [timedelta(minutes=15)]


def test_clean_readings_are_non_negative_and_below_the_meter_limit(year):
    sites = [*DEMO_SITES, *bench_sites(12, meters_per_tenant=6)]
    for site in sites:
        frame = year.get(site.tenant_id) if site.tenant_id in year else simulate_site(site, YEAR_START, YEAR_END)
        limits = pl.DataFrame({"meter_id": list(site.max_kw), "limit": [kw * 0.25 for kw in site.max_kw.values()]})
        joined = frame.join(limits, on="meter_id")
        assert joined["kwh"].min() >= 0
        assert joined.filter(pl.col("kwh") > pl.col("limit")).height == 0, site.tenant_id
        assert frame["kwh"].is_nan().sum() == 0


@pytest.mark.parametrize(
    ("tenant", "meter", "tolerance"),
    [
        ("household", "main", 0.03),
        ("bakery", "main", 0.02),
        ("office", "main", 0.02),
        ("bakery", "heat-pump", 0.03),
        ("office", "ev", 0.10),
    ],
)
def test_annual_energy_matches_the_spec(year, tenant, meter, tolerance):
    spec = DEMO_SITES_BY_ID[tenant].meter(meter)
    total = year[tenant].filter(pl.col("meter_id") == meter)["kwh"].sum()
    assert total == pytest.approx(spec.annual_kwh, rel=tolerance)


@pytest.mark.parametrize("profile", ["h25", "g25", "l25"])
def test_bdew_2025_profiles_scale_to_the_annual_energy(profile):
    site = SiteSpec(
        "profile-2025",
        "x",
        "business",
        "HE",
        50.1,
        8.7,
        meters=(MeterSpec("main", "consumption", annual_kwh=20_000, profile=profile),),
    )
    assert simulate_site(site, YEAR_START, YEAR_END)["kwh"].sum() == pytest.approx(20_000, rel=0.02)


def test_pv_is_dark_at_night_and_strong_at_summer_noon(year):
    pv = local(year["office"].filter(pl.col("meter_id") == "pv"))
    assert pv.filter(pl.col("hour").is_in([0, 1, 2, 3, 23]))["kwh"].max() == 0
    assert pv.filter(pl.col("month").is_in([12, 1]) & pl.col("hour").is_in([18, 19, 20]))["kwh"].max() == 0
    noon = pv.filter((pl.col("month") == 6) & pl.col("hour").is_in([12, 13]))
    assert noon["kwh"].mean() > 0.3 * 30 * 0.25  # > 30 % of kWp on average at June noon
    assert (noon["kwh"] > 0).mean() > 0.95
    yield_per_kwp = pv["kwh"].sum() / 30
    assert 800 < yield_per_kwp < 1200  # Berlin: ~950 kWh/kWp


def test_heat_pump_follows_temperature(year):
    hp = local(year["bakery"].filter(pl.col("meter_id") == "heat-pump"))
    monthly = dict(hp.group_by("month").agg(pl.col("kwh").sum()).iter_rows())
    assert monthly[1] > 3 * monthly[7]
    temps = local(temperature_series(BAKERY, YEAR_START, YEAR_END))
    assert temps.height == 35040
    daily = (
        hp.group_by("day").agg(pl.col("kwh").sum()).join(temps.group_by("day").agg(pl.col("temp_c").mean()), on="day")
    )
    assert np.corrcoef(daily["kwh"], daily["temp_c"])[0, 1] < -0.8


def test_office_and_ev_follow_the_working_week(year):
    office = local(year["office"]).with_columns(
        pl.col("ts").dt.convert_time_zone("Europe/Berlin").dt.weekday().alias("weekday")
    )
    ev = office.filter(pl.col("meter_id") == "ev")
    assert ev.filter(pl.col("weekday") <= 5)["kwh"].sum() > 10 * ev.filter(pl.col("weekday") == 7)["kwh"].sum()
    assert ev.filter(pl.col("hour").is_in([0, 1, 2, 3, 4]))["kwh"].sum() == 0
    main = office.filter((pl.col("meter_id") == "main") & pl.col("hour").is_in([10, 11]))
    assert main.filter(pl.col("weekday") <= 5)["kwh"].mean() > 4 * main.filter(pl.col("weekday") == 7)["kwh"].mean()


@pytest.mark.parametrize(
    ("day", "quarters"), [(date(2026, 3, 29), 92), (date(2026, 10, 25), 100), (date(2026, 6, 1), 96)]
)
def test_dst_days_have_the_real_number_of_quarters(day, quarters):
    start = datetime(day.year, day.month, day.day, tzinfo=BERLIN)
    frame = simulate_site(OFFICE, start, datetime.combine(day + timedelta(days=1), datetime.min.time(), BERLIN))
    assert frame.group_by("meter_id").len()["len"].to_list() == [quarters] * 3


def test_same_timestamp_same_value_in_any_window():
    sites = [*DEMO_SITES, bench_site(3, meters_per_tenant=6)]
    for site in sites:
        long = simulate_site(site, datetime(2026, 3, 1, tzinfo=BERLIN), datetime(2026, 4, 15, tzinfo=BERLIN), seed=5)
        for start, end in [
            (datetime(2026, 3, 29, 7, 30, tzinfo=UTC), datetime(2026, 3, 29, 9, 0, tzinfo=UTC)),
            (datetime(2026, 3, 14, 23, 50, tzinfo=UTC), datetime(2026, 3, 15, 0, 20, tzinfo=UTC)),
            (datetime(2026, 4, 2, 12, 0, tzinfo=BERLIN), datetime(2026, 4, 2, 12, 15, tzinfo=BERLIN)),
        ]:
            short = simulate_site(site, start, end, seed=5)
            assert short.height > 0
            joined = short.join(long, on=["meter_id", "ts"], how="left", suffix="_long")
            assert joined["kwh_long"].null_count() == 0
            assert (joined["kwh"] == joined["kwh_long"]).all(), site.tenant_id


def test_seed_and_tenant_change_the_noise():
    window = (datetime(2026, 2, 2, tzinfo=BERLIN), datetime(2026, 2, 3, tzinfo=BERLIN))
    a = simulate_site(HOUSEHOLD, *window, seed=1)["kwh"]
    assert not a.equals(simulate_site(HOUSEHOLD, *window, seed=2)["kwh"])
    assert a.equals(simulate_site(HOUSEHOLD, *window, seed=1)["kwh"])
    twin = SiteSpec(
        "household-2", "twin", "household", "BY", HOUSEHOLD.latitude, HOUSEHOLD.longitude, meters=HOUSEHOLD.meters
    )
    assert not a.equals(simulate_site(twin, *window, seed=1)["kwh"])
    assert stable_hash("household/main") == stable_hash("household/main") != stable_hash("bakery/main")


def test_simulate_many_and_naive_windows():
    start, end = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC)
    frame = simulate_many(DEMO_SITES, start, end)
    assert frame.columns == ["tenant_id", *READING_SCHEMA]
    assert frame.height == 96 * sum(len(site.meters) for site in DEMO_SITES)
    with pytest.raises(ValueError, match="naive"):
        simulate_site(OFFICE, datetime(2026, 5, 1), datetime(2026, 5, 2))
    with pytest.raises(ValueError, match="empty window"):
        simulate_site(OFFICE, end, start)


# --- faults ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def autumn():
    return simulate_site(OFFICE, datetime(2026, 10, 20, tzinfo=BERLIN), datetime(2026, 10, 30, tzinfo=BERLIN))


def test_clean_raw_format(autumn):
    raw, report = inject_faults(autumn, [], seed=1)
    assert raw.equals(format_clean(autumn))
    assert dict(raw.schema) == {c: pl.Utf8 for c in READING_SCHEMA}
    assert raw["ts"][0] == "2026-10-19T22:00:00+00:00"
    assert report.rows_in == report.rows_out == autumn.height


def test_unknown_fault_lists_the_valid_ones(autumn):
    with pytest.raises(ValueError, match="gaps, duplicates, spikes, negative, dst, late, garbage"):
        inject_faults(autumn, ["gaps", "meteor"], seed=1)


def test_each_fault_is_injected_exactly_as_reported(autumn):
    raw, report = inject_faults(autumn, FAULT_KINDS, seed=9, rate=0.02, max_kw=OFFICE.max_kw)
    n = autumn.height
    per_kind = round(0.02 * n)
    assert report.counts == {
        "gaps": per_kind,
        "duplicates": per_kind,
        "spikes": per_kind,
        "negative": per_kind,
        "dst": 3 * 16,
        "late": per_kind,
        "garbage": per_kind,
    }
    assert report.rows_out == raw.height == n - report.counts["gaps"] + report.counts["duplicates"]

    aware = pl.col("ts").str.to_datetime(TS_FORMAT, strict=False, time_zone="UTC")
    naive = pl.col("ts").str.to_datetime(NAIVE_FORMAT, strict=False)
    kwh = pl.col("kwh").cast(pl.Float64, strict=False)
    parsed = raw.with_columns(aware.alias("aware"), naive.alias("naive"), kwh.alias("value"))

    # duplicates: exact repeats right after the original (naive night stamps of PV and EV can
    # repeat by nature in the fall-back hour, so only correctly stamped rows count here)
    stamped = parsed.filter(pl.col("aware").is_not_null()).select(raw.columns)
    assert stamped.height - stamped.unique().height == per_kind
    previous = raw.select(pl.all().shift(1).name.suffix("_prev"))
    adjacent = pl.concat([raw, previous], how="horizontal").filter(
        (pl.col("meter_id") == pl.col("meter_id_prev"))
        & (pl.col("ts") == pl.col("ts_prev"))
        & (pl.col("kwh") == pl.col("kwh_prev"))
        & pl.col("ts").str.ends_with("+00:00")
    )
    assert adjacent.height == per_kind

    # dst: naive stamps, the fall-back hour twice per meter
    naive_rows = parsed.filter(pl.col("aware").is_null() & pl.col("naive").is_not_null())
    assert naive_rows.height == report.counts["dst"]
    repeated = naive_rows.filter(pl.col("naive").dt.hour() == 2).group_by("meter_id", "naive").len()
    assert repeated.height == 3 * 4 and (repeated["len"] == 2).all()
    assert report.details["dst_ambiguous"] == 3 * 8

    # garbage: nothing parseable
    garbage = parsed.filter((pl.col("aware").is_null() & pl.col("naive").is_null()) | pl.col("value").is_null())
    assert garbage.height == report.counts["garbage"]

    limits = parsed.join(
        pl.DataFrame({"meter_id": list(OFFICE.max_kw), "limit": [kw / 4 for kw in OFFICE.max_kw.values()]}),
        on="meter_id",
    )
    assert limits.filter(pl.col("value") > pl.col("limit")).height == report.counts["spikes"]
    assert limits.filter(pl.col("value") > 5 * pl.col("limit")).height == report.counts["spikes"]
    assert parsed.filter(pl.col("value") < 0).height == report.counts["negative"]

    # gaps: missing (meter, ts) pairs among valid stamps
    present = parsed.filter(pl.col("aware").is_not_null()).select("meter_id", pl.col("aware").alias("ts")).unique()
    clean_keys = autumn.select("meter_id", "ts")
    missing = clean_keys.join(present, on=["meter_id", "ts"], how="anti")
    assert missing.height == report.counts["gaps"] + report.counts["dst"] + report.details["garbage_ts"]

    # late: the file ends with rows that go back in time
    tail = parsed.tail(per_kind)
    assert tail["aware"].null_count() == 0
    assert tail["aware"].min() < parsed.head(raw.height - per_kind)["aware"].max()
    assert report.expected_quarantine == per_kind * 3 + report.details["dst_ambiguous"]


def test_spring_dst_writes_times_that_do_not_exist():
    spring = simulate_site(HOUSEHOLD, datetime(2026, 3, 28, tzinfo=BERLIN), datetime(2026, 3, 31, tzinfo=BERLIN))
    spring = spring.filter(pl.col("meter_id") == "main")  # the counts below are for one meter
    raw, report = inject_faults(spring, ["dst"], seed=1)
    naive = raw.filter(~pl.col("ts").str.contains(r"\+00:00$"))
    assert naive.height == report.counts["dst"] == 16
    assert report.details["dst_nonexistent"] == 4
    assert sorted(t for t in naive["ts"] if "T02:" in t) == [f"2026-03-29T02:{m:02d}:00" for m in (0, 15, 30, 45)]


def test_faults_are_reproducible(autumn):
    first, _ = inject_faults(autumn, ["gaps", "spikes", "late"], seed=4)
    second, _ = inject_faults(autumn, ["gaps", "spikes", "late"], seed=4)
    third, _ = inject_faults(autumn, ["gaps", "spikes", "late"], seed=5)
    assert first.equals(second) and not first.equals(third)


# --- market ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prices_2026() -> pl.DataFrame:
    return simulate_day_ahead_prices("DE-LU", date(2026, 1, 1), date(2026, 12, 31))


def test_market_schema_and_dst_day_lengths():
    hourly = simulate_day_ahead_prices("DE-LU", date(2026, 3, 28), date(2026, 3, 29))
    assert dict(hourly.schema) == PRICE_SCHEMA
    assert hourly["ts"][0] == datetime(2026, 3, 27, 23, tzinfo=UTC)
    for day, hours in [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 7, 1), 24)]:
        assert simulate_day_ahead_prices("DE-LU", day, day).height == hours
        assert simulate_day_ahead_prices("DE-LU", day, day, resolution_minutes=15).height == 4 * hours
    assert set(hourly["source"]) == {"sim"} and set(hourly["zone"]) == {"DE-LU"}


def test_market_levels_shapes_and_limits(prices_2026):
    p = local(prices_2026).with_columns(
        pl.col("ts").dt.convert_time_zone("Europe/Berlin").dt.weekday().alias("weekday")
    )
    values = p["eur_per_mwh"]
    assert values.min() >= MIN_PRICE and values.max() <= MAX_PRICE
    assert 40 < values.mean() < 120
    winter = p.filter(pl.col("month").is_in([1, 2, 12]))["eur_per_mwh"].mean()
    summer = p.filter(pl.col("month").is_in([6, 7, 8]))["eur_per_mwh"].mean()
    assert winter > summer
    weekend = p.filter(pl.col("weekday") >= 6)["eur_per_mwh"].mean()
    assert weekend < p.filter(pl.col("weekday") <= 5)["eur_per_mwh"].mean()
    by_hour = dict(p.group_by("hour").agg(pl.col("eur_per_mwh").mean()).iter_rows())
    assert by_hour[19] > by_hour[13] and by_hour[8] > by_hour[3]  # evening and morning peaks, solar dip
    negative = p.filter(pl.col("eur_per_mwh") < 0)
    assert 100 < negative.height < 1000
    spring_summer = negative.filter(pl.col("month").is_between(4, 8))
    assert spring_summer.filter(pl.col("hour").is_between(10, 16)).height > 0.5 * spring_summer.height
    assert values.max() > 2 * values.mean()  # scarcity spikes exist


def test_quarter_hours_average_to_the_hour():
    hourly = simulate_day_ahead_prices("DE-LU", date(2026, 3, 27), date(2026, 3, 30))
    quarters = simulate_day_ahead_prices("DE-LU", date(2026, 3, 27), date(2026, 3, 30), resolution_minutes=15)
    means = quarters.group_by(pl.col("ts").dt.truncate("1h")).agg(pl.col("eur_per_mwh").mean()).sort("ts")
    joined = hourly.join(means, on="ts", suffix="_q")
    assert joined.height == hourly.height
    assert (joined["eur_per_mwh"] - joined["eur_per_mwh_q"]).abs().max() <= 0.01
    assert quarters["eur_per_mwh"].n_unique() > hourly["eur_per_mwh"].n_unique() * 2  # real intra-hour shape


@pytest.mark.parametrize("resolution", [60, 15])
def test_market_is_reproducible_across_windows(resolution):
    long = simulate_day_ahead_prices("DE-LU", date(2026, 5, 1), date(2026, 5, 31), resolution, seed=3)
    short = simulate_day_ahead_prices("DE-LU", date(2026, 5, 10), date(2026, 5, 10), resolution, seed=3)
    joined = short.join(long, on="ts", suffix="_long")
    assert joined.height == short.height and (joined["eur_per_mwh"] == joined["eur_per_mwh_long"]).all()
    other = simulate_day_ahead_prices("DE-LU", date(2026, 5, 10), date(2026, 5, 10), resolution, seed=4)
    assert not other["eur_per_mwh"].equals(short["eur_per_mwh"])


def test_market_rejects_bad_arguments():
    with pytest.raises(ValueError, match="DE-LU"):
        simulate_day_ahead_prices("XX", date(2026, 1, 1), date(2026, 1, 1))
    with pytest.raises(ValueError, match="15 or 60"):
        simulate_day_ahead_prices("DE-LU", date(2026, 1, 1), date(2026, 1, 1), resolution_minutes=30)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="before"):
        simulate_day_ahead_prices("DE-LU", date(2026, 1, 2), date(2026, 1, 1))


# --- command line ------------------------------------------------------------------------


def test_smart_meter_cli_writes_faulty_csv_and_clean_parquet(tmp_path):
    from sim.simulate_smart_meter import app

    runner = CliRunner()
    out = tmp_path / "office.csv"
    result = runner.invoke(
        app,
        [
            "--tenant",
            "office",
            "--start",
            "2026-10-24",
            "--days",
            "2",
            "--faults",
            "duplicates,dst,garbage",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    raw = pl.read_csv(out, infer_schema=False)
    assert raw.columns == ["meter_id", "ts", "kwh", "quality"]
    assert raw.height == 3 * (96 + 100) + 6  # 24 h + 25 h (fall back) per meter, + 1 % duplicates
    parquet = tmp_path / "bakery.parquet"
    result = runner.invoke(app, ["--tenant", "bakery", "--days", "1", "--out", str(parquet)])
    assert result.exit_code == 0, result.output
    assert dict(pl.read_parquet(parquet).schema) == READING_SCHEMA


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x.json"], "unknown output format"),
        (["--tenant", "nobody", "--out", "x.csv"], "unknown site"),
        (["--faults", "gaps,meteor", "--out", "x.csv"], "valid: gaps"),
        (["--start", "soon", "--out", "x.csv"], "ISO"),
    ],
)
def test_smart_meter_cli_errors_are_one_line(tmp_path, monkeypatch, args, message):
    from sim.simulate_smart_meter import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_market_cli(tmp_path):
    from sim.simulate_market_prices import app

    out = tmp_path / "prices.csv"
    result = CliRunner().invoke(
        app, ["--start", "2026-10-25", "--end", "2026-10-25", "--resolution", "15", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    prices = pl.read_csv(out, infer_schema=False)
    assert prices.height == 100 and prices["ts"][0] == "2026-10-24T22:00:00+00:00"
    bad = CliRunner().invoke(app, ["--resolution", "30", "--out", str(out)])
    assert bad.exit_code == 1 and "15 or 60" in bad.output


# --- live MQTT ---------------------------------------------------------------------------


def _broker_up(host: str = "127.0.0.1", port: int = 1883) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _broker_up(), reason="no MQTT broker at 127.0.0.1:1883")
def test_mqtt_publisher_continues_the_simulated_history():
    import paho.mqtt.client as mqtt

    from sim.mqtt_publisher import publish_live

    received: list[tuple[str, dict]] = []
    subscriber = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sim-{uuid.uuid4().hex[:6]}"
    )
    subscriber.on_message = lambda client, userdata, message: received.append(
        (message.topic, json.loads(message.payload))
    )
    subscriber.connect("127.0.0.1", 1883)
    subscriber.subscribe("luna/office/meters/+/readings", qos=1)
    subscriber.loop_start()
    time.sleep(0.3)
    start = datetime.now(UTC) - timedelta(hours=3)
    try:
        sent = publish_live(
            "127.0.0.1", 1883, [OFFICE], seed=42, interval_s=0.5, speedup=7200, stop_after=2, start=start
        )
        deadline = time.monotonic() + 5
        while len(received) < sent and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        subscriber.loop_stop()
        subscriber.disconnect()
    assert sent == 2 * len(OFFICE.meters) == len(received)
    topics = {topic for topic, _ in received}
    assert topics == {f"luna/office/meters/{m.meter_id}/readings" for m in OFFICE.meters}
    first = min(datetime.fromisoformat(p["ts"]) for _, p in received)
    expected = simulate_site(OFFICE, first, first + timedelta(minutes=30))
    for topic, payload in received:
        assert set(payload) == {"ts", "kwh", "quality"} and payload["ts"].endswith("+00:00")
        meter = topic.split("/")[3]
        row = expected.filter((pl.col("meter_id") == meter) & (pl.col("ts") == datetime.fromisoformat(payload["ts"])))
        assert row["kwh"].item() == payload["kwh"]


@pytest.mark.skipif(not _broker_up(), reason="no MQTT broker at 127.0.0.1:1883")
def test_a_live_publisher_sends_a_quarter_as_soon_as_it_completes():
    """At real speed the publisher's clock starts at its start instant, not at the quarter before it:
    started 2 s before a quarter ends, it sends that quarter about 2 s later (started from the floor,
    it waited a whole quarter hour: live readings arrived up to 15 minutes late)."""
    import threading

    from luna_core.simulation.timegrid import floor_quarter
    from sim.mqtt_publisher import publish_live

    quarter_end = floor_quarter(datetime.now(UTC)) - timedelta(hours=1)
    sent: list[int] = []
    worker = threading.Thread(
        target=lambda: sent.append(
            publish_live(
                "127.0.0.1",
                1883,
                [OFFICE],
                seed=42,
                interval_s=0.5,
                speedup=1,
                stop_after=2,
                start=quarter_end - timedelta(seconds=2),
            )
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the completed quarter was not sent within a minute of its end"
    assert sent == [2 * len(OFFICE.meters)]


# --- speed -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_meter_year_takes_well_under_a_second():
    sites = bench_sites(10, meters_per_tenant=5)
    simulate_many(sites[:1], YEAR_START, YEAR_END)  # warm the profile and weather caches
    started = time.perf_counter()
    frame = simulate_many(sites, YEAR_START, YEAR_END)
    elapsed = time.perf_counter() - started
    assert frame.height == 50 * 35040
    assert elapsed / 50 < 0.25
