"""Liveness, readiness and Prometheus metrics (no authentication: they reveal no tenant data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text

from luna_api.deps import get_engine
from luna_api.observability import DB_POOL
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
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
    except Exception as error:  # any failure means not ready; the reason is returned, not raised
        return JSONResponse({"status": "not_ready", "detail": f"database: {type(error).__name__}"}, status_code=503)
    head = migrate.head_revision()
    if revision != head:
        return JSONResponse(
            {"status": "not_ready", "detail": f"schema at {revision}, code expects {head}"}, status_code=503
        )
    return JSONResponse({"status": "ready", "schema": revision})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    pool = request.app.state.engine.pool
    DB_POOL.labels("checked_out").set(pool.checkedout())
    DB_POOL.labels("idle").set(pool.checkedin())
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
