"""The analyst role (migration 0003): tenant-scoped, read-only views in schema ``analytics``, and the
analyst tour notebook executed headless against them."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import polars as pl
import pytest
from nbclient import NotebookClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError

from luna_core.analytics import analyst_engine, tenant_frame
from luna_core.db import migrate
from luna_core.db.tenancy import InvalidTenantId, tenant_scope
from luna_core.energy.hourly import refresh_consumption_hourly
from luna_core.ingest import ingest_records
from luna_core.tenants import create_tenant
from tests.conftest import Meter, create_database, drop_database

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "analyst_tour.ipynb"
ANALYST = "luna_analyst"
A, B = "ana-a", "ana-b"
DAYS = 8
# Whole UTC days ending at today's midnight: in the past, on the quarter-hour grid.
END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
START = END - timedelta(days=DAYS)
TENANT_VIEWS = ("meters", "meter_readings", "consumption_hourly", "tenant_kpis", "tenant")


def main_kwh(ts: datetime) -> float:  # tenant A's consumption meter, per quarter-hour
    return 0.1 + 0.05 * (ts.hour % 6)


def pv_kwh(ts: datetime) -> float:  # tenant A's PV, per quarter-hour
    return 0.3 if 10 <= ts.hour < 14 else 0.0


def price(ts: datetime) -> float:  # EUR/MWh, hourly, zone DE-LU
    return 80.0 + 5 * ts.hour


def quarter_hours() -> Iterator[datetime]:
    ts = START
    while ts < END:
        yield ts
        ts += timedelta(minutes=15)


@dataclass(frozen=True)
class Warehouse:
    url: str
    owner: Engine
    app: Engine
    analyst: Engine  # plain engine: write attempts fail on privileges, not on read-only mode


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Warehouse]:
    name = f"luna_analyst_{uuid.uuid4().hex[:8]}"
    url = make_url(create_database(name))
    owner = create_engine(url)
    app = create_engine(url.set(username="luna_app"))
    analyst = create_engine(url.set(username=ANALYST))
    try:
        migrate.upgrade(owner, "luna_app")
        create_tenant(app, A, "Analyst A", meter_specs=(Meter("main"), Meter("roof", "pv", 10.0)))
        create_tenant(app, B, "Analyst B", meter_specs=(Meter("main"),))
        a_rows = [
            {"meter_id": meter, "ts": ts.isoformat(), "kwh": str(kwh(ts))}
            for ts in quarter_hours()
            for meter, kwh in (("main", main_kwh), ("roof", pv_kwh))
        ]
        b_rows = [{"meter_id": "main", "ts": ts.isoformat(), "kwh": "0.5"} for ts in quarter_hours()]
        for tenant, rows in ((A, a_rows), (B, b_rows)):
            result = ingest_records(app, tenant, rows, source="http", source_ref="analyst-test")
            assert result.rows_quarantined == 0
            with tenant_scope(app, tenant) as connection:
                refresh_consumption_hourly(connection, tenant)
        hours = [START + timedelta(hours=h) for h in range(DAYS * 24)]
        with app.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO market_prices (zone, resolution_minutes, ts, eur_per_mwh, source) "
                    "VALUES (:zone, 60, :ts, :eur, 'test')"
                ),
                [{"zone": "DE-LU", "ts": ts, "eur": price(ts)} for ts in hours]
                + [{"zone": "FR", "ts": ts, "eur": 9999.0} for ts in hours[-24:]],  # another zone: must not mix
            )
        yield Warehouse(url.render_as_string(hide_password=False), owner, app, analyst)
    finally:
        for engine in (owner, app, analyst):
            engine.dispose()
        drop_database(name)


def scoped(engine: Engine, tenant: str, sql: str) -> list:
    with tenant_scope(engine, tenant) as connection:
        return connection.execute(text(sql)).all()


def test_analyst_role_is_bound_by_rls(warehouse):
    with warehouse.owner.connect() as connection:
        row = connection.execute(
            text("SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = :r"), {"r": ANALYST}
        ).one()
    assert tuple(row) == (False, False, True)


@pytest.mark.parametrize("view", TENANT_VIEWS)
def test_analyst_sees_only_the_tenant_in_scope(warehouse, view):
    for me, other in ((A, B), (B, A)):
        owners = {row[0] for row in scoped(warehouse.analyst, me, f"SELECT tenant_id FROM analytics.{view}")}
        assert other not in owners
        if view != "tenant_kpis":  # no KPIs computed in this test
            assert owners == {me}


@pytest.mark.parametrize("view", TENANT_VIEWS)
def test_analyst_sees_nothing_without_a_tenant(warehouse, view):
    with warehouse.analyst.connect() as connection:
        assert connection.execute(text(f"SELECT count(*) FROM analytics.{view}")).scalar_one() == 0
        # The base tables behind the views are filtered the same way.
        if view not in ("tenant", "tenant_kpis"):
            assert connection.execute(text(f"SELECT count(*) FROM public.{view}")).scalar_one() == 0


def test_views_carry_the_expected_columns_and_data(warehouse):
    hourly = tenant_frame(
        warehouse.analyst, A, "SELECT * FROM analytics.consumption_hourly WHERE meter_id = :m", {"m": "roof"}
    )
    assert hourly.columns == ["tenant_id", "meter_id", "meter_kind", "hour", "kwh"]
    assert hourly.height == DAYS * 24 and set(hourly["meter_kind"]) == {"pv"}
    assert hourly.schema["hour"] == pl.Datetime("us", "UTC")
    readings = tenant_frame(warehouse.analyst, A, "SELECT * FROM analytics.meter_readings")
    assert readings.columns == ["tenant_id", "meter_id", "ts", "kwh", "quality"]
    assert readings.height == 2 * DAYS * 96
    # Prices are shared: visible with or without a tenant, only the four public columns.
    with warehouse.analyst.connect() as connection:
        result = connection.execute(text("SELECT * FROM analytics.day_ahead_prices"))
        assert list(result.keys()) == ["zone", "ts", "resolution_minutes", "eur_per_mwh"]
        assert len(result.all()) == DAYS * 24 + 24
    tenant = tenant_frame(warehouse.analyst, B, "SELECT tenant_id, zone, timezone FROM analytics.tenant")
    assert tenant.rows() == [(B, "DE-LU", "Europe/Berlin")]


def test_tenant_frame_validates_and_types_empty_results(warehouse):
    with pytest.raises(InvalidTenantId):
        tenant_frame(warehouse.analyst, "A; DROP TABLE meters", "SELECT 1")
    empty = tenant_frame(warehouse.analyst, A, "SELECT hour, kwh, meter_id FROM analytics.consumption_hourly LIMIT 0")
    assert empty.schema == {"hour": pl.Datetime("us", "UTC"), "kwh": pl.Float64, "meter_id": pl.String}


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO meters (tenant_id, meter_id, kind, name, max_kw) VALUES ('ana-a', 'x', 'pv', 'x', 1)",
        "INSERT INTO analytics.meters (tenant_id, meter_id, kind, name, max_kw) VALUES ('ana-a', 'x', 'pv', 'x', 1)",
        "UPDATE meter_readings SET kwh = 0",
        "UPDATE analytics.meter_readings SET kwh = 0",
        "DELETE FROM consumption_hourly",
        "DELETE FROM analytics.tenant_kpis",  # single-table views are auto-updatable: privileges stop it
        "DELETE FROM market_prices",
        "UPDATE analytics.day_ahead_prices SET eur_per_mwh = 0",
        "TRUNCATE meter_readings",
        "CREATE TABLE public.scratch (x int)",
        "CREATE TABLE analytics.scratch (x int)",
        "SELECT luna_ensure_reading_partitions(now() + interval '3 years', now() + interval '3 years')",
    ],
)
def test_analyst_cannot_write(warehouse, statement):
    with pytest.raises(ProgrammingError, match="permission denied"), tenant_scope(warehouse.analyst, A) as connection:
        connection.execute(text(statement))


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM users",
        "SELECT * FROM refresh_tokens",
        "SELECT * FROM audit_log",
        "SELECT * FROM tenants",
        "SELECT * FROM readings_quarantine",
        "SELECT * FROM ingest_batches",
        "SELECT * FROM events",
        "SELECT * FROM luna_login_lookup('someone@example.com')",
        # Partitions carry no RLS of their own: only the parent may be read.
        f"SELECT * FROM meter_readings_y{START:%Y}m{START:%m}",
    ],
)
def test_analyst_cannot_read_beyond_the_warehouse(warehouse, statement):
    with pytest.raises(ProgrammingError, match="permission denied"), tenant_scope(warehouse.analyst, A) as connection:
        connection.execute(text(statement))


def test_app_role_keeps_its_functions(warehouse):
    # 0003 revokes EXECUTE from PUBLIC; the app role's explicit grants stay.
    with warehouse.app.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM luna_login_lookup('nobody@example.com')")).scalar() == 0
        connection.execute(text("SELECT luna_ensure_reading_partitions(now(), now())"))


def test_planner_statistics_do_not_leak_to_the_analyst(warehouse):
    with warehouse.owner.begin() as connection:
        connection.execute(text("ANALYZE meter_readings, consumption_hourly, meters"))
    query = text("SELECT count(*) FROM pg_stats WHERE tablename IN ('meter_readings', 'consumption_hourly', 'meters')")
    with warehouse.owner.connect() as connection:
        assert connection.execute(query).scalar_one() > 0
    with warehouse.analyst.connect() as connection:
        assert connection.execute(query).scalar_one() == 0


def test_analyst_engine_sessions_are_read_only(warehouse):
    engine = analyst_engine(make_url(warehouse.url).set(username=ANALYST))
    try:
        with pytest.raises(DBAPIError, match="read-only transaction"), engine.begin() as connection:
            connection.execute(text("CREATE TEMP TABLE scratch (x int)"))
    finally:
        engine.dispose()


def test_downgrade_removes_the_schema_and_the_grants():
    name = f"luna_analyst_dg_{uuid.uuid4().hex[:8]}"
    engine = create_engine(create_database(name))
    try:
        migrate.upgrade(engine, "luna_app")
        migrate.downgrade(engine, "luna_app", "0002")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT to_regnamespace('analytics')")).scalar() is None
            granted = connection.execute(
                text("SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = :r"), {"r": ANALYST}
            ).scalar_one()
            assert granted == 0
            role = connection.execute(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": ANALYST})
            assert role.scalar_one() == 1  # cluster-wide: revoked, never dropped
        migrate.upgrade(engine, "luna_app")  # and the existing role is reused
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()
        drop_database(name)


def expected_week_cost() -> float:
    """What the notebook must compute: the 7 x 24 hours before END, hourly netting, hourly prices."""
    total = 0.0
    for hour in (END - timedelta(days=7) + timedelta(hours=h) for h in range(7 * 24)):
        quarters = [hour + timedelta(minutes=15 * q) for q in range(4)]
        load = sum(main_kwh(ts) for ts in quarters)
        pv = sum(pv_kwh(ts) for ts in quarters)
        total += max(load - pv, 0) * price(hour) / 1000
    return total


def test_notebook_runs_headless_as_the_analyst(warehouse, tmp_path, monkeypatch):
    from ipykernel.kernelspec import install

    # A kernelspec for this interpreter (the project's venv), found first through JUPYTER_PATH.
    install(kernel_name="python3", prefix=str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter" / "share" / "jupyter"))
    output = tmp_path / "out"
    monkeypatch.setenv("LUNA_ANALYST_DATABASE_URL", make_url(warehouse.url).set(username=ANALYST).render_as_string())
    monkeypatch.setenv("LUNA_ANALYST_TENANT", A)
    monkeypatch.setenv("LUNA_ANALYST_OUTPUT_DIR", str(output))

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), "commit it empty"
    NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert (output / "week.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    week = pl.read_csv(output / "week.csv")
    assert week.height == 7 * 24 and week["eur_per_mwh"].null_count() == 0
    assert math.isclose(week["cost_eur"].sum(), expected_week_cost(), rel_tol=1e-9)
