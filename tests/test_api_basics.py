"""The API on real PostgreSQL: auth, tenancy from the token, errors as JSON, audit rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from luna_core.ingest import ingest_records
from tests.conftest import METRICS_TOKEN, Meter

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _readings(n: int, meter: str = "main") -> list[dict]:
    return [{"meter_id": meter, "ts": (T0 + timedelta(minutes=15 * i)).isoformat(), "kwh": "0.5"} for i in range(n)]


def test_login_and_me(api, api_user):
    user = api_user(role="admin")
    me = api.get("/users/me", headers=user.headers)
    assert me.status_code == 200
    assert me.json()["email"] == user.email and me.json()["tenant_id"] == user.tenant_id


def test_wrong_password_is_401_with_the_same_words_for_unknown_emails(api, api_user):
    """The lockout itself: tests/test_auth_lockout.py; refresh-token rotation: tests/test_auth_refresh.py."""
    user = api_user()
    wrong = api.post("/auth/token", data={"username": user.email, "password": "wrong password!"})
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "unauthorized", "detail": "incorrect e-mail or password"}
    unknown = api.post("/auth/token", data={"username": "nobody@nowhere.example.com", "password": "whatever12"})
    assert unknown.status_code == 401 and unknown.json() == wrong.json()


def test_bad_tokens_are_refused(api, api_user, api_settings):
    user = api_user()
    claims = jwt.decode(user.token, options={"verify_signature": False})
    expired = jwt.encode({**claims, "exp": datetime.now(UTC) - timedelta(minutes=1)}, api_settings.jwt_key(), "HS256")
    foreign = jwt.encode({**claims, "iss": "someone-else"}, api_settings.jwt_key(), "HS256")
    tampered = jwt.encode({**claims, "tenant": "other-tenant"}, "not-the-key-" + "y" * 40, "HS256")
    for token, message in (
        (expired, "token expired"),
        (foreign, "token issuer is not trusted"),
        (tampered, "token signature is invalid"),
        ("garbage", "token is malformed"),
    ):
        response = api.get("/meters", headers={"Authorization": f"Bearer {token}"})
        assert (response.status_code, response.json()["detail"]) == (401, message)
    assert api.get("/meters").status_code == 401


def test_customer_cannot_do_admin_things(api, api_user):
    customer = api_user()
    assert api.get("/admin/audit", headers=customer.headers).status_code == 403
    assert (
        api.post(
            "/users", headers=customer.headers, json={"email": "x@y.example.com", "password": "long enough pw"}
        ).status_code
        == 403
    )
    assert api.post("/tenants", headers=customer.headers, json={"id": "new-one", "name": "x"}).status_code == 403
    header = {**customer.headers, "X-Luna-Tenant": "someone-else"}
    assert api.get("/meters", headers=header).status_code == 403


def test_validation_errors_name_the_field(api, api_user):
    user = api_user()
    response = api.get("/readings/aggregate", headers=user.headers, params={"start": "yesterday", "end": "x"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request" and "start" in body["detail"] and "end" in body["detail"]
    naive = api.get(
        "/readings/aggregate",
        headers=user.headers,
        params={"start": "2026-01-02T00:00:00+00:00", "end": "2026-01-01T00:00:00+00:00"},
    )
    assert (naive.status_code, naive.json()["detail"]) == (422, "end must be after start")


def test_readings_and_aggregate_and_audit(api, api_user, engine, tenant_factory):
    tenant = tenant_factory("agg", meters=(Meter("main"),))
    ingest_records(engine, tenant, _readings(8), source="http", source_ref="fixture")
    admin = api_user(tenant, role="admin")
    listed = api.get(
        "/readings",
        headers=admin.headers,
        params={"start": T0.isoformat(), "end": (T0 + timedelta(days=1)).isoformat(), "limit": 5},
    )
    assert listed.status_code == 200
    assert len(listed.json()["items"]) == 5 and listed.json()["next_offset"] == 5
    hourly = api.get(
        "/readings/aggregate",
        headers=admin.headers,
        params={"start": T0.isoformat(), "end": (T0 + timedelta(hours=2)).isoformat(), "bucket": "hour"},
    )
    assert [b["kwh"] for b in hourly.json()["current"]["buckets"]] == [2.0, 2.0]
    audit = api.get("/admin/audit", headers=admin.headers, params={"action": "readings.aggregate"}).json()["items"]
    assert audit and audit[0]["actor"] == admin.email and audit[0]["request_id"]


def test_ingest_push_quarantines_and_is_idempotent(api, api_user, engine, tenant_factory):
    tenant = tenant_factory("push", meters=(Meter("main"),))
    admin = api_user(tenant, role="admin")
    body = {"readings": [*_readings(4), {"meter_id": "main", "ts": "nonsense", "kwh": 1}]}
    first = api.post("/ingest/readings", headers=admin.headers, json=body)
    assert first.status_code == 200, first.text
    assert (first.json()["rows_stored"], first.json()["rows_quarantined"]) == (4, 1)
    again = api.post("/ingest/readings", headers=admin.headers, json=body).json()
    assert (again["rows_stored"], again["rows_unchanged"]) == (0, 4)


def test_unexpected_error_is_a_generic_500_with_request_id(api, api_user, monkeypatch):
    from luna_core.energy import queries

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(queries, "list_meters", boom)
    user = api_user()
    response = api.get("/meters", headers={**user.headers, "X-Request-ID": "req-123"})
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "detail": "unexpected error; quote request id req-123",
        "request_id": "req-123",
    }


def test_health_ready_metrics(api):
    health = api.get("/health", headers={"X-Request-Id": "probe-1"})
    assert health.json()["status"] == "ok"
    assert health.headers["x-request-id"] == "probe-1"
    assert float(health.headers["server-timing"].removeprefix("app;dur=")) >= 0
    assert api.get("/ready").json()["status"] == "ready"
    metrics = api.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    assert "luna_http_requests_total" in metrics and 'route="/health"' in metrics


def test_too_large_body_is_413(api, api_user, api_settings):
    user = api_user(role="admin")
    response = api.post(
        "/ingest/readings",
        headers={**user.headers, "Content-Type": "application/json"},
        content=b"x" * (api_settings.max_request_bytes + 1),
    )
    assert response.status_code == 413 and response.json()["error"] == "payload_too_large"


def test_log_lines_are_json_with_request_id_tenant_and_route(api_settings, api_user, capsys):
    import json

    from fastapi.testclient import TestClient

    from luna_api.main import create_app

    user = api_user()
    dev = api_settings.model_copy(update={"environment": "dev"})  # INFO lines, as in production
    try:
        with TestClient(create_app(dev)) as client:
            client.get("/meters", headers={**user.headers, "X-Request-ID": "log-check"})
    finally:
        create_app(api_settings)  # back to the test log level
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if line.get("request_id") == "log-check"]
    assert request_lines, "the request wrote no JSON log line"
    closing = request_lines[-1]
    assert (closing["route"], closing["tenant"], closing["status"]) == ("/meters", user.tenant_id, 200)
