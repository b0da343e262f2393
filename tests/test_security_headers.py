"""Security headers on every answer of the API and the dashboard (errors included), token answers never
cached, HSTS over HTTPS only, and Swagger UI served from the API's own files without inline script."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from luna_api.security_headers import CONTENT_SECURITY_POLICY


def assert_secured(response) -> None:
    headers = response.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in headers["content-security-policy"]
    assert "'unsafe-eval'" not in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_every_kind_of_answer_carries_the_headers(api, api_user):
    user = api_user()
    for response in (
        api.get("/health"),
        api.get("/meters", headers=user.headers),
        api.get("/meters"),  # 401
        api.get("/no/such/route", headers={"Accept": "application/json"}),  # 404
        api.post("/ingest/readings", headers=user.headers, content=b"x" * (11 * 1024 * 1024)),  # 413
        api.get("/", headers={"Accept": "text/html"}),
        api.get("/docs"),
    ):
        assert_secured(response)
    assert "strict-transport-security" not in api.get("/health").headers  # plain HTTP: HSTS would be ignored


def test_token_answers_are_not_cached(api, api_user):
    user = api_user()
    response = api.post("/auth/token", data={"username": user.email, "password": user.password})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"]
    assert "luna_device=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/auth" in cookie


def test_hsts_over_https(api):
    with TestClient(api.app, base_url="https://testserver") as https:
        response = https.get("/health")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_swagger_ui_comes_from_the_api_without_inline_script(api):
    page = api.get("/docs").text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="/' in attributes and not body.strip() for attributes, body in scripts)
    assert "cdn." not in page and "http" not in page
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/start.js"):
        assert api.get(asset).status_code == 200, asset
    redirect = api.get("/docs/oauth2-redirect")
    policy = redirect.headers["content-security-policy"]
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", policy) and "unsafe-inline" not in policy
    assert api.get("/redoc").status_code == 404
