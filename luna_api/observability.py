"""Request ids, JSON logs and Prometheus metrics, in one middleware."""

from __future__ import annotations

import logging
import sys
import time
import uuid

import structlog
from prometheus_client import Counter, Gauge, Histogram
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

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


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stdout, one object per event, ready for Fluent Bit."""
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )


class ObservabilityMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, max_body_bytes: int) -> None:
        super().__init__(app)
        self.max_body_bytes = max_body_bytes

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, method=request.method, path=request.url.path)
        started = time.perf_counter()
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_body_bytes:
            response: Response = JSONResponse(
                {"error": "payload_too_large", "detail": f"request body exceeds {self.max_body_bytes} bytes"},
                status_code=413,
            )
        else:
            try:
                response = await call_next(request)
            except Exception:
                # Answered here, not re-raised: the client gets the request id, the log the traceback.
                log.exception("unhandled error")
                response = JSONResponse(
                    {
                        "error": "internal_error",
                        "detail": f"unexpected error; quote request id {request_id}",
                        "request_id": request_id,
                    },
                    status_code=500,
                )
        route = getattr(request.scope.get("route"), "path", "unmatched")
        elapsed = time.perf_counter() - started
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(request.method, route).observe(elapsed)
        response.headers["X-Request-ID"] = request_id
        log.info(
            "request",
            route=route,
            status=response.status_code,
            duration_ms=round(elapsed * 1000, 1),
            tenant=getattr(request.state, "tenant_id", None),
        )
        return response
