"""Sustained mixed API traffic from many simulated customers, on loopback, with real auth.

Loads N tenants (one customer account each, a month of 15-minute readings, hourly aggregates and
KPIs computed by the same core functions the assets use, a month of prices), starts the real API
under uvicorn (``luna api``, prod settings), and logs every customer in through ``/auth/token``.
Then, as a baseline in the same run, ``/health`` is driven at the same concurrency; then the mix:
daily and hourly aggregates, prices (with the cheapest slots), KPIs, meters, and ``/search`` when
the app's OpenAPI has it. Bounded: ``--seconds`` and ``--max-requests``, whichever comes first.
Prints throughput, p50/p95/p99 per route and overall, the error count, and last ``load_rps=<x>``
(sustained requests per second of the mix, reported only with zero errors; else the script fails).

    python bench/load.py                     # 50 customers, 16 concurrent, 20 s
    python bench/load.py --tenants 200 --concurrency 32 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import httpx
import polars as pl
from harness import free_port, scratch_settings, wait_ready
from rich.console import Console
from sqlalchemy import text

from luna_core.db import migrate
from luna_core.db.copy import copy_frame
from luna_core.db.engine import app_engine, owner_engine
from luna_core.db.tenancy import tenant_scope
from luna_core.energy.hourly import refresh_consumption_hourly
from luna_core.energy.kpis import compute_tenant_kpis, store_tenant_kpis
from luna_core.settings import Settings
from luna_core.simulation.market import simulate_day_ahead_prices
from luna_core.simulation.sites import MeterSpec
from luna_core.tenants import create_tenant
from luna_core.users import create_user

START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
PASSWORD = "load test password"
console = Console(stderr=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=50, help="simulated customers (one tenant each)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight at once")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of the mixed phase")
    parser.add_argument("--max-requests", type=int, default=20000, help="upper bound of the mixed phase")
    args = parser.parse_args()
    with scratch_settings("luna_bench_load") as settings:
        load(settings, args.tenants)
        run(settings, args)


def load(settings: Settings, tenants: int) -> None:
    owner, app = owner_engine(settings), app_engine(settings)
    migrate.upgrade(owner, settings.app_db_role)
    quarters = pl.datetime_range(START, END, "15m", closed="left", eager=True, time_zone="UTC")
    frames = []
    for index in range(tenants):
        tenant = f"load-{index:03d}"
        create_tenant(app, tenant, tenant, meter_specs=(MeterSpec("main", "consumption", max_kw=50.0),))
        frames.append(
            pl.DataFrame({"tenant_id": tenant, "meter_id": "main", "ts": quarters}).with_columns(
                kwh=(pl.col("ts").dt.hour().cast(pl.Float64) / 20 + index / 100), quality=pl.lit("measured")
            )
        )
    prices = simulate_day_ahead_prices("DE-LU", START.date(), END.date())
    with owner.begin() as connection:
        connection.execute(text("SELECT luna_ensure_reading_partitions(:a, :b)"), {"a": START, "b": END})
        connection.execute(text("SET LOCAL row_security = off"))
        copy_frame(connection, "meter_readings", pl.concat(frames))
        copy_frame(
            connection, "market_prices", prices.select("zone", "ts", "resolution_minutes", "eur_per_mwh", "source")
        )
    for index in range(tenants):
        tenant = f"load-{index:03d}"
        with tenant_scope(app, tenant) as connection:
            refresh_consumption_hourly(connection, tenant, full=True)
            kpis = compute_tenant_kpis(connection, tenant)
            if kpis is not None:
                store_tenant_kpis(connection, kpis)
            create_user(connection, tenant, f"customer@{tenant}.example.com", PASSWORD, "customer")
    with owner.begin() as connection:
        connection.execute(text("ANALYZE"))
    console.print(f"loaded {tenants} customers x {len(quarters)} quarter-hour readings, hourly, KPIs, prices")


def _mix(openapi: dict) -> list[tuple[str, str, dict | None, dict | None]]:
    """(label, path, params, json) of each kind of request, picked at random per request."""
    day = START + timedelta(days=random.randrange(27))
    week = (day.isoformat(), (day + timedelta(days=7)).isoformat())
    requests = [
        (
            "aggregate_day",
            "/readings/aggregate",
            {"start": START.isoformat(), "end": END.isoformat(), "bucket": "day"},
            None,
        ),
        ("aggregate_hour", "/readings/aggregate", {"start": week[0], "end": week[1], "bucket": "hour"}, None),
        ("prices", "/market/prices", {"start": week[0], "end": week[1], "cheapest": 4}, None),
        ("kpis", "/kpis", None, None),
        ("meters", "/meters", None, None),
    ]
    if "/search" in openapi.get("paths", {}):
        requests.append(("search", "/search", None, {"query": "Wärmepumpe Stromverbrauch", "k": 5}))
    return requests


async def drive(base: str, tokens: list[str], concurrency: int, seconds: float, limit: int, openapi: dict | None):
    samples: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    issued = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def worker() -> None:
            nonlocal issued
            while time.monotonic() < deadline and issued < limit:
                issued += 1
                token = random.choice(tokens)
                if openapi is None:
                    label, path, params, body = "health", "/health", None, None
                else:
                    label, path, params, body = random.choice(_mix(openapi))
                headers = {"Authorization": f"Bearer {token}"}
                began = time.perf_counter()
                try:
                    if body is None:
                        response = await client.get(path, params=params, headers=headers)
                    else:
                        response = await client.post(path, json=body, headers=headers)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                samples[label].append((time.perf_counter() - began) * 1000)
                if not ok:
                    errors[label] += 1

        began = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - began
    return samples, errors, elapsed


def _pct(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1] if len(values) > 1 else values[0]


def run(settings: Settings, args: argparse.Namespace) -> None:
    port = free_port()
    env = {
        **os.environ,
        "LUNA_DATABASE_URL": settings.database_url,
        "LUNA_JWT_SECRET": settings.jwt_secret,
        "LUNA_ENVIRONMENT": "prod",
        "LUNA_STORAGE_KEY": "bGxsbGxsbGxsbGxsbGxsbGxsbGxsbGxsbGxsbGxsbGw=",  # the API needs one in prod
        "LUNA_ACCESS_TOKEN_MINUTES": "60",
    }
    api = subprocess.Popen(
        [sys.executable, "-m", "luna_cli.main", "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            wait_ready(client)
            openapi = client.get("/openapi.json").json()
            tokens = []
            for index in range(args.tenants):
                login = client.post(
                    "/auth/token", data={"username": f"customer@load-{index:03d}.example.com", "password": PASSWORD}
                )
                login.raise_for_status()
                tokens.append(login.json()["access_token"])
        console.print(f"{len(tokens)} customers logged in; baseline /health, then the mix for {args.seconds:.0f} s")
        floor, floor_errors, floor_elapsed = asyncio.run(
            drive(base, tokens, args.concurrency, min(5.0, args.seconds), args.max_requests, None)
        )
        samples, errors, elapsed = asyncio.run(
            drive(base, tokens, args.concurrency, args.seconds, args.max_requests, openapi)
        )
    finally:
        api.terminate()
        api.wait(timeout=20)
    floor_rps = len(floor["health"]) / floor_elapsed
    total = sum(len(v) for v in samples.values())
    rps = total / elapsed
    everything = [v for values in samples.values() for v in values]
    for label, values in sorted(samples.items()):
        print(
            f"{label}: n={len(values)} p50_ms={_pct(values, 50):.1f} p95_ms={_pct(values, 95):.1f} "
            f"p99_ms={_pct(values, 99):.1f} errors={errors.get(label, 0)}"
        )
    print(f"health_floor_rps={floor_rps:.1f} health_errors={sum(floor_errors.values())}")
    print(f"customers={args.tenants} concurrency={args.concurrency} requests={total} seconds={elapsed:.1f}")
    print(f"p50_ms={_pct(everything, 50):.1f} p95_ms={_pct(everything, 95):.1f} p99_ms={_pct(everything, 99):.1f}")
    print(f"errors={sum(errors.values())}")
    print(f"load_vs_health_floor_ratio={rps / floor_rps:.3f}")
    if sum(errors.values()):
        print(f"load_rps_with_errors={rps:.1f}")
        sys.exit(1)
    print(f"load_rps={rps:.1f}")


if __name__ == "__main__":
    main()
