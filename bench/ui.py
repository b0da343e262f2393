"""Dashboard speed in headless Chromium (Debian's /usr/bin/chromium, Playwright as the driver).

Loads one tenant with two years of 15-minute readings (site load and PV) up to now, hourly prices
and a year of hourly forecasts, starts the real API (which serves the built dashboard) under
uvicorn, and times the first meaningful paint of:

- Home: from navigation start until today's chart (drawn after the KPIs arrive) is on screen;
- the smart meter with a year at 15 minutes, compared with the year before, forecast overlaid
  (about 35k points per series, over 100k on one chart): until that chart is drawn.

Each page loads in a fresh browser context (cold cache, signed in). The baseline measured in the
same run is bare uPlot drawing the same number of points from memory in the same browser (no
network, no React): the floor any page with that chart can reach. Also prints the built bundle
size (gzip). Last line: ``ui_meter_page_ms=<median>``.

    python bench/ui.py              # make bench-ui
    python bench/ui.py --runs 3
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import polars as pl
from harness import free_port, scratch_settings
from rich.console import Console
from sqlalchemy import text

from luna_core.db import migrate
from luna_core.db.copy import copy_frame
from luna_core.db.engine import app_engine, owner_engine
from luna_core.db.tenancy import tenant_scope
from luna_core.energy.kpis import compute_tenant_kpis, store_tenant_kpis
from luna_core.forecasting.store import write_forecasts
from luna_core.settings import Settings
from luna_core.simulation.sites import MeterSpec
from luna_core.tenants import create_tenant
from luna_core.users import create_user

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "luna_ui" / "dist"
UPLOT = ROOT / "luna_ui" / "node_modules" / "uplot" / "dist" / "uPlot.iife.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TENANT, EMAIL, PASSWORD = "bench-ui", "bench@bench-ui.example.com", "correct horse battery"
METER_VIEW = "/consumption?bucket=15min&range=year&compare=previous_year"
METER_DAY_VIEW = "/consumption?bucket=15min&range=day&compare=previous_year"  # same page, 96 points a series
console = Console(stderr=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="measured page loads per page (after one warm-up)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit("bench/ui.py needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    if not (DIST / "index.html").exists():
        sys.exit("the dashboard is not built: run `make ui`")
    with scratch_settings("luna_bench_ui") as settings:
        run(settings, args.runs)


def load(settings: Settings) -> None:
    owner, app = owner_engine(settings), app_engine(settings)
    migrate.upgrade(owner, settings.app_db_role)
    create_tenant(
        app,
        TENANT,
        "Benchmark household",
        meter_specs=(MeterSpec("main", "consumption", max_kw=30.0), MeterSpec("pv", "pv", max_kw=10.0)),
    )
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    end -= timedelta(minutes=end.minute % 15)
    start = end - timedelta(days=2 * 366)
    quarters = pl.datetime_range(start, end, "15m", closed="left", eager=True, time_zone="UTC")
    hour = quarters.dt.hour().cast(pl.Float64) + quarters.dt.minute().cast(pl.Float64) / 60
    rng = np.random.default_rng(7)
    load_kwh = 0.2 + 0.15 * np.sin(hour.to_numpy() / 24 * 2 * np.pi) ** 2 + rng.uniform(0, 0.05, len(quarters))
    pv_kwh = np.clip(0.6 * np.sin((hour.to_numpy() - 6) / 12 * np.pi), 0, None)
    readings = pl.concat(
        [
            pl.DataFrame({"tenant_id": TENANT, "meter_id": "main", "ts": quarters, "kwh": load_kwh.round(4)}),
            pl.DataFrame({"tenant_id": TENANT, "meter_id": "pv", "ts": quarters, "kwh": pv_kwh.round(4)}),
        ]
    ).with_columns(quality=pl.lit("measured"))
    hours = pl.datetime_range(start, end + timedelta(days=2), "1h", closed="left", eager=True, time_zone="UTC")
    prices = pl.DataFrame(
        {
            "zone": "DE-LU",
            "ts": hours,
            "resolution_minutes": 60,
            "eur_per_mwh": (60 + 45 * np.sin(hours.dt.hour().to_numpy() / 24 * 2 * np.pi)).round(2),
            "source": "bench",
        },
        schema_overrides={"resolution_minutes": pl.Int16},
    )
    with owner.begin() as connection:
        connection.execute(text("SELECT luna_ensure_reading_partitions(:a, :b)"), {"a": start, "b": end})
        connection.execute(text("SET LOCAL row_security = off"))
        copy_frame(connection, "meter_readings", readings)
        copy_frame(connection, "market_prices", prices)
        connection.execute(text("ANALYZE meter_readings; ANALYZE market_prices"))
    year_hours = pl.datetime_range(end - timedelta(days=366), end, "1h", closed="left", eager=True, time_zone="UTC")
    predicted = pl.DataFrame({"ts": year_hours, "kwh_pred": np.full(len(year_hours), 1.1)})
    with tenant_scope(app, TENANT) as connection:
        create_user(connection, TENANT, EMAIL, PASSWORD, "customer")
        store_tenant_kpis(connection, compute_tenant_kpis(connection, TENANT))
        write_forecasts(connection, TENANT, predicted, "luna-bench-ui-load", "1")
    console.print(f"loaded {readings.height:,} readings, {prices.height:,} prices, {len(year_hours):,} forecasts")


def run(settings: Settings, runs: int) -> None:
    load(settings)
    port = free_port()
    env = {
        **os.environ,
        "LUNA_DATABASE_URL": settings.database_url,
        "LUNA_JWT_SECRET": settings.jwt_secret,
        "LUNA_ENVIRONMENT": "prod",
        "LUNA_UI_DIST_DIR": str(DIST),
    }
    api = subprocess.Popen(
        [sys.executable, "-m", "luna_cli.main", "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        session = _sign_in(base)
        results = _measure(base, session, runs)
    finally:
        api.terminate()
        api.wait(timeout=10)
    bundle = _bundle_sizes()
    for key, value in bundle.items():
        print(f"{key}={value}")
    for key, samples in results.items():
        if key.endswith("_points"):
            print(f"{key}={samples[0]}")
        else:
            print(f"{key}_median_ms={statistics.median(samples):.0f} {key}_max_ms={max(samples):.0f}")
    meter = statistics.median(results["meter_page"])
    # What a year of 15-minute data costs over the same page with one day (fetch, parse, align, draw).
    print(f"meter_year_vs_day_ratio={meter / statistics.median(results['meter_page_one_day']):.2f}")
    print(f"ui_home_ms={statistics.median(results['home_page']):.0f}")
    print(f"ui_meter_page_ms={meter:.0f}")


def _sign_in(base: str) -> dict:
    with httpx.Client(base_url=base, timeout=30) as client:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not become ready")
            time.sleep(0.3)
        tokens = client.post("/auth/token", data={"username": EMAIL, "password": PASSWORD})
        tokens.raise_for_status()
        body = tokens.json()
        return {"access": body["access_token"], "refresh": body["refresh_token"]}


def _measure(base: str, session: dict, runs: int) -> dict[str, list]:
    from playwright.sync_api import sync_playwright

    results: dict[str, list] = {
        "home_page": [],
        "meter_page": [],
        "meter_page_one_day": [],
        "bare_uplot": [],
        "meter_chart_points": [],
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for run in range(runs + 1):  # the first run warms the server and the database's caches
                home = _page_paint(browser, base, session, "/", "home-chart")
                meter = _page_paint(browser, base, session, METER_VIEW, "trend-chart")
                day = _page_paint(browser, base, session, METER_DAY_VIEW, "trend-chart")
                bare = _bare_uplot(browser, meter[1])
                if run:
                    results["home_page"].append(home[0])
                    results["meter_page"].append(meter[0])
                    results["meter_page_one_day"].append(day[0])
                    results["bare_uplot"].append(bare)
                console.print(
                    f"run {run}: home {home[0]} ms, meter year {meter[0]} ms ({meter[1]:,} points), "
                    f"meter day {day[0]} ms, bare uPlot {bare} ms"
                )
            results["meter_chart_points"].append(meter[1])
        finally:
            browser.close()
    return results


def _page_paint(browser, base: str, session: dict, path: str, chart: str) -> tuple[int, int]:
    """(ms from navigation start until the chart's data is on screen, points drawn)."""
    context = browser.new_context(base_url=base, locale="en-GB", viewport={"width": 1366, "height": 900})
    context.add_init_script(f"localStorage.setItem('luna.session', {json.dumps(json.dumps(session))})")
    page = context.new_page()
    try:
        page.goto(path)
        element = page.locator(f'[data-testid="{chart}"][data-drawn-ms]')
        element.wait_for(timeout=120_000)
        return int(element.get_attribute("data-drawn-ms")), int(element.get_attribute("data-points"))
    finally:
        context.close()


def _bare_uplot(browser, points: int) -> int:
    """uPlot alone drawing `points` values in three series, data already in memory."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    try:
        page.set_content("<div id=chart></div>")
        page.add_script_tag(content=UPLOT.read_text())
        return int(
            page.evaluate(
                """(points) => {
                  const n = Math.ceil(points / 3);
                  const xs = Float64Array.from({ length: n }, (_, i) => 1.7e9 + i * 900);
                  const ys = () => Float64Array.from({ length: n }, (_, i) => 0.3 + Math.sin(i / 96 * 6.283) * 0.1);
                  const data = [xs, ys(), ys(), ys()];
                  const series = [{}, { stroke: "blue" }, { stroke: "grey" }, { stroke: "orange" }];
                  return new Promise((resolve) => {
                    const t0 = performance.now();
                    const hooks = { draw: [() => resolve(performance.now() - t0)] };
                    new uPlot({ width: 1200, height: 320, series, hooks }, data, document.getElementById("chart"));
                  });
                }""",
                points,
            )
        )
    finally:
        page.close()


def _bundle_sizes() -> dict[str, str]:
    """Gzip sizes of what a first visit downloads (index.html's script and stylesheet) and of all assets."""
    index = (DIST / "index.html").read_text()
    initial = {DIST / m for m in re.findall(r'(?:src|href)="/(assets/[^"]+)"', index)}
    assets = sorted((DIST / "assets").iterdir())

    def gz(path: Path) -> int:
        return len(gzip.compress(path.read_bytes(), compresslevel=9))

    return {
        "ui_bundle_initial_gzip_kb": f"{sum(gz(p) for p in initial) / 1024:.1f}",
        "ui_bundle_total_gzip_kb": f"{sum(gz(p) for p in assets) / 1024:.1f}",
        "ui_bundle_files": str(len(assets)),
    }


if __name__ == "__main__":
    main()
