"""``GET /admin/status`` checks each configured component for real (issue 13, point 10).

Real components where they run here: PostgreSQL (127.0.0.1:5432), the embedded pgvector server,
the MLflow store in PostgreSQL (the ``registry`` fixture), Mosquitto (127.0.0.1:1883) and Redis
(127.0.0.1:6379). No Ollama server and no Tika server can run here (no binary or jar in any
registry; no Qdrant server either), so those are stand-ins on free local ports, asked over real HTTP by
the real checks:
``OllamaStandIn`` (tests/luna_doubles.py) answers ``GET /api/version`` and ``GET /api/tags`` as
Ollama does, and ``TikaStandIn`` below answers ``GET /version`` with the plain-text banner of the
Tika server; ``QdrantStandIn`` answers ``GET /`` and ``GET /aliases`` as Qdrant's REST API does. A
component that is down is a refused port (nothing listens there) or a socket that
accepts and never answers; both are reported down with what was tried, never as a 500.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from luna_core.ops.status import ComponentCheck, check_all
from luna_core.settings import Settings
from tests.luna_doubles import OllamaStandIn
from tests.private_services import free_port

REDIS = "redis://127.0.0.1:6379/0"


class TikaStandIn:
    """Tika server's ``GET /version`` (``text/plain``: "Apache Tika 3.2.3"); anything else 404."""

    def __init__(self) -> None:
        self.gets: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                stand_in.gets.append(self.path)
                body, status = (b"Apache Tika 3.2.3", 200) if self.path == "/version" else (b"Not Found", 404)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class QdrantStandIn(TikaStandIn):
    """Qdrant's REST ``GET /`` (version banner) and ``GET /aliases`` (alias -> collection)."""

    def __init__(self, aliases: dict[str, str]) -> None:
        self.gets: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                stand_in.gets.append(self.path)
                if self.path == "/":
                    payload: dict = {"title": "qdrant - vector search engine", "version": "1.15.4", "commit": "abc"}
                elif self.path == "/aliases":
                    found = [{"alias_name": a, "collection_name": c} for a, c in aliases.items()]
                    payload = {"result": {"aliases": found}, "status": "ok", "time": 0.00001}
                else:
                    self.send_error(404)
                    return
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"


@pytest.fixture
def tika() -> Iterator[TikaStandIn]:
    server = TikaStandIn()
    yield server
    server.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts connections (the kernel's backlog) and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def _with(settings: Settings, **changes) -> Settings:
    return Settings.model_validate({**settings.model_dump(), **changes})


def _by_name(checks: list[ComponentCheck]) -> dict[str, ComponentCheck]:
    return {check.name: check for check in checks}


def test_every_configured_component_is_asked_for_real(api_settings, tika):
    dagster_down = free_port()
    with OllamaStandIn(lambda _: "", models=("nomic-embed-text", "llama3.1:8b")) as ollama:
        settings = _with(
            api_settings,
            ollama_url=ollama.url,
            tika_url=tika.url,
            redis_url=REDIS,
            mqtt_host="127.0.0.1",
            mqtt_port=1883,
            dagster_webserver_url=f"http://127.0.0.1:{dagster_down}",
        )
        checks = _by_name(check_all(settings))
    assert list(checks) == [
        "database", "vector_store", "model_registry", "embedding_model", "chat_model", "tika", "mqtt", "dagster",
        "redis", "api",
    ]  # fmt: skip
    database = checks["database"]
    assert database.ok and database.version.startswith("PostgreSQL ") and "as role luna_app" in database.detail
    assert database.target == f"postgresql://luna_app@127.0.0.1:5432/{settings.owner_url().database}"
    vectors = checks["vector_store"]
    assert vectors.ok and vectors.version.startswith("pgvector ") and "as role luna_app" in vectors.detail
    assert vectors.target.startswith("pgvector postgresql://luna_app@")
    registry = checks["model_registry"]
    assert registry.ok and "MLflow store" in registry.detail and "registered model" in registry.detail
    assert "postgres@127.0.0.1:5432/luna_test_mlflow_" in registry.target
    for name, model in (("embedding_model", "nomic-embed-text"), ("chat_model", "llama3.1:8b")):
        assert checks[name].ok and checks[name].version == "Ollama 0.6.0", checks[name]
        assert checks[name].target == f"{ollama.url} {model}" and f"model {model} available" == checks[name].detail
    assert {"/api/version", "/api/tags"} <= set(ollama.gets)
    assert checks["tika"].ok and checks["tika"].version == "Apache Tika 3.2.3" and tika.gets == ["/version"]
    assert checks["mqtt"].ok and "CONNACK" in checks["mqtt"].detail and checks["mqtt"].target == "mqtt://127.0.0.1:1883"
    assert checks["redis"].ok and checks["redis"].version.startswith("Redis ") and checks["redis"].target == REDIS
    dagster = checks["dagster"]
    assert not dagster.ok and "ConnectError" in dagster.detail and dagster.target.endswith(f":{dagster_down}")
    for check in checks.values():
        if check.name != "api":
            assert check.latency_ms is not None and check.latency_ms >= 0, check


def test_a_missing_model_and_dead_servers_are_reported_down_with_what_was_tried(api_settings, silent_port):
    refused = free_port()
    with OllamaStandIn(lambda _: "", models=("nomic-embed-text",)) as ollama:
        settings = _with(
            api_settings,
            ollama_url=ollama.url,
            chat_model="llama3.2:3b",
            tika_url=f"http://127.0.0.1:{silent_port}",
            redis_url=f"redis://127.0.0.1:{refused}/0",
            mqtt_port=refused,
            vector_backend="qdrant",
            qdrant_url=f"http://127.0.0.1:{refused}",
            mlflow_url=f"http://127.0.0.1:{refused}",
            status_timeout_seconds=0.5,
        )
        checks = _by_name(check_all(settings))
    assert checks["embedding_model"].ok
    chat = checks["chat_model"]
    assert not chat.ok and "ollama pull llama3.2:3b" in chat.detail and "nomic-embed-text:latest" in chat.detail
    # Accepted, never answered: the client's read timeout, or the bound on the whole probe on a busy machine.
    assert not checks["tika"].ok and re.search("ReadTimeout|no answer within", checks["tika"].detail)
    assert not checks["redis"].ok and "refused" in checks["redis"].detail.lower()
    assert not checks["mqtt"].ok and "refused" in checks["mqtt"].detail.lower()
    assert not checks["vector_store"].ok and "ConnectError" in checks["vector_store"].detail
    assert checks["vector_store"].target == f"http://127.0.0.1:{refused}"
    assert not checks["model_registry"].ok and checks["model_registry"].target == f"http://127.0.0.1:{refused}"
    assert checks["database"].ok  # the rest keeps answering


def test_a_qdrant_server_is_asked_for_its_version_and_the_alias(api_settings):
    qdrant = QdrantStandIn({"luna_knowledge": "luna_knowledge_c20261202093000123456", "other": "other_c1"})
    try:
        settings = _with(api_settings, vector_backend="qdrant", qdrant_url=qdrant.url)
        check = _by_name(check_all(settings))["vector_store"]
    finally:
        qdrant.close()
    assert check.ok and check.version == "Qdrant 1.15.4" and check.target == qdrant.url
    assert check.detail == "alias luna_knowledge -> luna_knowledge_c20261202093000123456"
    assert qdrant.gets == ["/", "/aliases"]


def test_without_servers_the_in_process_parts_say_so(api_settings):
    settings = _with(api_settings, ollama_url=None, tika_url=None, redis_url=None)
    checks = _by_name(check_all(settings))
    assert "redis" not in checks  # not configured: not part of this installation
    for name in ("embedding_model", "tika"):
        assert checks[name].ok and checks[name].target == "in-process" and checks[name].latency_ms is None
    assert checks["chat_model"].ok and "quoted passages" in checks["chat_model"].detail


def test_the_endpoint_reports_real_checks_and_hides_addresses_from_tenant_admins(api, api_user):
    platform = api_user(role="admin", platform_admin=True)
    tenant_admin = api_user(role="admin")
    response = api.get("/admin/status", headers=platform.headers)
    assert response.status_code == 200, response.text
    components = {c["name"]: c for c in response.json()["components"]}
    assert "not configured yet" not in response.text
    assert components["vector_store"]["ok"] and components["model_registry"]["ok"], components
    assert components["database"]["target"].startswith("postgresql://luna_app@")
    assert set(components["mqtt"]) == {"name", "ok", "target", "detail", "latency_ms", "version"}
    assert components["dagster"]["latency_ms"] is not None  # asked (whether a webserver runs here or not)

    hidden = api.get("/admin/status", headers=tenant_admin.headers).json()["components"]
    assert [c["name"] for c in hidden] == list(components) and all(c["target"] is None for c in hidden)


def test_a_down_component_is_a_finding_never_a_500(api_settings, api_user, api):
    from luna_api.main import create_app

    refused = free_port()
    broken = _with(
        api_settings,
        ollama_url=f"http://127.0.0.1:{refused}",
        tika_url=f"http://127.0.0.1:{refused}",
        mqtt_port=refused,
        redis_url=f"redis://127.0.0.1:{refused}/0",
        mlflow_url=f"http://127.0.0.1:{refused}",
        dagster_webserver_url=f"http://127.0.0.1:{refused}",
    )
    platform = api_user(role="admin", platform_admin=True)
    with TestClient(create_app(broken), raise_server_exceptions=False) as client:
        response = client.get("/admin/status", headers=platform.headers)
    assert response.status_code == 200, response.text
    components = {c["name"]: c for c in response.json()["components"]}
    down = {name for name, c in components.items() if not c["ok"]}
    assert down == {"embedding_model", "chat_model", "tika", "mqtt", "redis", "model_registry", "dagster"}
    assert all(str(refused) in components[name]["target"] for name in down)
    assert components["database"]["ok"] and components["vector_store"]["ok"] and components["api"]["ok"]
