"""The layout rules of ARCHITECTURE.md, checked on the source: luna_core imports neither Dagster
nor FastAPI, the API never imports Dagster, and Dagster code never imports FastAPI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "luna_core": {"dagster", "fastapi", "luna_assets", "luna_api", "resources", "sensors", "luna_cli", "sim"},
    "luna_api": {"dagster", "luna_assets", "resources", "sensors"},
    "luna_assets": {"fastapi", "luna_api"},
    "resources": {"fastapi", "luna_api", "luna_assets", "sensors"},
    # One direction between the Dagster layers: luna_assets -> sensors -> resources -> luna_core.
    "sensors": {"fastapi", "luna_api", "luna_assets"},
    "sim": {"dagster", "fastapi"},
}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_layout(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {file: bad for file, bad in offenders.items() if bad} == {}


# The forecasting modules moved into luna_core/forecasting/ (store, registry, global_model); the old
# loose modules must not come back beside them, nor be imported or named anywhere.
RETIRED_MODULES = ("luna_core.forecast_store", "luna_core.model_registry", "luna_core.global_training")
# Thin callers of the forecasting service: no SQL of their own.
FORECASTING_CALLERS = ("luna_assets/ml.py", "sensors/drift.py", "luna_api/routers/models.py")
SQL_BUILDERS = {"text", "select", "insert", "update", "delete"}
SQL_KEYWORDS = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "MERGE"}


def _sources() -> list[Path]:
    """The tree's Python, notebooks and Markdown, without hidden folders, node_modules and builds."""
    found = []
    for pattern in ("*.py", "*.ipynb", "*.md"):
        for path in ROOT.rglob(pattern):
            parts = path.relative_to(ROOT).parts
            if not any(part.startswith(".") or part in {"node_modules", "dist"} for part in parts):
                found.append(path)
    return found


def test_retired_forecasting_modules_stay_gone():
    assert [m for m in RETIRED_MODULES if (ROOT / (m.replace(".", "/") + ".py")).exists()] == []
    this_file = Path(__file__).resolve()
    mentions = {
        str(path.relative_to(ROOT)): [m for m in RETIRED_MODULES if m in path.read_text(errors="replace")]
        for path in _sources()
        if path != this_file
    }
    assert {file: found for file, found in mentions.items() if found} == {}


def _sql_of(node: ast.AST) -> str | None:
    if isinstance(node, ast.Import | ast.ImportFrom):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        bad = [m for m in modules if m.split(".")[0] == "sqlalchemy" or m.startswith("luna_core.db")]
        return f"import {', '.join(bad)}" if bad else None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SQL_BUILDERS:
        return f"{node.func.id}(...)"
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "schema":
        return f"schema.{node.attr}"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        words = node.value.split(None, 1)
        return f"SQL {node.value.strip()[:40]!r}" if words and words[0] in SQL_KEYWORDS else None
    return None


def sql_in(path: Path) -> list[str]:
    """What in a module is SQL of its own: sqlalchemy or luna_core.db imported, a SQL builder called
    (``text(``, ``select(``...), ``schema.<table>``, or a string that starts with a SQL keyword."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [found for node in ast.walk(tree) if (found := _sql_of(node))]


@pytest.mark.parametrize("caller", FORECASTING_CALLERS)
def test_forecasting_callers_write_no_sql(caller):
    assert sql_in(ROOT / caller) == []


def test_the_sql_check_finds_sql():
    """The check above must be able to fail: it does on modules that query core tables themselves."""
    assert "import sqlalchemy" in sql_in(ROOT / "luna_core/forecasting/store.py")
    assert {"select(...)", "import luna_core.db.schema"} <= set(sql_in(ROOT / "luna_core/outbox.py"))
    assert any(found.startswith("SQL 'SELECT") for found in sql_in(ROOT / "luna_core/forecasting/store.py"))


# The meter kinds and the site-load rule are declared once, in luna_core/energy/site.py; any other
# module spelling the kinds out (a Literal, a tuple, a SQL IN list) would drift from it.
SITE_DEFINITION = "luna_core/energy/site.py"
KIND_SPELLINGS = (
    '"consumption", "ev", "heat_pump"',
    "'consumption', 'ev', 'heat_pump'",
    '"consumption", "pv", "ev", "heat_pump", "battery"',
)


def test_meter_kinds_and_site_load_are_declared_once():
    spelled = {
        str(path.relative_to(ROOT)): [s for s in KIND_SPELLINGS if s in path.read_text()]
        for package in ("luna_core", "luna_api", "luna_assets", "sensors", "resources", "luna_cli")
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }
    declared = [KIND_SPELLINGS[0], KIND_SPELLINGS[2]]  # LOAD_KINDS and the MeterKind Literal
    assert {file: found for file, found in spelled.items() if found} == {SITE_DEFINITION: declared}


# The default time zone is a setting (LUNA_DEFAULT_TIMEZONE, read through settings.default_timezone())
# and the market's is one constant (market/auction.MARKET_TIMEZONE); the name itself may stand only
# there, in the tenants table's column default (schema and its migration) and in the simulators,
# whose sites are German by design.
TIMEZONE_NAME = "Europe/Berlin"
TIMEZONE_HOMES = {
    "luna_core/settings.py",
    "luna_core/market/auction.py",
    "luna_core/db/schema.py",
    "luna_core/db/migrations/versions/0001_foundation.py",
}


def test_the_default_time_zone_is_spelled_only_where_it_is_defined():
    spelled = {
        str(path.relative_to(ROOT))
        for package in ("luna_core", "luna_api", "luna_assets", "sensors", "resources", "luna_cli", "sim")
        for path in (ROOT / package).rglob("*.py")
        if TIMEZONE_NAME in path.read_text()
    }
    assert {file for file in spelled if not file.startswith("luna_core/simulation/")} == TIMEZONE_HOMES


# No SQL on core tables outside luna_core: the Dagster layers, the API and the CLI call core
# functions. They may hold an Engine or a Connection and open tenant_scope (luna_core.db.tenancy),
# but never name a table (luna_core.db.schema) nor build or spell a query.
THIN_CALLERS = ("luna_api", "luna_assets", "sensors", "resources", "luna_cli")


def _names_schema(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name.startswith("luna_core.db.schema") for alias in node.names)
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        modules = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        return any(module.startswith("luna_core.db.schema") for module in modules)
    return False


def _one_word(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and len(node.value.split()) < 2


def core_table_sql_in(path: Path) -> list[str]:
    """``luna_core.db.schema`` imported, a SQL builder called or a SQL statement spelled (a string
    that starts with a SQL keyword and goes on: a lone "DELETE" is an HTTP method)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if _names_schema(node):
            found.append("import luna_core.db.schema")
        elif (sql := _sql_of(node)) and not sql.startswith("import ") and not _one_word(node):
            found.append(sql)
    return found


def test_thin_callers_write_no_sql_on_core_tables():
    offenders = {
        str(path.relative_to(ROOT)): found
        for package in THIN_CALLERS
        for path in (ROOT / package).rglob("*.py")
        if (found := core_table_sql_in(path))
    }
    assert offenders == {}


def test_the_core_table_check_finds_sql(tmp_path):
    """It must be able to fail: on a core module, and on each way a caller could query a table."""
    assert {"import luna_core.db.schema", "select(...)"} <= set(core_table_sql_in(ROOT / "luna_core/energy/kpis.py"))
    caller = tmp_path / "caller.py"
    caller.write_text(
        "from luna_core.db import schema\nfrom luna_core.db.schema import meters\nfrom sqlalchemy import text\n"
        "rows = connection.execute(text('SELECT count(*) FROM meters'))\nschema.tenants\n"
        "METHODS = {'DELETE'}\n"
    )
    assert sorted(core_table_sql_in(caller)) == [
        "SQL 'SELECT count(*) FROM meters'",
        "import luna_core.db.schema",
        "import luna_core.db.schema",
        "schema.tenants",
        "text(...)",
    ]
