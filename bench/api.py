"""API latency against the bare SQL that answers the same question, measured in the same run.

Loads N tenants x 1 year of hourly readings (one consumption meter each) plus a year of
prices, starts the real API under uvicorn, logs in, and times
``/readings/aggregate?bucket=hour`` for one tenant-month and one tenant-year over HTTP, then
the same aggregate SQL run directly (same tenant scope, same statement). Prints p50/p95 of
each (and the server's own share from its ``Server-Timing`` header) and, last,
``api_vs_sql_p95_ratio=<x>``, the worse of the two questions.

The timed requests go through the standard library's ``http.client`` on one kept-alive
connection: the thinnest Python client, so the figure is the API's cost and not the client's
(httpx's pure-Python HTTP parser added about 1 ms to a month's 100 kB answer).

    python bench/api.py                 # 100 tenants
    python bench/api.py --tenants 10 --repeat 20
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import polars as pl
from harness import free_port, scratch_settings, wait_ready
from rich.console import Console
from sqlalchemy import text

from luna_core.db import migrate
from luna_core.db.copy import copy_frame
from luna_core.db.engine import app_engine, owner_engine
from luna_core.db.tenancy import tenant_scope
from luna_core.energy.queries import AGGREGATE_SQL, BUCKETS
from luna_core.settings import Settings
from luna_core.simulation.market import simulate_day_ahead_prices
from luna_core.simulation.sites import MeterSpec
from luna_core.tenants import create_tenant
from luna_core.users import create_user

YEAR_START, YEAR_END = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
MONTH = (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))
PASSWORD = "correct horse battery"
console = Console(stderr=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=50, help="requests per question")
    args = parser.parse_args()
    with scratch_settings("luna_bench_api") as settings:
        run(settings, args)


def load(settings: Settings, tenants: int) -> str:
    owner, app = owner_engine(settings), app_engine(settings)
    migrate.upgrade(owner, settings.app_db_role)
    hours = pl.datetime_range(YEAR_START, YEAR_END, "1h", closed="left", eager=True, time_zone="UTC")
    frames = []
    for index in range(tenants):
        tenant = f"bench-{index:03d}"
        create_tenant(app, tenant, tenant, meter_specs=(MeterSpec("main", "consumption", max_kw=50.0),))
        frames.append(
            pl.DataFrame({"tenant_id": tenant, "meter_id": "main", "ts": hours}).with_columns(
                kwh=(pl.col("ts").dt.hour().cast(pl.Float64) / 10 + index / 100), quality=pl.lit("measured")
            )
        )
    prices = simulate_day_ahead_prices("DE-LU", YEAR_START.date(), YEAR_END.date())
    with owner.begin() as connection:
        connection.execute(text("SELECT luna_ensure_reading_partitions(:a, :b)"), {"a": YEAR_START, "b": YEAR_END})
        connection.execute(text("SET LOCAL row_security = off"))
        copy_frame(connection, "meter_readings", pl.concat(frames))
        copy_frame(
            connection, "market_prices", prices.select("zone", "ts", "resolution_minutes", "eur_per_mwh", "source")
        )
        connection.execute(text("ANALYZE meter_readings; ANALYZE market_prices"))
    tenant = "bench-000"
    with tenant_scope(app, tenant) as connection:
        create_user(connection, tenant, "bench@bench-000.example.com", PASSWORD, "customer")
    console.print(f"loaded {tenants} tenants x {len(hours)} hourly readings and {prices.height} prices")
    return tenant


def run(settings: Settings, args: argparse.Namespace) -> None:
    tenant = load(settings, args.tenants)
    port = free_port()
    env = {
        **os.environ,
        "LUNA_DATABASE_URL": settings.database_url,
        "LUNA_JWT_SECRET": settings.jwt_secret,
        "LUNA_ENVIRONMENT": "prod",
        "LUNA_API_PORT": str(port),
    }
    api = subprocess.Popen(
        [sys.executable, "-m", "luna_cli.main", "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            wait_ready(client)
            token = client.post("/auth/token", data={"username": "bench@bench-000.example.com", "password": PASSWORD})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        server: list[float] = []
        results = {"http_floor": _time(args.repeat, lambda: _get(connection, "/health", {}, server))}
        for label, (start, end) in (("month", MONTH), ("year", (YEAR_START, YEAR_END))):
            query = urlencode({"start": start.isoformat(), "end": end.isoformat(), "bucket": "hour"})
            server.clear()
            api_samples, sql_samples = _time_pairs(
                args.repeat,
                lambda q=query: _get(connection, f"/readings/aggregate?{q}", headers, server),
                lambda s=start, e=end: _sql(settings, tenant, s, e),
            )
            results[f"api_{label}"], results[f"sql_{label}"] = api_samples, sql_samples
            results[f"server_{label}"] = server[1:]  # without the warm-up request
        connection.close()
    finally:
        api.terminate()
        api.wait(timeout=10)
    for key, samples in results.items():
        print(f"{key}_p50_ms={_pct(samples, 50):.1f} {key}_p95_ms={_pct(samples, 95):.1f}")
    month = _pct(results["api_month"], 95) / _pct(results["sql_month"], 95)
    year = _pct(results["api_year"], 95) / _pct(results["sql_year"], 95)
    print(f"api_vs_sql_p95_ratio_month={month:.2f}")
    print(f"api_vs_sql_p95_ratio_year={year:.2f}")
    # The headline is the worse of the two questions.
    print(f"api_vs_sql_p95_ratio={max(month, year):.2f}")


def _get(connection: http.client.HTTPConnection, path: str, headers: dict, server: list[float]) -> None:
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()  # the body has arrived; parsing it is the client's cost, not the API's
    if response.status != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status}")
    timing = response.getheader("server-timing", "")
    if timing.startswith("app;dur="):
        server.append(float(timing.removeprefix("app;dur=")))


def _sql(settings: Settings, tenant: str, start: datetime, end: datetime) -> None:
    with tenant_scope(app_engine(settings), tenant) as connection:
        connection.execute(
            AGGREGATE_SQL, {"tenant": tenant, "unit": BUCKETS["hour"], "start": start, "end": end, "meter": None}
        ).all()


def _time(repeat: int, call) -> list[float]:
    call()  # warm caches and connections: steady state is what is compared
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def _time_pairs(repeat: int, first, second) -> tuple[list[float], list[float]]:
    """Alternates the two calls, so both see the same moments of a busy machine."""
    first_samples, second_samples = [], []
    first(), second()  # warm caches and connections
    for _ in range(repeat):
        for call, samples in ((first, first_samples), (second, second_samples)):
            began = time.perf_counter()
            call()
            samples.append((time.perf_counter() - began) * 1000)
    return first_samples, second_samples


def _pct(samples: list[float], pct: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[pct - 1] if len(samples) > 1 else samples[0]


if __name__ == "__main__":
    main()
