"""The dashboard is served beside the API without taking anything from it: API routes keep
priority, JSON clients keep JSON 404s, the OpenAPI schema does not mention the static files, and
without a build the API still starts and `/` says how to build one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from luna_api.main import create_app
from luna_core.settings import Settings

HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    root = tmp_path_factory.mktemp("dist")
    (root / "assets").mkdir()
    (root / "index.html").write_text("<!doctype html><div id=root>luna-spa</div>")
    (root / "assets" / "index-abc123.js").write_text("console.log('luna')")
    (root / "favicon.svg").write_text("<svg/>")
    (root.parent / "secret.txt").write_text("outside the build")
    return root


def _client(api_settings: Settings, dist) -> TestClient:
    settings = Settings.model_validate({**api_settings.model_dump(), "ui_dist_dir": dist})
    return TestClient(create_app(settings), raise_server_exceptions=False)


def test_dashboard_pages_and_assets_are_served(api_settings, dist):
    with _client(api_settings, dist) as client:
        root = client.get("/")
        assert root.status_code == 200 and "luna-spa" in root.text
        asset = client.get("/assets/index-abc123.js")
        assert asset.status_code == 200 and "luna" in asset.text
        assert "immutable" in asset.headers["cache-control"]
        assert client.get("/favicon.svg").text == "<svg/>"
        # A reload of a dashboard page in the browser lands in the single-page app.
        for page in ("/prices", "/consumption", "/console/audit", "/help?q=x"):
            response = client.get(page, headers=HTML)
            assert response.status_code == 200 and "luna-spa" in response.text, page


def test_api_routes_and_errors_keep_priority(api_settings, dist):
    with _client(api_settings, dist) as client:
        assert client.get("/health", headers=HTML).json()["status"] == "ok"
        # JSON clients get the API's 404, also on a path the dashboard would take in a browser.
        missing = client.get("/prices", headers={"Accept": "application/json"})
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"
        assert client.get("/no/such/route").json()["error"] == "not_found"
        # A method a route does not accept stays 405, not the dashboard.
        assert client.get("/auth/token", headers=HTML).status_code == 405
        # An API 404 from a route (not routing) is never replaced by the page.
        unauthorized = client.get("/meters/nope", headers=HTML)
        assert unauthorized.status_code == 401
        # Nothing outside the build is reachable.
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
            assert "outside the build" not in client.get(path).text
        spec = client.get("/openapi.json").json()
        assert "/" not in spec["paths"] and not any(p.startswith("/assets") for p in spec["paths"])


def test_without_a_build_the_api_starts_and_says_how_to_build(api_settings, tmp_path):
    with _client(api_settings, tmp_path / "not-built") as client:
        root = client.get("/")
        assert root.status_code == 200 and "make ui" in root.text
        assert client.get("/health").status_code == 200
        assert client.get("/prices", headers=HTML).status_code == 404
