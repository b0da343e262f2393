"""Browser end-to-end fixtures: the real API app (built dashboard included) under uvicorn on a free
port, on the session's PostgreSQL database, driven through Debian's chromium by Playwright (only the
driver: no browser is ever downloaded). Everything here skips, with the reason, when
/usr/bin/chromium is missing."""

from __future__ import annotations

import math
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import polars as pl
import pytest
import time_machine

from luna_core.db.tenancy import tenant_scope
from luna_core.energy.kpis import compute_tenant_kpis, store_tenant_kpis
from luna_core.ingest import ingest_records
from luna_core.market.store import upsert_prices
from luna_core.settings import Settings
from tests.conftest import Meter

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
DIST = ROOT / "luna_ui" / "dist"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def new_context(browser, world: World, **options):
    """A browser context on the world's server. When this process's clock is set (``LUNA_TEST_NOW``
    or a test's own ``time_machine.travel``), the page's clock starts at the same instant and runs on
    from there, so the dashboard and the API (served from this process) agree on what "now" is."""
    options = {"locale": "en-GB", "viewport": {"width": 1366, "height": 900}, **options}
    context = browser.new_context(base_url=world.url, **options)
    if time_machine.escape_hatch.is_travelling():
        context.clock.install(time=datetime.now(UTC))
    return context


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerThread:
    """uvicorn serving an app object in this process, on a port of its own."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class Person:
    email: str
    tenant_id: str
    role: str

    def token(self, base_url: str) -> str:
        response = httpx.post(f"{base_url}/auth/token", data={"username": self.email, "password": PASSWORD})
        response.raise_for_status()
        return response.json()["access_token"]


@dataclass
class World:
    url: str
    a_customer: Person
    a_admin: Person
    b_customer: Person
    a_secret_meter: str
    b_secret_meter: str
    a_name: str
    openapi_paths: set[str]

    def api(self, person: Person, path: str, **params) -> dict:
        response = httpx.get(
            f"{self.url}{path}", params=params, headers={"Authorization": f"Bearer {person.token(self.url)}"}
        )
        response.raise_for_status()
        return response.json()


def seed_energy(
    engine, tenant_id: str, zone: str, meter_ids: dict[str, str], days: int = 3, scale: float = 1.0
) -> None:
    """Three days of 15-minute readings up to the last full quarter hour, hourly prices from the
    first reading to the end of tomorrow, and the tenant's KPIs, as the pipeline would leave them."""
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    end -= timedelta(minutes=end.minute % 15 + 15)
    start = end - timedelta(days=days)
    rows = []
    ts = start
    while ts <= end:
        hour = ts.hour + ts.minute / 60
        load = scale * (0.25 + 0.15 * math.sin(hour / 24 * 2 * math.pi) ** 2)
        pv = max(0.0, 0.4 * math.sin((hour - 6) / 12 * math.pi)) if 6 <= hour <= 18 else 0.0
        rows.append({"meter_id": meter_ids["consumption"], "ts": ts.isoformat(), "kwh": f"{load:.4f}"})
        if "pv" in meter_ids:
            rows.append({"meter_id": meter_ids["pv"], "ts": ts.isoformat(), "kwh": f"{pv:.4f}"})
        if "ev" in meter_ids:  # the car charges at 11 kW on arrival at work, 08:00 to 10:00 UTC
            ev = 2.75 if 8 <= ts.hour < 10 else 0.0
            rows.append({"meter_id": meter_ids["ev"], "ts": ts.isoformat(), "kwh": f"{ev:.4f}"})
        ts += timedelta(minutes=15)
    result = ingest_records(engine, tenant_id, rows, source="http", source_ref="e2e")
    assert result.rows_quarantined == 0, result.reasons
    hours = []
    h = start.replace(minute=0)
    while h < end + timedelta(days=2):
        hours.append(h)
        h += timedelta(hours=1)
    prices = pl.DataFrame(
        {
            "zone": [zone] * len(hours),
            "ts": hours,
            "resolution_minutes": [60] * len(hours),
            "eur_per_mwh": [60.0 + 45.0 * math.sin(x.hour / 24 * 2 * math.pi) for x in hours],
            "source": ["e2e"] * len(hours),
        },
        schema_overrides={"resolution_minutes": pl.Int16},
    )
    with engine.begin() as connection:
        upsert_prices(connection, prices)
    with tenant_scope(engine, tenant_id) as connection:
        store_tenant_kpis(connection, compute_tenant_kpis(connection, tenant_id))


def add_person(engine, tenant_id: str, role: str) -> Person:
    from luna_core.users import create_user

    email = f"{role}-{uuid.uuid4().hex[:6]}@{tenant_id}.example.com"
    with tenant_scope(engine, tenant_id) as connection:
        create_user(connection, tenant_id, email, PASSWORD, role)
    return Person(email, tenant_id, role)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    assert (DIST / "index.html").is_file(), "the dashboard is not built: run `make ui`"
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def world(chromium_path, engine, api_settings: Settings) -> Iterator[World]:
    from luna_api.main import create_app
    from luna_core.tenants import create_tenant, delete_tenant

    suffix = uuid.uuid4().hex[:6]
    a, b = f"e2e-a-{suffix}", f"e2e-b-{suffix}"
    a_meter, b_meter = f"a-house-{suffix}", f"b-shop-{suffix}"
    a_name = f"Sonnenhof {suffix}"
    created: list[str] = []
    try:
        create_tenant(
            engine,
            a,
            a_name,
            zone=f"ZA-{suffix}",
            meter_specs=(Meter(a_meter), Meter(f"a-pv-{suffix}", "pv", 10.0), Meter(f"a-ev-{suffix}", "ev", 11.0)),
        )
        created.append(a)
        create_tenant(engine, b, f"Bäckerei {suffix}", zone=f"ZB-{suffix}", meter_specs=(Meter(b_meter),))
        created.append(b)
        seed_energy(engine, a, f"ZA-{suffix}", {"consumption": a_meter, "pv": f"a-pv-{suffix}", "ev": f"a-ev-{suffix}"})
        seed_energy(engine, b, f"ZB-{suffix}", {"consumption": b_meter}, days=2, scale=1.7)
        people = (add_person(engine, a, "customer"), add_person(engine, a, "admin"), add_person(engine, b, "customer"))
        settings = Settings.model_validate({**api_settings.model_dump(), "ui_dist_dir": DIST})
        app = create_app(settings)
        with ServerThread(app) as server:
            paths = set(httpx.get(f"{server.url}/openapi.json", timeout=60).json()["paths"])
            yield World(server.url, *people, a_meter, b_meter, a_name, paths)
    finally:
        # Also when the set-up failed half way: a leftover tenant's made-up zone would fail every
        # later run of the prices asset (the simulator knows only real zones).
        for tenant in created:
            delete_tenant(engine, tenant)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when == "call":
        item.failed_in_call = outcome.get_result().failed


@pytest.fixture
def page(request, browser, world):
    context = new_context(browser, world)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    if getattr(request.node, "failed_in_call", False):
        screenshot(page, f"failed-{request.node.name}")  # what the browser showed, for the CI log
    context.close()
    assert not errors, f"the page threw: {errors}"


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, person: Person) -> None:
    page.goto("/")
    page.get_by_label("E-mail").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("greeting").wait_for()
