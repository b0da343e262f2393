"""X-Luna-Tenant names the tenant a platform admin acts on: an unknown or malformed one is a
clear 4xx on every route (checked for every operation of the OpenAPI spec, so a new route is
covered automatically), never a 500."""

from __future__ import annotations

import uuid

import pytest

UNKNOWN = "no-such-tenant"
PLACEHOLDERS = {"integer": "1", "number": "1", "boolean": "true"}


def _operations(api):
    spec = api.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            names = {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}
            yield method, path, operation, "x-luna-tenant" in names


def _url(path: str, operation: dict) -> str:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            schema = parameter.get("schema", {})
            value = str(uuid.uuid4()) if schema.get("format") == "uuid" else PLACEHOLDERS.get(schema.get("type"), "x")
            path = path.replace("{" + parameter["name"] + "}", value)
    return path


@pytest.fixture
def platform_admin(api_user):
    return api_user(role="admin", platform_admin=True)


@pytest.mark.parametrize("header", [UNKNOWN, "Not A Tenant!"])
def test_an_unknown_or_malformed_tenant_header_is_a_clear_4xx_on_every_route(api, platform_admin, header):
    checked = 0
    for method, path, operation, takes_header in _operations(api):
        response = api.request(
            method.upper(),
            _url(path, operation),
            headers={**platform_admin.headers, "X-Luna-Tenant": header},
            json={},
        )
        assert response.status_code < 500, f"{method.upper()} {path}: {response.status_code} {response.text}"
        if takes_header:
            expected = 404 if header == UNKNOWN else 422
            assert response.status_code == expected, f"{method.upper()} {path}: {response.text}"
            body = response.json()
            assert body["error"] == ("not_found" if expected == 404 else "invalid_request")
            assert "X-Luna-Tenant" in body["detail"]
            checked += 1
    assert checked >= 30


def test_a_known_tenant_header_still_works(api, platform_admin, tenant_factory):
    other = tenant_factory("hdr")
    response = api.get("/meters", headers={**platform_admin.headers, "X-Luna-Tenant": other})
    assert response.status_code == 200
    assert [m["meter_id"] for m in response.json()["items"]] == ["main"]


def test_the_header_is_still_forbidden_to_everyone_else(api, api_user):
    admin = api_user(role="admin")
    response = api.get("/meters", headers={**admin.headers, "X-Luna-Tenant": UNKNOWN})
    assert response.status_code == 403
