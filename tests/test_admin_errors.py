"""Recent warnings and errors in ``GET /admin/status``: an error logged while serving tenant A's request
shows for A's admins (and platform admins), never for tenant B's admins, and with its secrets redacted.

The error is a real one of the request path: Luna's document search failing (``app.state.retriever``
set to a retriever that raises, a test double of our own ``Retriever`` interface), which
``luna_core.luna.service`` logs with its traceback and answers without documents."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from luna_api.observability import RecentErrors
from tests.conftest import Meter


class BrokenRetriever:
    def __init__(self, message: str) -> None:
        self.message = message

    def search(self, tenant_id, query, k):
        raise RuntimeError(self.message)


@pytest.fixture
def marker():
    return uuid.uuid4().hex


@pytest.fixture
def broken_search(api, marker):
    real = api.app.state.retriever
    api.app.state.retriever = BrokenRetriever(f"index {marker} down, token=s3cr3t-{marker} Bearer eyJ.{marker}.sig")
    yield
    api.app.state.retriever = real


def _errors(api, user) -> list[dict]:
    response = api.get("/admin/status", headers=user.headers)
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.json()["errors"]]


def test_an_error_in_a_request_shows_for_its_tenant_admin_only_and_redacted(
    api, api_user, tenant_factory, broken_search, marker
):
    tenant_a = tenant_factory("errs-a", meters=(Meter("main"),))
    tenant_b = tenant_factory("errs-b", meters=(Meter("main"),))
    customer_a = api_user(tenant_a)
    admin_a, admin_b = api_user(tenant_a, role="admin"), api_user(tenant_b, role="admin")
    platform = api_user(role="admin", platform_admin=True)

    asked = api.post("/rag/ask", headers=customer_a.headers, json={"question": "How is the heat pump serviced?"})
    assert asked.status_code == 200 and asked.json()["mode"] == "none"  # answered without the search

    mine = [e for e in _errors(api, admin_a) if marker in json.dumps(e)]
    assert [(e["event"], e["level"], e["tenant"]) for e in mine] == [("luna.retriever_failed", "error", tenant_a)]
    line = json.dumps(mine[0])
    assert f"s3cr3t-{marker}" not in line and f"eyJ.{marker}.sig" not in line
    assert "token=[redacted]" in mine[0]["exception"] and "Bearer [redacted]" in mine[0]["exception"]
    assert mine[0]["request_id"] and mine[0]["path"] == "/rag/ask"

    assert not [e for e in _errors(api, admin_b) if marker in json.dumps(e)]
    assert all(e.get("tenant") in (None, tenant_b) for e in _errors(api, admin_b))
    assert [e["tenant"] for e in _errors(api, platform) if marker in json.dumps(e)] == [tenant_a]

    customer = api.get("/admin/status", headers=customer_a.headers)
    assert customer.status_code == 403


def test_library_warnings_outside_requests_are_kept_redacted_for_every_admin(api, api_user, marker):
    library = logging.getLogger("some.library")
    library.error("job %s: connecting to postgresql://luna:pw-%s@db/luna failed", marker, marker)
    lines = [e for e in _errors(api, api_user(role="admin")) if marker in json.dumps(e)]
    assert [(e["logger"], e["level"], e.get("tenant")) for e in lines] == [("some.library", "error", None)]
    assert f"pw-{marker}" not in lines[0]["event"] and "://luna:[redacted]@db" in lines[0]["event"]


def test_the_ring_is_bounded_and_newest_first():
    ring = RecentErrors(maxlen=3)
    for n in range(5):
        ring.add("a" if n % 2 else None, f"line {n}")
    assert ring.newest(10, "a") == ["line 4", "line 3", "line 2"]
    assert ring.newest(10, "b") == ["line 4", "line 2"]
    assert ring.newest(1, "b", every_tenant=True) == ["line 4"]
