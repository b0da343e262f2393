"""Every error is JSON ``{"error": code, "detail": message}`` with the right status. Unexpected
exceptions are answered by ``observability.ObservabilityMiddleware`` (generic 500 + request id)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from luna_core.auth.passwords import WeakPassword
from luna_core.db.tenancy import InvalidTenantId
from luna_core.energy.queries import QueryError
from luna_core.ingest import IngestError
from luna_core.knowledge.errors import ServiceUnavailable
from luna_core.tariffs.models import TariffError
from luna_core.tenants import TenantError
from luna_core.users import UserError, UserExists

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, detail: str, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers
        self.code = code or CODES.get(status, "error")


def not_found(what: str) -> ApiError:
    # Also for another tenant's object: the answer never reveals that it exists.
    return ApiError(404, f"{what} not found")


def error_body(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail, **extra}, status_code=status)


def _field(error: dict[str, Any]) -> str:
    return ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "request"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        response = error_body(error.status, error.code, error.detail)
        response.headers.update(error.headers or {})
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        response = error_body(error.status_code, CODES.get(error.status_code, "error"), str(error.detail))
        response.headers.update(error.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [f"{_field(e)}: {e.get('msg', 'invalid')}" for e in error.errors()]
        fields = [{"field": _field(e), "problem": e.get("msg", "invalid")} for e in error.errors()]
        return error_body(422, "invalid_request", "; ".join(problems), fields=fields)

    @app.exception_handler(DataError)
    async def out_of_range(request: Request, error: DataError) -> JSONResponse:
        # Input the models let through but PostgreSQL cannot hold (a number out of range...).
        return error_body(422, "invalid_request", f"a value is out of range: {str(error.orig).splitlines()[0]}")

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def database_unavailable(request: Request, error: DBAPIError) -> JSONResponse:
        # The database is down, restarting or unreachable: say so at once (the engine's connect
        # timeout bounds the wait) instead of a 500; clients and load balancers retry on 503.
        response = error_body(
            503, "unavailable", "the database is unavailable right now; try again shortly", retry_after_seconds=5
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(ServiceUnavailable)
    async def service_unavailable(request: Request, error: ServiceUnavailable) -> JSONResponse:
        # The vector store, the embedding server or Tika is down: one answer for every route.
        response = error_body(503, "service_unavailable", str(error))
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(UserExists)
    async def conflict(request: Request, error: Exception) -> JSONResponse:
        return error_body(409, "conflict", str(error))

    for bad_input in (QueryError, IngestError, TenantError, UserError, WeakPassword, InvalidTenantId, TariffError):

        @app.exception_handler(bad_input)
        async def invalid(request: Request, error: Exception) -> JSONResponse:
            status = 409 if "already exists" in str(error) else 422
            return error_body(status, CODES[status], str(error))
