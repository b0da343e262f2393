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
    "resources": {"fastapi", "luna_api", "luna_assets"},
    "sensors": {"fastapi", "luna_api"},
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
