"""Tenant isolation, generated from the OpenAPI spec: for every route, an admin and a customer of
tenant A, pointed at tenant B's objects, get nothing of B (404/403, or a body without any of B's
identifiers), and B is unchanged. A new route is covered without touching this file; a new path
parameter fails the test until it has a value below."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from luna_core.db.schema import audit_log, chat_messages, feedback, meter_readings, playbook_rules, users
from luna_core.db.tenancy import tenant_scope
from luna_core.energy.kpis import compute_tenant_kpis, store_tenant_kpis
from luna_core.ingest import ingest_records
from tests.conftest import Meter

T0 = datetime(2026, 5, 4, tzinfo=UTC)
WINDOW = {"start": (T0 - timedelta(days=1)).isoformat(), "end": (T0 + timedelta(days=2)).isoformat()}
# Routes that take no tenant data at all, or are the login itself.
PUBLIC = {"/health", "/ready", "/metrics", "/auth/token", "/auth/refresh", "/auth/logout"}
# Tenant B's rows no request of A may add to or remove from.
B_TABLES = (meter_readings, users, chat_messages, feedback)


@pytest.fixture(scope="module")
def world(engine, api):
    """Tenant B with data whose every identifier is unique, and users of tenant A."""
    from luna_core.tenants import create_tenant, delete_tenant
    from luna_core.users import create_user

    suffix = uuid.uuid4().hex[:6]
    a, b = f"iso-a-{suffix}", f"iso-b-{suffix}"
    create_tenant(engine, a, "Tenant A", meter_specs=(Meter("main"),))
    create_tenant(engine, b, "Tenant B", meter_specs=(Meter(f"secret-meter-{suffix}"),))
    b_meter = f"secret-meter-{suffix}"
    rows = [
        {"meter_id": b_meter, "ts": (T0 + timedelta(minutes=15 * i)).isoformat(), "kwh": "0.123456"} for i in range(96)
    ]
    ingest_records(engine, b, rows, source="http", source_ref="isolation")
    a_rows = [{"meter_id": "main", "ts": (T0 + timedelta(minutes=15 * i)).isoformat(), "kwh": "0.5"} for i in range(96)]
    ingest_records(engine, a, a_rows, source="http", source_ref="isolation")
    people = {}
    for tenant, role in ((a, "admin"), (a, "customer"), (b, "admin")):
        email = f"{role}-{suffix}@{tenant}.example.com"
        with tenant_scope(engine, tenant) as connection:
            people[(tenant, role)] = create_user(connection, tenant, email, "correct horse battery", role)
            store_tenant_kpis(connection, compute_tenant_kpis(connection, tenant))
    tokens = {
        key: api.post("/auth/token", data={"username": user.email, "password": "correct horse battery"}).json()[
            "access_token"
        ]
        for key, user in people.items()
    }
    b_user = people[(b, "admin")]
    # B's admin has asked Luna something and keeps a playbook rule: A must neither see nor touch them.
    from luna_core.luna import NoDocuments, ask
    from luna_core.playbook.rules import create_rule

    b_document = _document_of(engine, api.app.state.settings, b, suffix)

    with tenant_scope(engine, b) as connection:
        b_asked = ask(connection, b, str(b_user.id), f"secret-question-{suffix}?", retriever=NoDocuments())
        b_rule = create_rule(
            connection, b, name=f"secret-rule-{suffix}", strategy="negative_price_alert", actor=b_user.email
        )
    # Strings only B's data contains (B's kWh values are checked through A's totals below: a number
    # like 0.123456 can appear inside any long float, such as a market price).
    secrets = [
        b,
        b_meter,
        b_user.email,
        f"secret-question-{suffix}",
        b_rule.name,
        f"secret-handbook-{suffix}",
        f"Geheimnis{suffix}",
    ]
    from luna_core.forecasting.registry import model_name

    path_values = {
        "tenant_id": b,
        "meter_id": b_meter,
        "user_id": str(b_user.id),
        "name": model_name(b),
        "session_id": str(b_asked.session_id),
        "rule_id": str(b_rule.id),
        "document_id": b_document,
    }
    yield {
        "a": a,
        "b": b,
        "tokens": tokens,
        "secrets": secrets,
        "path_values": path_values,
        "answer_id": str(b_asked.answer_id),
    }
    delete_tenant(engine, a)
    delete_tenant(engine, b)


def _document_of(engine, settings, tenant: str, suffix: str) -> str:
    """An indexed document of B whose name and text are secrets (and match the probe's query)."""
    import hashlib

    from luna_core.knowledge import files, pipeline, store
    from luna_core.knowledge.service import knowledge_for

    data = f"# Isolation probe\n\nGeheimnis{suffix}: isolation probe text of tenant B only.\n".encode()
    document_id = uuid.uuid4()
    files.store(settings, tenant, document_id, data)
    with tenant_scope(engine, tenant) as connection:
        store.insert_document(
            connection,
            tenant,
            id=document_id,
            filename=f"secret-handbook-{suffix}.md",
            content_type="text/markdown",
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
    assert pipeline.process_document(engine, knowledge_for(settings), tenant, document_id) == "indexed"
    return str(document_id)


def _routes(api) -> list[tuple[str, str, dict]]:
    spec = api.get("/openapi.json").json()
    return [
        (method.upper(), path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if path not in PUBLIC
    ]


def _request(api, method: str, path: str, op: dict, world: dict, token: str):
    names = re.findall(r"{(\w+)}", path)
    missing = [n for n in names if n not in world["path_values"]]
    assert not missing, f"{path}: give the isolation test a tenant-B value for {missing}"
    url = path.format(**world["path_values"])
    params = {
        p["name"]: WINDOW[p["name"]] for p in op.get("parameters", []) if p["in"] == "query" and p["name"] in WINDOW
    }
    body = None
    if method in ("POST", "PUT", "PATCH") and "requestBody" in op:
        body = {
            "readings": [{"meter_id": world["path_values"]["meter_id"], "ts": T0.isoformat(), "kwh": 9.9}],
            "version": "1",
            "reason": "isolation probe",
            "share_anonymised": False,
            "question": "isolation probe: what did we use last week?",
            "session_id": world["path_values"]["session_id"],
            "answer_id": world["answer_id"],
            "rating": "down",
            "query": "isolation probe Geheimnis",
        }
    return api.request(method, url, params=params, json=body, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("role", ["admin", "customer"])
def test_no_route_reveals_or_changes_another_tenant(api, engine, world, role):
    token = world["tokens"][(world["a"], role)]
    with tenant_scope(engine, world["b"]) as connection:
        before = [connection.execute(select(func.count()).select_from(t)).scalar_one() for t in B_TABLES]
        b_users_active = connection.execute(select(users.c.is_active)).scalars().all()
        b_rules = connection.execute(select(playbook_rules.c.id, playbook_rules.c.version)).all()
    checked = []
    for method, path, op in _routes(api):
        response = _request(api, method, path, op, world, token)
        assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text}"
        if response.status_code < 400:
            leaked = [s for s in world["secrets"] if s in response.text]
            assert not leaked, f"{method} {path} as {role} of A revealed {leaked} of tenant B"
        checked.append(f"{method} {path}")
    with tenant_scope(engine, world["b"]) as connection:
        after = [connection.execute(select(func.count()).select_from(t)).scalar_one() for t in B_TABLES]
        assert connection.execute(select(users.c.is_active)).scalars().all() == b_users_active
        assert connection.execute(select(playbook_rules.c.id, playbook_rules.c.version)).all() == b_rules
        assert (
            connection.execute(text("SELECT status FROM tenants WHERE id = :b"), {"b": world["b"]}).scalar() == "active"
        )
        # No audit row of A's requests landed in B's log.
        foreign = connection.execute(
            select(func.count()).select_from(audit_log).where(audit_log.c.actor.like(f"%@{world['a']}.example.com"))
        ).scalar_one()
    assert after == before and foreign == 0
    assert len(checked) >= 15  # every tenant route of the spec was exercised
    # A's totals hold A's readings only: 96 quarter-hours of 0.5 kWh.
    totals = api.get(
        "/readings/aggregate", params={**WINDOW, "bucket": "day"}, headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert totals["current"]["kwh"] == pytest.approx(48.0)


def test_object_routes_answer_404_not_403_for_another_tenants_ids(api, world):
    token = world["tokens"][(world["a"], "admin")]
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/tenants/{tenant_id}", "/meters/{meter_id}", "/users/{user_id}"):
        response = api.get(path.format(**world["path_values"]), headers=headers)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"
