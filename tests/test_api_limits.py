"""Limits on every door, against the real Redis at 127.0.0.1:6379 (a key prefix of its own per test) and
real PostgreSQL: rate limits per user and per client address on login, Luna, ingest and uploads (429
with Retry-After and the usual JSON), shared by two API instances, as is the login lockout; and the body
limit counted on the stream, so a chunked body is cut off at the limit instead of read in full."""

from __future__ import annotations

import select
import socket
import time
import uuid

import pytest
import redis
from fastapi.testclient import TestClient

from luna_api.main import create_app
from luna_core.ratelimit import RateLimiter
from tests.e2e.conftest import ServerThread

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "correct horse battery"


@pytest.fixture
def redis_prefix():
    prefix = f"luna-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    server = redis.Redis.from_url(REDIS_URL)
    keys = list(server.scan_iter(f"{prefix}:*"))
    if keys:
        server.delete(*keys)
    server.close()


def limited_settings(api_settings, prefix: str, **limits):
    return api_settings.model_copy(update={"redis_url": REDIS_URL, "redis_key_prefix": prefix, **limits})


def assert_429(response) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["error"] == "too_many_requests" and "rate limit" in body["detail"]
    assert 0 < int(response.headers["Retry-After"]) <= 60


def test_luna_ingest_and_uploads_are_limited_per_user(api_settings, api_user, redis_prefix):
    user = api_user(role="admin")
    other = api_user(tenant_id=user.tenant_id, role="admin")
    settings = limited_settings(
        api_settings,
        redis_prefix,
        rate_limit_ask_user="2/minute",
        rate_limit_ingest_user="3/minute",
        rate_limit_upload_user="1/minute",
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as http:
        # The limit counts requests before their body is read: empty bodies (422) count like any other.
        for _ in range(2):
            assert http.post("/rag/ask", headers=user.headers, json={}).status_code == 422
        assert_429(http.post("/rag/ask", headers=user.headers, json={}))
        assert http.post("/rag/ask", headers=other.headers, json={}).status_code == 422  # a quota per user
        for _ in range(3):
            assert http.post("/ingest/readings", headers=user.headers, json={}).status_code == 422
        assert_429(http.post("/ingest/readings", headers=user.headers, json={}))
        assert http.post("/ingest/doc", headers=user.headers).status_code == 422  # uploads: a limit of their own
        assert_429(http.post("/ingest/doc", headers=user.headers))
        # Reading is not limited.
        assert http.get("/documents", headers=user.headers).status_code == 200


def test_requests_without_a_valid_token_are_limited_per_address(api_settings, redis_prefix):
    settings = limited_settings(api_settings, redis_prefix, rate_limit_ingest_address="3/minute")
    app = create_app(settings)
    forged = {"Authorization": "Bearer " + "e30." * 2 + "x"}
    with TestClient(app, raise_server_exceptions=False, client=("198.51.100.9", 1)) as http:
        assert [http.post("/ingest/readings", headers=forged).status_code for _ in range(3)] == [401] * 3
        assert_429(http.post("/ingest/readings", headers=forged))
    with TestClient(app, raise_server_exceptions=False, client=("198.51.100.10", 1)) as neighbour:
        assert neighbour.post("/ingest/readings", headers=forged).status_code == 401


def test_login_is_limited_per_address_and_per_account(api_settings, api_user, redis_prefix):
    user = api_user()
    settings = limited_settings(
        api_settings, redis_prefix, rate_limit_login_address="4/minute", rate_limit_login_account="2/minute"
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False, client=("198.51.100.20", 1)) as http:
        ok = [http.post("/auth/token", data={"username": user.email, "password": PASSWORD}) for _ in range(2)]
        assert [r.status_code for r in ok] == [200, 200]
        assert_429(http.post("/auth/token", data={"username": user.email, "password": PASSWORD}))
        other = http.post("/auth/token", data={"username": "someone@else.example.com", "password": "x" * 10})
        assert other.status_code == 401  # the 4th request of this address
        assert_429(http.post("/auth/token", data={"username": "third@else.example.com", "password": "x" * 10}))


def test_two_api_instances_share_rate_limits_and_the_lockout(api_settings, api_user, redis_prefix):
    """Two app objects, as two replicas behind a load balancer: one Redis, one PostgreSQL."""
    user = api_user()
    settings = limited_settings(
        api_settings, redis_prefix, rate_limit_ask_user="3/minute", login_max_failures_per_address=20
    )
    first, second = create_app(settings), create_app(settings)
    assert first.state.rate_limiter is not second.state.rate_limiter and first.state.rate_limiter.shared
    with (
        TestClient(first, raise_server_exceptions=False, client=("198.51.100.40", 1)) as a,
        TestClient(second, raise_server_exceptions=False, client=("198.51.100.40", 1)) as b,
    ):
        answers = [http.post("/rag/ask", headers=user.headers, json={}).status_code for http in (a, b, a)]
        assert answers == [422, 422, 422]
        assert_429(b.post("/rag/ask", headers=user.headers, json={}))
        assert_429(a.post("/rag/ask", headers=user.headers, json={}))

        wrong = [
            http.post("/auth/token", data={"username": user.email, "password": f"wrong {i}"}).status_code
            for i, http in enumerate((a, b, a, b, a))
        ]
        assert wrong == [401] * 5
        for http in (b, a):
            locked = http.post("/auth/token", data={"username": user.email, "password": PASSWORD})
            assert locked.status_code == 429 and "failed sign-ins" in locked.json()["detail"]


def test_an_unreachable_redis_lets_requests_through():
    limiter = RateLimiter("redis://127.0.0.1:1/0", "luna-test")
    assert limiter.hit("1/minute", "ask", "user:x") is None
    assert limiter.hit("1/minute", "ask", "user:x") is None


def test_the_in_process_limiter_without_redis():
    limiter = RateLimiter(None)
    assert not limiter.shared
    assert limiter.hit("2/minute", "ask", "user:y") is None
    assert limiter.hit("2/minute", "ask", "user:y") is None
    limited = limiter.hit("2/minute", "ask", "user:y")
    assert limited is not None and 0 < limited.retry_after <= 60


def _send_chunked(port: int, path: str, total: int, headers: str = "") -> tuple[int, bytes]:
    """Sends ``total`` bytes as a chunked body until the server answers; returns (bytes sent, response)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{headers}"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    block = b"[" + b"1," * 32767 + b"1"
    frame = f"{len(block):x}\r\n".encode() + block + b"\r\n"
    sent = 0
    try:
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            sock.sendall(frame)
            sent += len(block)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass
    response = b""
    deadline = time.monotonic() + 20
    try:
        while b"\r\n\r\n" not in response and time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                break
            response += data
    except (ConnectionResetError, TimeoutError):
        pass
    sock.close()
    return sent, response


def test_a_chunked_body_is_cut_off_at_the_limit(api_settings):
    """110 MB sent chunked (no Content-Length) without a token: refused 413 once the limit is passed,
    long before the rest has been sent (before: read in full, then 401)."""
    settings = api_settings.model_copy(update={"max_request_bytes": 10 * 1024 * 1024})
    with ServerThread(create_app(settings)) as server:
        sent, response = _send_chunked(server.port, "/ingest/readings", 110 * 1024 * 1024)
    status_line = response.split(b"\r\n", 1)[0]
    assert b" 413 " in status_line, response[:300]
    assert b"payload_too_large" in response or b"content-length" in response.lower()
    assert sent < 40 * 1024 * 1024, f"the server let {sent / 1e6:.0f} MB in before answering"


def test_the_body_limit_counts_a_chunked_body_within_the_app(api, api_user, api_settings):
    user = api_user(role="admin")

    def chunks():
        block = b" " * 1024 * 1024
        for _ in range(api_settings.max_request_bytes // len(block) + 2):
            yield block

    response = api.post(
        "/ingest/readings", headers={**user.headers, "Content-Type": "application/json"}, content=chunks()
    )
    assert response.status_code == 413 and response.json()["error"] == "payload_too_large"


def test_uploads_keep_their_larger_limit(api, api_user, api_settings):
    """A 12 MB upload passes the 10 MB request limit (uploads have max_upload_mb) and reaches the route,
    which refuses the file type; above max_upload_mb it is 413."""
    user = api_user(role="admin")
    big = b"x" * (12 * 1024 * 1024)
    response = api.post("/ingest/doc", headers=user.headers, files={"file": ("big.exe", big)})
    assert response.status_code == 415, response.text
    huge = b"x" * int((api_settings.max_upload_mb + 1) * 1024 * 1024)
    response = api.post("/ingest/doc", headers=user.headers, files={"file": ("huge.txt", huge)})
    assert response.status_code == 413 and response.json()["error"] == "payload_too_large"
