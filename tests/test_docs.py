"""The docs stay true to the code: every route, table, setting and benchmark is documented where a
reader looks for it, every relative link resolves, the README stays short and starts with the two
commands, and docs/architecture.md's import table is the code's import graph."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

import luna_api.routers
from luna_core.db import schema
from luna_core.settings import Settings
from tests.test_layout import FORBIDDEN, imported_roots

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
# The top-level packages the architecture page must name, and whose imports its table states.
PACKAGES = ("luna_core", "luna_assets", "resources", "sensors", "luna_api", "luna_cli", "luna_ui", "sim", "bench")
PYTHON_PACKAGES = tuple(p for p in PACKAGES if p != "luna_ui")


def read(name: str) -> str:
    return (DOCS / name).read_text()


def router_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(luna_api.routers.__path__))


@pytest.mark.parametrize("module", router_modules())
def test_every_route_is_in_the_api_docs(module):
    api_md = read("api.md")
    router = importlib.import_module(f"luna_api.routers.{module}").router
    routes = [
        f"{method} {route.path}"
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods - {"HEAD"})
    ]
    assert routes, f"luna_api/routers/{module}.py has no routes"
    assert [r for r in routes if f"`{r}`" not in api_md] == []


def test_the_route_check_can_fail():
    assert "`GET /no/such/route`" not in read("api.md")


def test_every_table_is_in_the_data_model():
    data_model = read("data-model.md")
    tables = sorted(schema.metadata.tables)
    assert len(tables) > 20
    assert [t for t in tables if f"`{t}`" not in data_model] == []


def test_every_migration_is_in_the_data_model():
    data_model = read("data-model.md")
    versions = sorted(p.name.split("_")[0] for p in (ROOT / "luna_core/db/migrations/versions").glob("[0-9]*.py"))
    assert [v for v in versions if f"`{v}`" not in data_model] == []


def test_every_setting_is_in_env_example_and_operate():
    env_example = (ROOT / ".env.example").read_text()
    operate = read("operate.md")
    variables = [f"LUNA_{name.upper()}" for name in Settings.model_fields]
    assert [v for v in variables if not re.search(rf"^#?\s*{v}=", env_example, re.MULTILINE)] == []
    assert [v for v in variables if f"`{v}`" not in operate] == []


def test_every_benchmark_is_in_the_benchmarks_page():
    benchmarks = read("benchmarks.md")
    scripts = sorted(p.name for p in (ROOT / "bench").glob("*.py"))
    assert "etl.py" in scripts
    assert [s for s in scripts if f"bench/{s}" not in benchmarks] == []


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)


def relative_links(path: Path) -> list[str]:
    text = CODE_BLOCK.sub("", path.read_text())  # code blocks hold no links
    return [t for t in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def anchors(path: Path) -> set[str]:
    """The heading anchors GitHub makes: lower case, punctuation dropped, spaces as hyphens, -1 on repeats."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", CODE_BLOCK.sub("", path.read_text()), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        n, candidate = 0, slug
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def broken_links(page: Path) -> list[str]:
    broken = []
    for link in relative_links(page):
        target, _, anchor = link.partition("#")
        path = (page.parent / target) if target else page
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            broken.append(link)
    return broken


@pytest.mark.parametrize("page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    assert broken_links(page) == []


def test_the_link_check_can_fail(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Top of `the` page\n[gone](gone.md) [here](page.md#top-of-the-page) [web](https://example.com) "
        "[anchor](#top-of-the-page) [lost](#nowhere) [lost too](page.md#nowhere)\n"
    )
    assert broken_links(page) == ["gone.md", "#nowhere", "page.md#nowhere"]


def test_the_readme_is_short_and_starts_with_the_two_commands():
    lines = README.read_text().splitlines()
    assert len(lines) <= 200
    start = lines.index("```bash")  # the first code block: right under the title
    assert start <= 2
    assert lines[start + 1].startswith("make demo") and lines[start + 2].startswith("make test")


def _documented_imports() -> dict[str, set[str]]:
    """The import table of docs/architecture.md: | `package/` | what | `a`, `b` (or none) |."""
    found = {}
    for line in read("architecture.md").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and (name := re.fullmatch(r"`([a-z_]+)/`", cells[0])) and name[1] in PACKAGES:
            found[name[1]] = set(re.findall(r"`([a-z_]+)`", cells[2]))
    return found


def actual_imports(package: str) -> set[str]:
    roots: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        roots |= imported_roots(path)
    return (roots & set(PACKAGES)) - {package}


def test_the_architecture_page_names_every_top_level_package():
    text = read("architecture.md")
    assert [p for p in PACKAGES if f"{p}/" not in text] == []
    assert sorted(_documented_imports()) == sorted(PACKAGES)


@pytest.mark.parametrize("package", PYTHON_PACKAGES)
def test_the_architecture_import_table_is_the_code(package):
    """If this fails, the code changed the direction of imports: update the table and the picture in
    docs/architecture.md with the change (or undo it)."""
    assert actual_imports(package) == _documented_imports()[package]


def test_the_documented_imports_keep_the_layout_rules():
    documented = _documented_imports()
    assert {p: sorted(documented[p] & FORBIDDEN[p]) for p in FORBIDDEN if documented[p] & FORBIDDEN[p]} == {}
    assert documented["luna_ui"] == set()  # the dashboard talks HTTP only
