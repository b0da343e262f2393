"""``luna tariffs set|show`` against the test database: the same store as the API, audited, clear errors."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from luna_cli.main import app
from luna_core.db.schema import audit_log
from luna_core.db.tenancy import tenant_scope
from luna_core.settings import get_settings
from luna_core.tariffs import defaults, service, store

runner = CliRunner()


@pytest.fixture(autouse=True)
def luna_env(settings, monkeypatch):
    monkeypatch.setenv("LUNA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LUNA_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_set_and_show(engine, tenant_factory):
    tenant = tenant_factory("cli")
    args = ["tariffs", "set", "-t", tenant, "--kind", "fixed", "--energy-ct", "28.5", "--base-fee", "9"]
    result = runner.invoke(app, [*args, "--valid-from", "2026-01-01", "--german-defaults", "--contracted-kw", "11"])
    assert result.exit_code == 0, result.output
    with tenant_scope(engine, tenant) as connection:
        (tariff,) = service.tenant_tariffs(connection, tenant).imports
        assert store.contracted_kw(connection, tenant) == 11
        assert (
            connection.execute(select(audit_log.c.actor).where(audit_log.c.action == "tariff.update")).scalar() == "cli"
        )
    assert tariff.energy_ct_kwh == 28.5 and tariff.levies_ct_kwh == defaults.LEVIES_CT_KWH
    shown = runner.invoke(app, ["tariffs", "show", "-t", tenant])
    assert shown.exit_code == 0 and "28.5 ct" in shown.output and "11 kW" in shown.output


def test_a_bad_tariff_is_one_line(tenant_factory):
    tenant = tenant_factory("cli")
    result = runner.invoke(app, ["tariffs", "set", "-t", tenant, "--kind", "fixed", "--valid-from", "2026-01-01"])
    assert result.exit_code == 1 and "energy_ct_kwh" in result.output and "Traceback" not in result.output
