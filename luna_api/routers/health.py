"""Liveness and readiness (no authentication: they reveal no tenant data), and Prometheus metrics: for
the bearer token ``LUNA_METRICS_TOKEN`` only, or without one for the scrape network (``metrics_networks``)."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine

from luna_api.deps import get_engine
from luna_api.errors import ApiError
from luna_api.observability import DB_POOL
from luna_api.schemas import Error
from luna_core import __version__
from luna_core.db import migrate

router = APIRouter(tags=["ops"])


@router.get("/health", summary="Liveness: the process answers")
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/ready", summary="Readiness: the database answers and its schema is current")
def ready(engine: Annotated[Engine, Depends(get_engine)]) -> JSONResponse:
    try:
        with engine.connect() as connection:
            revision = migrate.stored_revision(connection)
    except Exception as error:  # any failure means not ready; the reason is returned, not raised
        return JSONResponse({"status": "not_ready", "detail": f"database: {type(error).__name__}"}, status_code=503)
    head = migrate.head_revision()
    if revision != head:
        return JSONResponse(
            {"status": "not_ready", "detail": f"schema at {revision}, code expects {head}"}, status_code=503
        )
    return JSONResponse({"status": "ready", "schema": revision})


@router.get(
    "/metrics",
    summary="Prometheus metrics (Authorization: Bearer LUNA_METRICS_TOKEN)",
    response_class=Response,
    responses={401: {"model": Error}, 403: {"model": Error}},
)
def metrics(request: Request) -> Response:
    _check_scraper(request)
    pool = request.app.state.engine.pool
    DB_POOL.labels("checked_out").set(pool.checkedout())
    DB_POOL.labels("idle").set(pool.checkedin())
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _check_scraper(request: Request) -> None:
    settings = request.app.state.settings
    if settings.metrics_token:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(sent.encode(), settings.metrics_token.encode()):
            return
        raise ApiError(401, "send Authorization: Bearer <LUNA_METRICS_TOKEN>", headers={"WWW-Authenticate": "Bearer"})
    address = request.client.host if request.client else ""
    if not _in_networks(address, settings.metrics_networks):
        raise ApiError(403, "/metrics answers the scrape network only; set LUNA_METRICS_TOKEN to scrape from elsewhere")


def _in_networks(address: str, networks: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    # Validated by the settings: every entry is a network.
    return any(ip in ipaddress.ip_network(n.strip(), strict=False) for n in networks.split(",") if n.strip())
