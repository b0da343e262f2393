"""Request ids, JSON logs and Prometheus metrics, in one middleware; the recent warnings and errors
of this process, for the admin console."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime

import structlog
from prometheus_client import Counter, Gauge, Histogram
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("luna_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "luna_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INGESTED = Counter("luna_ingest_rows_total", "Readings through the HTTP ingest path", ["outcome"])
DB_POOL = Gauge("luna_db_pool_connections", "Database pool connections", ["state"])

log = structlog.get_logger("luna_api")

# Keys whose values never reach a log line, and credentials embedded in free text.
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|authorization|api_?key|storage_key|credential|cookie", re.I)
_SECRET_TEXT = re.compile(
    r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+|((?:password|secret|token)=)[^&\s]+|(://[^:/@\s]+:)[^@\s]+(@)"
)


def _scrub(text: str) -> str:
    return _SECRET_TEXT.sub(
        lambda m: (m.group(1) or m.group(2) or m.group(3) or "") + "[redacted]" + (m.group(4) or ""), text
    )


def redact_secrets(logger, method_name: str, event_dict: dict) -> dict:
    """A structlog processor: defence in depth, so a token or password logged by mistake is masked."""
    for key, value in list(event_dict.items()):
        if _SECRET_KEY.search(key) and value is not None:
            event_dict[key] = "[redacted]"
        elif isinstance(value, str):
            event_dict[key] = _scrub(value)
    return event_dict


LOG_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # UTC; what deploy/observability/fluent-bit/parsers.conf reads
_KEPT_LEVELS = frozenset({"warning", "error", "critical"})


class RecentErrors:
    """The newest WARNING/ERROR lines of this process, as written (JSON, secrets redacted), each with
    the tenant it was logged for (None: not in a tenant's request). Bounded: a storm of errors costs
    ``maxlen`` lines of memory, not more. Shared by the threads of the process, hence the lock."""

    def __init__(self, maxlen: int = 50) -> None:
        self._lines: deque[tuple[str | None, str]] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def add(self, tenant: str | None, line: str) -> None:
        with self._lock:
            self._lines.append((tenant, line))

    def newest(self, limit: int, tenant: str | None, *, every_tenant: bool = False) -> list[str]:
        """Newest first: the lines of ``tenant`` and those of no tenant, or all with ``every_tenant``."""
        with self._lock:
            lines = list(self._lines)
        found = [line for owner, line in reversed(lines) if every_tenant or owner is None or owner == tenant]
        return found[:limit]


RECENT_ERRORS = RecentErrors()


class _RenderAndRemember:
    """The JSON renderer, keeping each warning or error line it renders in ``RECENT_ERRORS``."""

    def __init__(self) -> None:
        self._render = structlog.processors.JSONRenderer()

    def __call__(self, logger, method_name: str, event_dict: dict) -> str:
        line = self._render(logger, method_name, event_dict)
        if event_dict.get("level") in _KEPT_LEVELS:
            RECENT_ERRORS.add(_tenant_of(event_dict), line)
        return line


class RecentErrorsHandler(logging.Handler):
    """Warnings and errors of the standard library's loggers (libraries, the server) into the same
    ring, rendered like our own lines and through the same redaction."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            event = {
                **structlog.contextvars.get_contextvars(),
                "event": record.getMessage(),
                "logger": record.name,
                "level": record.levelname.lower(),
                "timestamp": datetime.fromtimestamp(record.created, UTC).strftime(LOG_TIME_FORMAT),
            }
            if record.exc_info:
                event["exception"] = logging.Formatter().formatException(record.exc_info)
            event = redact_secrets(None, record.levelname.lower(), event)
            RECENT_ERRORS.add(_tenant_of(event), json.dumps(event, default=str))
        except Exception:
            self.handleError(record)


def _tenant_of(event_dict: dict) -> str | None:
    tenant = event_dict.get("tenant")
    return tenant if isinstance(tenant, str) and tenant else None


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stdout, one object per event, ready for Fluent Bit; warnings and errors also
    kept in ``RECENT_ERRORS`` for ``GET /admin/status``."""
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level)
    root = logging.getLogger()
    if not any(isinstance(handler, RecentErrorsHandler) for handler in root.handlers):
        root.addHandler(RecentErrorsHandler())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            # Always six fractional digits: Fluent Bit's parser (Time_Format ...%S.%LZ) rejects a time without
            # them, which isoformat() writes for an instant on a whole second.
            structlog.processors.TimeStamper(fmt=LOG_TIME_FORMAT, utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            _RenderAndRemember(),
        ],
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=False,  # the level can change when an app is created again (tests)
    )


async def bind_route(request: Request) -> None:
    """An app-wide dependency: from here on every log line of the request names its route."""
    route = request.scope.get("route")
    structlog.contextvars.bind_contextvars(route=getattr(route, "path", None))


class ObservabilityMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware: its extra task per request costs about a millisecond)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:100] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, method=scope["method"], path=scope["path"])
        started = time.perf_counter()
        status = 500
        finished = False

        def finish() -> None:
            # At the response's last byte: a background task (FastAPI runs it after the body, inside
            # this same call) is no part of the request's duration, its metrics or its log line.
            nonlocal finished
            if finished:
                return
            finished = True
            route = getattr(scope.get("route"), "path", "unmatched")
            elapsed = time.perf_counter() - started
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            log.info(
                "request",
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 1),
                tenant=scope["state"].get("tenant_id"),
            )

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Server-Timing: the time spent in the app up to the response head, so a client (or
                # bench/api.py) can tell server time from network and client time.
                took = f"app;dur={(time.perf_counter() - started) * 1000:.2f}".encode("latin-1")
                message.setdefault("headers", []).extend(
                    [(b"x-request-id", request_id.encode("latin-1")), (b"server-timing", took)]
                )
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finish()

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if finished:
                # The response went out whole; what failed ran after it (a background task).
                log.exception("unhandled error after the response", route=getattr(scope.get("route"), "path", None))
                return
            # Answered here, not re-raised: the client gets the request id, the log the traceback.
            log.exception("unhandled error")
            body = {
                "error": "internal_error",
                "detail": f"unexpected error; quote request id {request_id}",
                "request_id": request_id,
            }
            await _json(500, body)(scope, receive, send_with_id)
        finish()  # no complete body was sent (the client went away): counted when the app returns


def _json(status: int, body: dict) -> JSONResponse:
    return JSONResponse(body, status_code=status)
