"""``luna playbook`` against the test database: the same plans as the API and the asset, clear errors."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from luna_cli.main import app
from luna_core.db.schema import playbook_recommendations
from luna_core.db.tenancy import tenant_scope
from luna_core.market.store import upsert_prices
from luna_core.playbook.rules import create_rule
from luna_core.playbook.simulate import EvSimulation, simulate
from luna_core.settings import get_settings
from luna_core.simulation.market import simulate_day_ahead_prices
from tests.conftest import Meter

runner = CliRunner()
DAY = date(2026, 5, 5)


@pytest.fixture(autouse=True)
def luna_env(settings, monkeypatch):
    monkeypatch.setenv("LUNA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LUNA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LUNA_DAGSTER_DATABASE_URL", settings.dagster_url().render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_simulate_with_simulated_prices_matches_the_core():
    args = ["playbook", "simulate", "--simulated-prices", "--date", DAY.isoformat(), "--energy-kwh", "30"]
    result = runner.invoke(app, [*args, "--power-kw", "11", "--arrival", "18:00", "--deadline", "23:00"])
    assert result.exit_code == 0, result.output
    prices = simulate_day_ahead_prices("DE-LU", DAY, DAY, 60)["eur_per_mwh"].to_list()
    start = datetime.combine(DAY, time(), ZoneInfo("Europe/Berlin"))
    spec = EvSimulation(
        device="ev", energy_kwh=30, power_kw=11, arrival="18:00", deadline="23:00", prices=prices, start=start
    )
    plan = simulate(None, None, spec)
    assert f"saving {plan.saving_eur:.2f} EUR" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--energy-kwh", "80", "--power-kw", "11", "--arrival", "20:00"], "need 7.3 h of charging"),
        (["--power-kw", "11"], "energy_kwh: Field required"),
    ],
)
def test_simulate_errors_are_one_clear_line(extra, message):
    result = runner.invoke(app, ["playbook", "simulate", "--simulated-prices", "--date", DAY.isoformat(), *extra])
    assert result.exit_code == 1 and message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_schedule_plans_and_stores_the_day(engine, tenant_factory):
    zone = f"CLI-{uuid.uuid4().hex[:6]}"
    tenant = tenant_factory("pbcli", meters=(Meter("main"), Meter("car", "ev", 11.0)), zone=zone)
    prices = simulate_day_ahead_prices("DE-LU", DAY, DAY, 60).with_columns(pl.lit(zone).alias("zone"))
    with engine.begin() as connection:
        upsert_prices(connection, prices)
    with tenant_scope(engine, tenant) as connection:
        create_rule(
            connection, tenant, name="car", strategy="ev_cheapest_window", params={"energy_kwh": 20}, actor="test"
        )
    result = runner.invoke(app, ["playbook", "schedule", "--tenant", tenant, "--date", DAY.isoformat(), "--lang", "de"])
    assert result.exit_code == 0, result.output
    assert "car (ev)" in result.output and "spart" in result.output
    with tenant_scope(engine, tenant) as connection:
        assert connection.execute(select(func.count()).select_from(playbook_recommendations)).scalar_one() == 1
    missing = runner.invoke(
        app, ["playbook", "schedule", "--tenant", tenant, "--date", (DAY + timedelta(days=400)).isoformat()]
    )
    assert missing.exit_code == 1 and "not published" in missing.output
