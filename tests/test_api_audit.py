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
    window = {"start": T0.isoformat(), "end": (T0 + timedelta(days=1)).isoformat()}
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
