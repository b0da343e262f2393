"""ETL throughput against raw COPY, measured in the same run on the same data.

Generates N tenants x M meters x D days of 15-minute readings with the simulator, then
1. baseline: COPY the rows into an empty copy of ``meter_readings`` (same key, same monthly
   partitions): binary COPY (psycopg, row by row) and CSV COPY (polars-written); the faster
   of the two is the baseline;
2. the real ingest path: ``ingest_frame`` per tenant (validate + upsert + quarantine + batch
   record, under row-level security, as the app role).
Prints rows/s of each and, last, ``etl_vs_copy_ratio=<ingest rows/s / baseline rows/s>``.

    python bench/etl.py                      # 100 tenants x 5 meters x 365 days = 17.5M rows
    python bench/etl.py --tenants 10         # quick run
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import polars as pl
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from luna_core.db import migrate
from luna_core.db.copy import copy_frame
from luna_core.db.engine import app_engine, dispose_all, owner_engine
from luna_core.ingest import ingest_frame
from luna_core.settings import Settings
from luna_core.simulation.meters import simulate_site
from luna_core.simulation.registry import register_site
from luna_core.simulation.sites import bench_sites

SERVER = os.environ.get("LUNA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
console = Console(stderr=True)


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--meters", type=int, default=5)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    name = f"luna_bench_{uuid.uuid4().hex[:6]}"
    server = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    settings = Settings(
        database_url=make_url(SERVER).set(database=name).render_as_string(hide_password=False), _env_file=None
    )
    try:
        run(settings, args)
    finally:
        dispose_all()
        if not args.keep:
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run(settings: Settings, args: argparse.Namespace) -> None:
    owner, app = owner_engine(settings), app_engine(settings)
    migrate.upgrade(owner, settings.app_db_role)
    end = datetime(2026, 1, 1, tzinfo=UTC)
    start = end - timedelta(days=args.days)
    sites = bench_sites(args.tenants, args.meters)

    frames: dict[str, pl.DataFrame] = {}
    with progress() as bar:
        task = bar.add_task("simulating", total=len(sites))
        for site in sites:
            register_site(app, site)
            frames[site.tenant_id] = simulate_site(site, start, end, seed=1).select("meter_id", "ts", "kwh", "quality")
            bar.advance(task)
    rows = sum(f.height for f in frames.values())
    console.print(f"{rows:,} rows: {args.tenants} tenants x {args.meters} meters x {args.days} days")

    with owner.begin() as connection:
        connection.execute(text("SELECT luna_ensure_reading_partitions(:lo, :hi)"), {"lo": start, "hi": end})
    binary = time_copy(owner, frames, start, end, "binary")
    csv = time_copy(owner, frames, start, end, "csv")
    baseline = max(binary, csv)

    began = time.perf_counter()
    stored = quarantined = 0
    with progress() as bar:
        task = bar.add_task("ingest path", total=len(frames))
        for tenant, frame in frames.items():
            result = ingest_frame(app, tenant, frame, source="bench", source_ref="bench")
            stored += result.rows_stored
            quarantined += result.rows_quarantined
            bar.advance(task)
    etl = rows / (time.perf_counter() - began)

    print(f"rows={rows}")
    print(f"copy_binary_rows_per_s={binary:,.0f}")
    print(f"copy_csv_rows_per_s={csv:,.0f}")
    print(f"etl_rows_per_s={etl:,.0f} (stored {stored:,}, quarantined {quarantined:,})")
    print(f"etl_vs_copy_ratio={etl / baseline:.2f}")


def time_copy(owner, frames: dict[str, pl.DataFrame], start: datetime, end: datetime, kind: str) -> float:
    """Raw COPY of every tenant's rows into an empty partitioned copy of meter_readings; rows/s."""
    table = f"bench_copy_{kind}"
    with owner.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
        connection.execute(
            text(f"CREATE TABLE {table} (LIKE meter_readings INCLUDING DEFAULTS) PARTITION BY RANGE (ts)")
        )
        connection.execute(text(f"ALTER TABLE {table} ADD PRIMARY KEY (tenant_id, meter_id, ts)"))
        month = datetime(start.year, start.month, 1, tzinfo=UTC)
        while month <= end:
            following = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
            connection.execute(
                text(
                    f"CREATE TABLE {table}_{month:%Y%m} PARTITION OF {table} "
                    f"FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')"
                )
            )
            month = following
    rows = sum(f.height for f in frames.values())
    began = time.perf_counter()
    with progress() as bar:
        task = bar.add_task(f"COPY {kind}", total=len(frames))
        for tenant, frame in frames.items():
            with owner.begin() as connection:
                data = frame.select(pl.lit(tenant).alias("tenant_id"), "meter_id", "ts", "kwh", "quality")
                if kind == "csv":
                    copy_frame(connection, table, data)
                else:
                    _copy_binary(connection, table, data)
            bar.advance(task)
    rate = rows / (time.perf_counter() - began)
    with owner.begin() as connection:
        connection.execute(text(f"DROP TABLE {table}"))
    return rate


def _copy_binary(connection, table: str, frame: pl.DataFrame) -> None:
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} (tenant_id, meter_id, ts, kwh, quality) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["text", "text", "timestamptz", "float8", "text"])
        for row in frame.iter_rows():
            copy.write_row(row)


if __name__ == "__main__":
    main()
