"""Every data read and every admin action through the API leaves exactly one audit row,
checked for every GET route of the OpenAPI spec (so a new route is covered automatically)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from luna_core.db.schema import audit_log
from luna_core.db.tenancy import tenant_scope
from tests.conftest import Meter

NOT_TENANT_DATA = {"/health", "/ready", "/metrics"}
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def _count(engine, tenant) -> int:
    with tenant_scope(engine, tenant) as connection:
        return connection.execute(select(func.count()).select_from(audit_log)).scalar_one()


def test_every_read_route_writes_one_audit_row(api, api_user, engine, tenant_factory):
    from luna_core.energy.kpis import compute_tenant_kpis, store_tenant_kpis
    from luna_core.ingest import ingest_records

    tenant = tenant_factory("audited", meters=(Meter("main"),))
    ingest_records(
        engine, tenant, [{"meter_id": "main", "ts": T0.isoformat(), "kwh": "1"}], source="http", source_ref="audit"
    )
    with tenant_scope(engine, tenant) as connection:
        store_tenant_kpis(connection, compute_tenant_kpis(connection, tenant))
    admin = api_user(tenant, role="admin")
    from luna_core.forecasting.registry import model_name

    asked = api.post("/rag/ask", headers=admin.headers, json={"question": "What is our peak?"})
    assert asked.status_code == 200, asked.text
    document = api.post("/ingest/doc", headers=admin.headers, files={"file": ("audit.txt", b"Audited text.")})
    assert document.status_code == 202, document.text
    values = {
        "tenant_id": tenant,
        "meter_id": "main",
        "user_id": _my_id(api, admin),
        "name": model_name(tenant),
        "session_id": asked.json()["session_id"],
        "document_id": document.json()["id"],
    }
    window = {"start": T0.isoformat(), "end": (T0 + timedelta(days=1)).isoformat(), "month": T0.strftime("%Y-%m")}
    spec = api.get("/openapi.json").json()
    checked = []
    for path, operations in spec["paths"].items():
        if "get" not in operations or path in NOT_TENANT_DATA:
            continue
        params = {p["name"]: window[p["name"]] for p in operations["get"].get("parameters", []) if p["name"] in window}
        before = _count(engine, tenant)
        response = api.get(path.format(**values), headers=admin.headers, params=params)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        assert _count(engine, tenant) == before + 1, f"GET {path} did not write exactly one audit row"
        checked.append(path)
    assert len(checked) >= 12


def _my_id(api, user) -> int:
    return api.get("/users/me", headers=user.headers).json()["id"]


def test_every_audit_row_carries_its_request_id_and_one_actor_spelling(api, api_user, engine, tenant_factory):
    """Rows written outside the request context object (login, refresh reuse, HTTP push,
    tenant admin actions) carry the request id too, and each person has one actor spelling."""
    tenant = tenant_factory("reqid", meters=(Meter("main"),))
    admin = api_user(tenant, role="admin")
    sent: set[str] = set()

    def call(method: str, path: str, **kwargs):
        request_id = f"req-{len(sent)}-{method.lower()}"
        sent.add(request_id)
        headers = {**kwargs.pop("headers", {}), "X-Request-ID": request_id}
        response = api.request(method, path, headers=headers, **kwargs)
        assert response.headers["X-Request-ID"] == request_id
        return response

    login = call("POST", "/auth/token", data={"username": admin.email, "password": admin.password})
    assert login.status_code == 200
    assert call("POST", "/auth/token", data={"username": admin.email, "password": "wrong password"}).status_code == 401
    refresh = login.json()["refresh_token"]
    assert call("POST", "/auth/refresh", json={"refresh_token": refresh}).status_code == 200
    # Used again by another client (not the tab race the reuse window forgives): theft, every session ends.
    api.cookies.clear()  # the thief has not the browser's luna_device cookie
    reused = call("POST", "/auth/refresh", json={"refresh_token": refresh}, headers={"User-Agent": "thief/1.0"})
    assert reused.status_code == 401
    pushed = call(
        "POST",
        "/ingest/readings",
        headers=admin.headers,
        json={"readings": [{"meter_id": "main", "ts": T0.isoformat(), "kwh": 1.5}]},
    )
    assert pushed.status_code == 200, pushed.text
    assert call("GET", f"/tenants/{tenant}", headers=admin.headers).status_code == 200
    assert call("GET", "/meters", headers=admin.headers).status_code == 200

    with tenant_scope(engine, tenant) as connection:
        rows = connection.execute(
            select(audit_log.c.action, audit_log.c.actor, audit_log.c.request_id).order_by(audit_log.c.chain_seq)
        ).all()
    fixture_login, ours = rows[0], rows[1:]  # api_user logged in without an X-Request-ID: one was made up
    assert fixture_login.action == "login" and fixture_login.request_id
    assert {"login", "refresh", "ingest.push", "tenant.read", "meter.list"} <= {r.action for r in ours}
    assert [r for r in ours if r.request_id not in sent] == []
    assert {r.actor for r in rows} == {admin.email}
