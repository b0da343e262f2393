"""The ``luna`` command against the test database: clear one-line errors, non-zero exit codes."""

from __future__ import annotations

import uuid

import polars as pl
import pytest
from typer.testing import CliRunner

from luna_cli.main import app
from luna_core.settings import get_settings
from luna_core.tenants import delete_tenant

runner = CliRunner()


@pytest.fixture(autouse=True)
def luna_env(settings, monkeypatch):
    monkeypatch.setenv("LUNA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LUNA_DATA_DIR", str(settings.data_dir))
    # The CLI exports the Dagster URL for its child processes; let monkeypatch undo that too.
    monkeypatch.setenv("LUNA_DAGSTER_DATABASE_URL", settings.dagster_url().render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_tenant_add_list_ingest(engine, tmp_path):
    tenant = f"cli-{uuid.uuid4().hex[:6]}"
    added = runner.invoke(app, ["tenants", "add", tenant, "--name", "CLI GmbH", "--meter", "main:consumption:30"])
    assert added.exit_code == 0, added.output
    assert tenant in runner.invoke(app, ["tenants", "list"]).output

    path = tmp_path / "readings.csv"
    pl.DataFrame({"meter_id": ["main", "main"], "ts": ["2026-01-01T00:00:00Z", "junk"], "kwh": ["1.5", "2"]}).write_csv(
        path
    )
    ingested = runner.invoke(app, ["ingest", str(path), "--tenant", tenant])
    assert ingested.exit_code == 0, ingested.output
    assert "1x quarantined: unparseable timestamp" in ingested.output
    delete_tenant(engine, tenant)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tenants", "add", "Bad Id", "--name", "x"], "invalid tenant id 'Bad Id'"),
        (["tenants", "add", "ok-id", "--name", "x", "--meter", "main:consumption"], "expected METER_ID:KIND:MAX_KW"),
        (["tenants", "add", "ok-id2", "--name", "x", "--kind", "castle"], "unknown tenant kind 'castle'"),
        (["tenants", "disable", "nobody-here"], "unknown tenant 'nobody-here'"),
        (["ingest", "/no/such/file.csv", "--tenant", "nobody-here"], "no such file"),
        (["db", "downgrade", "base"], "repeat with --yes"),
    ],
)
def test_errors_are_one_clear_line(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_users_add_and_audit_verify(engine, settings, tenant_factory):
    from sqlalchemy import text

    from luna_core.db.engine import owner_engine

    tenant = tenant_factory("cliaudit")
    email = f"boss-{uuid.uuid4().hex[:6]}@{tenant}.example.com"
    added = runner.invoke(
        app, ["users", "add", email, "--tenant", tenant, "--role", "admin"], input="correct horse battery\n" * 2
    )
    assert added.exit_code == 0, added.output
    assert "correct horse" not in added.output
    intact = runner.invoke(app, ["audit", "verify", "--tenant", tenant])
    assert intact.exit_code == 0 and "intact" in intact.output
    with owner_engine(settings).begin() as connection:
        connection.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE tenant_id = :t"), {"t": tenant})
    broken = runner.invoke(app, ["audit", "verify", "--tenant", tenant])
    assert broken.exit_code == 1 and "modified" in broken.output
