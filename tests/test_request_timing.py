"""A request's duration (the access log line, ``luna_http_request_duration_seconds``, the request
counter) ends with the response's last byte: a FastAPI background task runs afterwards, in the same
ASGI call, and is no part of it. On the real ``POST /ingest/doc``, whose background task processes the
upload, and on a small app for a background task that fails after its response went out."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
import structlog
from fastapi import BackgroundTasks, FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from luna_api.observability import ObservabilityMiddleware
from luna_api.routers import documents as documents_router
from tests import documents as make

LATENCY_COUNT = "luna_http_request_duration_seconds_count"


@pytest.fixture
def info_logs() -> Iterator[list[dict]]:
    """The API's structlog events at INFO and above (the test app logs only warnings), as dicts."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(**saved)


def _observed(method: str, route: str) -> float:
    return REGISTRY.get_sample_value(LATENCY_COUNT, {"method": method, "route": route}) or 0.0


def test_upload_duration_stops_at_the_response_not_after_the_background_task(api, api_user, monkeypatch, info_logs):
    admin = api_user(role="admin")
    real_task = documents_router.process_in_background
    seen: dict[str, object] = {}

    def slow_background_task(*args, **kwargs) -> None:
        # What the request's own bookkeeping says once the client has its answer and the task starts.
        seen["task_started"] = time.perf_counter()
        seen["logged"] = [dict(e) for e in info_logs if e.get("event") == "request" and e.get("route") == "/ingest/doc"]
        seen["observed"] = _observed("POST", "/ingest/doc")
        time.sleep(0.5)  # a long document: the task outlasts the request by far
        real_task(*args, **kwargs)

    monkeypatch.setattr(documents_router, "process_in_background", slow_background_task)
    before = _observed("POST", "/ingest/doc")
    sent = time.perf_counter()
    response = api.post("/ingest/doc", headers=admin.headers, files={"file": ("timing.txt", make.TEXT.encode())})
    returned = time.perf_counter()
    assert response.status_code == 202, response.text
    assert "task_started" in seen, "the background task did not run"
    # Logged and counted before the background task began, not after it ended.
    assert [e["status"] for e in seen["logged"]] == [202]
    assert seen["observed"] == before + 1
    request_ms = seen["logged"][0]["duration_ms"]
    assert request_ms <= (seen["task_started"] - sent) * 1000
    assert (returned - sent) * 1000 - request_ms >= 500  # the task's time is outside the request's
    # And exactly once: the request is not counted again when the task finishes.
    assert _observed("POST", "/ingest/doc") == before + 1
    assert len([e for e in info_logs if e.get("event") == "request" and e.get("route") == "/ingest/doc"]) == 1
    document = api.get(f"/documents/{response.json()['id']}", headers=admin.headers).json()
    assert document["status"] == "indexed", document


def _app_with_background(task) -> FastAPI:
    app = FastAPI()

    @app.post("/work", status_code=202)
    def work(background: BackgroundTasks) -> dict:
        background.add_task(task)
        return {"queued": True}

    app.add_middleware(ObservabilityMiddleware)
    return app


def test_a_background_task_that_fails_after_the_response_is_logged_not_answered_twice(info_logs):
    ran = threading.Event()

    def failing_task() -> None:
        ran.set()
        raise RuntimeError("the background work broke")

    before = _observed("POST", "/work")
    with TestClient(_app_with_background(failing_task), raise_server_exceptions=False) as client:
        response = client.post("/work")
    assert ran.is_set()
    assert response.status_code == 202 and response.json() == {"queued": True}
    requests = [e for e in info_logs if e.get("event") == "request"]
    assert [(e["route"], e["status"]) for e in requests] == [("/work", 202)]
    assert _observed("POST", "/work") == before + 1
    errors = [e for e in info_logs if e.get("log_level") == "error"]
    assert [e["event"] for e in errors] == ["unhandled error after the response"]
