"""Load forecasting: features, baselines, model, backtest and anonymised global model (no database)."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import cloudpickle
import numpy as np
import polars as pl
import pytest

from luna_core.forecasting.anonymise import GlobalModel, anonymise_profile, anonymised_columns
from luna_core.forecasting.backtest import backtest, backtest_window, rolling_origins
from luna_core.forecasting.baselines import MeanProfile, Persistence, SeasonalNaive
from luna_core.forecasting.features import aggregate_load, build_features, calendar_parts, to_resolution
from luna_core.forecasting.model import LoadModel
from luna_core.simulation.meters import simulate_site, temperature_series
from luna_core.simulation.sites import DEMO_SITES_BY_ID, SiteSpec, bench_site

BERLIN = ZoneInfo("Europe/Berlin")
LOAD_KINDS = ("consumption", "ev", "heat_pump")


def site_load(site: SiteSpec, start: datetime, end: datetime, seed: int = 42) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Hourly load (every meter but PV and battery) and the site's TRY temperature."""
    readings = simulate_site(site, start, end, seed=seed)
    meters = [m.meter_id for m in site.meters if m.kind in LOAD_KINDS]
    return aggregate_load(readings, meters), temperature_series(site, start, end)


def hourly(start: datetime, values: np.ndarray) -> pl.DataFrame:
    ts = pl.datetime_range(
        start, start + timedelta(hours=len(values) - 1), "1h", time_zone="UTC", time_unit="us", eager=True
    )
    return pl.DataFrame({"ts": ts, "kwh": values.astype(float)})


@pytest.fixture(scope="module")
def office() -> tuple[pl.DataFrame, pl.DataFrame]:
    return site_load(DEMO_SITES_BY_ID["office"], datetime(2025, 1, 6, tzinfo=UTC), datetime(2025, 5, 12, tzinfo=UTC))


# -- the model against the baselines ------------------------------------------------------------


def test_office_model_beats_seasonal_naive_and_persistence(office: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    load, temps = office
    report = backtest(load, temps, "BE", min_history_days=56, step_days=2, retrain_every=12)
    table = report.table()
    assert set(table["method"]) == {"persistence", "seasonal_naive", "mean_profile", "model"}
    assert table["n_origins"].min() >= 30 and table["n_points"].n_unique() == 1  # same targets for all
    assert report.skill("seasonal_naive") == pytest.approx(0.0)
    assert report.skill("model") > 0.1, table
    assert report.mae("model") < report.mae("persistence"), table
    scored = report.predictions.filter(pl.col("method") == "model")
    assert report.nmae("model") == pytest.approx(report.mae("model") / scored["kwh"].mean())
    assert report.predictions["kwh_pred"].min() >= 0


def test_exactly_repeating_week_is_free_for_seasonal_naive() -> None:
    rng = np.random.default_rng(3)
    week = rng.uniform(0.5, 20.0, 168)
    # June to August: no DST change, so a UTC-weekly pattern is also local-weekly.
    load = hourly(datetime(2025, 6, 2, tzinfo=UTC), np.tile(week, 12))
    report = backtest(load, None, "BE", min_history_days=35, step_days=3, retrain_every=100)
    assert report.mae("seasonal_naive") < 1e-9
    assert report.mae("mean_profile") < 1e-9
    assert report.mae("persistence") > 1.0  # the week does differ from day to day
    assert report.nmae("model") < 0.1
    assert report.predictions["kwh_pred"].min() >= 0


def test_constant_series_is_exact_for_every_method() -> None:
    load = hourly(datetime(2025, 2, 3, tzinfo=UTC), np.full(24 * 60, 7.25))
    report = backtest(load, None, "BY", min_history_days=30, step_days=5)
    assert report.table()["mae"].max() < 1e-9, report.table()


def test_predictions_are_never_negative() -> None:
    rng = np.random.default_rng(11)
    hours = np.arange(24 * 70)
    # Mostly zero with sharp bursts, falling over time: a tree fit in kWh could undershoot zero.
    values = np.where(rng.random(len(hours)) < 0.15, rng.uniform(0, 30, len(hours)), 0.0) * np.linspace(
        1, 0.2, len(hours)
    )
    load = hourly(datetime(2025, 3, 3, tzinfo=UTC), values)
    origin = datetime(2025, 4, 28, 22, tzinfo=UTC)
    for mode in ("absolute", "ratio"):
        model = LoadModel(mode=mode).fit(load.filter(pl.col("ts") < origin))
        assert model.predict(origin, hours=48, history=load)["kwh_pred"].min() >= 0


# -- leakage --------------------------------------------------------------------------------------


def test_data_at_or_after_the_origin_never_changes_a_forecast(office: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    load, temps = office
    origin = datetime(2025, 4, 8, 22, tzinfo=UTC)  # local midnight
    scrambled = load.with_columns(
        pl.when(pl.col("ts") >= origin).then(pl.col("kwh") * 50 + 123).otherwise(pl.col("kwh")).alias("kwh")
    )
    model = LoadModel().fit(load.filter(pl.col("ts") < origin), temps.filter(pl.col("ts") < origin), "BE")
    clean = model.predict(origin, 24, temps, history=load)
    dirty = model.predict(origin, 24, temps, history=scrambled)
    assert clean.equals(dirty)

    # The whole backtest too: every method, refit at the origin, on the clean and scrambled series.
    a = backtest(load, temps, "BE", origins=[origin]).predictions
    b = backtest(scrambled, temps, "BE", origins=[origin]).predictions
    assert a["kwh_pred"].to_list() == b["kwh_pred"].to_list()


def test_features_never_read_load_closer_than_24h(office: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    load, _ = office
    target = datetime(2025, 3, 12, 9, tzinfo=UTC)
    columns = None
    before = build_features(load, None, "BE").filter(pl.col("ts") == target).drop("kwh")
    for hours_before in (0, 1, 12, 23):
        moment = target - timedelta(hours=hours_before)
        bumped = load.with_columns(
            pl.when(pl.col("ts") == moment).then(pl.col("kwh") + 1000).otherwise(pl.col("kwh")).alias("kwh")
        )
        after = build_features(bumped, None, "BE").filter(pl.col("ts") == target).drop("kwh")
        assert after.equals(before), f"a feature reads the load {hours_before} h before its target"
        columns = after.columns
    # ... while 24 h before is exactly the first thing it may read.
    bumped = load.with_columns(
        pl.when(pl.col("ts") == target - timedelta(hours=24)).then(pl.col("kwh") + 1000).otherwise(pl.col("kwh"))
    )
    assert not build_features(bumped, None, "BE").filter(pl.col("ts") == target).select(columns).equals(before)


# -- time zones -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "points", "local_hours"),
    [
        (date(2025, 3, 30), 23, [0, 1, *range(3, 24)]),
        (date(2025, 10, 26), 25, [0, 1, 2, 2, *range(3, 24)]),
        (date(2025, 6, 15), 24, list(range(24))),
    ],
)
def test_a_local_day_forecast_has_23_24_or_25_hours(day: date, points: int, local_hours: list[int]) -> None:
    site = DEMO_SITES_BY_ID["household"]
    start = datetime.combine(day - timedelta(days=35), datetime.min.time(), tzinfo=UTC)
    load, temps = site_load(site, start, start + timedelta(days=37))
    origin = datetime.combine(day, datetime.min.time(), tzinfo=BERLIN).astimezone(UTC)
    model = LoadModel().fit(load.filter(pl.col("ts") < origin), temps.filter(pl.col("ts") < origin), site.state)
    forecast = model.predict_day(day, temperature_future=temps)
    assert forecast.height == points
    assert forecast["ts"][0] == origin
    assert forecast["ts"].diff().drop_nulls().unique().to_list() == [timedelta(hours=1)]
    assert forecast["ts"].dt.convert_time_zone("Europe/Berlin").dt.hour().to_list() == local_hours
    # Features follow the local clock too.
    features = build_features(load, temps, site.state).filter(
        pl.col("ts").dt.convert_time_zone("Europe/Berlin").dt.date() == day
    )
    assert features["hour"].to_list() == local_hours
    assert features["weekday"].unique().to_list() == [day.weekday()]


def test_holidays_follow_the_tenants_state() -> None:
    ts = pl.Series([datetime(2025, 1, 6, 10, tzinfo=UTC), datetime(2025, 10, 31, 10, tzinfo=UTC)]).dt.cast_time_unit(
        "us"
    )
    # Epiphany is a holiday in Bavaria, Reformation Day in Brandenburg; neither in Berlin.
    flags = {state: calendar_parts(ts, "Europe/Berlin", state)["is_holiday"].to_list() for state in ("BY", "BB", "BE")}
    assert flags == {"BY": [True, False], "BB": [False, True], "BE": [False, False]}
    # Other countries work too (the public benchmark series is from Victoria, Australia).
    melbourne_cup = pl.Series([datetime(2014, 11, 4, 2, tzinfo=UTC)]).dt.cast_time_unit("us")
    assert calendar_parts(melbourne_cup, "Australia/Brisbane", "VIC", country="AU")["is_holiday"].to_list() == [True]


def test_quarter_hour_resolution() -> None:
    site = DEMO_SITES_BY_ID["bakery"]
    start = datetime(2025, 9, 1, tzinfo=UTC)
    readings = simulate_site(site, start, start + timedelta(days=30))
    load = aggregate_load(readings, ["main", "heat-pump"], resolution="15min")
    features = build_features(load, None, site.state, resolution="15min")
    assert features["quarter"].unique().sort().to_list() == [0, 1, 2, 3]
    origin = start + timedelta(days=28)
    model = LoadModel(resolution="15min").fit(load.filter(pl.col("ts") < origin), None, site.state)
    forecast = model.predict(origin, 24, history=load)
    assert forecast.height == 96 and forecast["kwh_pred"].min() >= 0
    # An hour is the sum of its quarters; one missing quarter makes the hour unknown, not low.
    hours = to_resolution(load.filter(pl.col("ts") != start + timedelta(minutes=15)), "hour")
    assert hours["kwh"][0] is None
    assert hours["kwh"][1] == pytest.approx(load["kwh"][4:8].sum())


# -- baselines ------------------------------------------------------------------------------------


def test_baselines_look_back_a_day_a_week_or_average_the_slot() -> None:
    start = datetime(2025, 6, 2, tzinfo=UTC)  # a Monday
    values = np.arange(24 * 21, dtype=float)
    history = hourly(start, values)
    targets = pl.Series([start + timedelta(days=21, hours=5), start + timedelta(days=22, hours=5)]).dt.cast_time_unit(
        "us"
    )
    assert Persistence().predict(history, targets).tolist() == [values[20 * 24 + 5], values[20 * 24 + 5]]
    assert SeasonalNaive().predict(history, targets).tolist() == [values[14 * 24 + 5], values[15 * 24 + 5]]
    profile = MeanProfile(timezone="UTC", window_days=None).predict(history, targets)
    assert profile.tolist() == [
        np.mean(values[[5, 7 * 24 + 5, 14 * 24 + 5]]),
        np.mean(values[[29, 7 * 24 + 29, 14 * 24 + 29]]),
    ]
    # A gap falls back one more period instead of failing.
    gappy = history.filter(pl.col("ts") != start + timedelta(days=14, hours=5))
    assert SeasonalNaive().predict(gappy, targets[:1]).tolist() == [values[7 * 24 + 5]]


# -- model metadata and model comparison ----------------------------------------------------------


def test_model_pickles_and_describes_itself(office: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    load, temps = office
    origin = datetime(2025, 3, 2, 23, tzinfo=UTC)
    model = LoadModel().fit(load.filter(pl.col("ts") < origin), temps.filter(pl.col("ts") < origin), "BE")
    expected = model.predict(origin, 24, temps)
    for dumps, loads in ((pickle.dumps, pickle.loads), (cloudpickle.dumps, cloudpickle.loads)):
        assert loads(dumps(model)).predict(origin, 24, temps).equals(expected)
    info = json.loads(json.dumps(model.describe()))
    assert "lag_24h" in info["features"] and "temp_c" in info["features"]
    assert info["params"]["random_state"] == 0
    assert info["training_window"]["end"] == "2025-03-02T22:00:00+00:00"
    with pytest.raises(ValueError, match="temperature"):
        model.predict(origin + timedelta(days=30), 24)  # the stored temperature does not reach that far


def test_backtest_window_compares_two_models_on_the_same_origins(office: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    load, temps = office
    cut = datetime(2025, 3, 31, 22, tzinfo=UTC)
    past, past_temps = load.filter(pl.col("ts") < cut), temps.filter(pl.col("ts") < cut)
    champion = LoadModel().fit(past.filter(pl.col("ts") >= cut - timedelta(days=14)), past_temps, "BE")
    challenger = LoadModel().fit(past, past_temps, "BE")
    origins = rolling_origins(load.filter(pl.col("ts") >= cut), min_history_days=0, step_days=2)
    report = backtest_window(load, temps, origins, {"champion": champion, "challenger": challenger})
    per_method = report.predictions.group_by("method").agg(pl.col("origin").unique().sort(), pl.col("ts").sort())
    assert per_method["origin"].to_list().count(per_method["origin"][0].to_list()) == per_method.height
    assert per_method["ts"].to_list().count(per_method["ts"][0].to_list()) == per_method.height
    assert report.beats("challenger", "champion") == (report.mae("challenger") < report.mae("champion"))
    assert report.mae("challenger") < report.mae("champion")  # ten weeks of data beat two


# -- anonymisation and the global model -----------------------------------------------------------


def test_anonymised_profile_has_only_shape_and_calendar(office: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    load, temps = office
    tagged = load.with_columns(pl.lit("office").alias("tenant_id"), pl.lit("main").alias("meter_id"))
    profile = anonymise_profile(tagged, temps, "BE")
    assert profile.columns == list(anonymised_columns("hour", with_temperature=True))
    assert set(profile.columns) == {"step", "hour", "weekday", "day_of_year", "is_holiday", "temp_c", "shape"}
    assert not any(isinstance(dtype, pl.Datetime | pl.Date | pl.String) for dtype in profile.dtypes)
    assert profile["step"][0] == 0 and profile["shape"].mean() == pytest.approx(1.0)
    # No absolute kWh: a tenant ten times as large (or 3.7 times) gives the same frame.
    for factor in (10.0, 3.7):
        scaled = anonymise_profile(tagged.with_columns(pl.col("kwh") * factor), temps, "BE")
        assert scaled.drop("shape").equals(profile.drop("shape"))
        np.testing.assert_allclose(scaled["shape"].to_numpy(), profile["shape"].to_numpy(), rtol=1e-12)
    assert not np.isin(load["kwh"].drop_nulls().to_numpy(), profile["shape"].to_numpy()).all()


@pytest.fixture(scope="module")
def global_model() -> GlobalModel:
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    profiles = []
    for index in range(12):  # synthetic tenants, none of them a demo tenant
        site = bench_site(index, index % 5 + 1)
        load, temps = site_load(site, start, end, seed=1000 + index)
        profiles.append(anonymise_profile(load, temps, site.state))
    return GlobalModel().fit(profiles)


def test_global_model_beats_local_only_with_a_week_of_history(global_model: GlobalModel) -> None:
    site = DEMO_SITES_BY_ID["bakery"]  # a heat pump: a week cannot teach its temperature response
    load, temps = site_load(site, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    maes: dict[str, list[float]] = {"global": [], "local": []}
    actual = []
    for month in range(2, 12, 2):
        origin = datetime(2025, month, 10, tzinfo=BERLIN).astimezone(UTC)
        week = load.filter((pl.col("ts") < origin) & (pl.col("ts") >= origin - timedelta(days=7)))
        known_temps = temps.filter(pl.col("ts") < origin)
        models = {
            "global": global_model.scale_to(week, known_temps, site.state),
            "local": LoadModel().fit(week, known_temps, site.state),
        }
        report = backtest_window(load, temps, [origin], models)
        for name in models:
            maes[name].append(report.mae(name))
        actual.append(report.predictions["kwh"].mean())
    nmae = {name: float(np.mean(values) / np.mean(actual)) for name, values in maes.items()}
    assert nmae["global"] < 0.2, nmae  # sensible: within a fifth of the mean load
    assert nmae["global"] < nmae["local"], nmae
    assert global_model.scale_to(week, known_temps, site.state).describe()["source"] == "global"
