"""Forecasts for customers; model versions, retraining, promotion and rollback for admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request

from luna_api.deps import AdminCtx, Context, Ctx
from luna_api.errors import ApiError, not_found
from luna_api.model_schemas import (
    AliasIn,
    ForecastOut,
    ForecastPoint,
    ModelsOut,
    ModelVersionOut,
    RetrainIn,
    TrainingRequestOut,
)
from luna_api.schemas import Error, RequestOut
from luna_core.energy.queries import QueryError
from luna_core.forecasting import service
from luna_core.forecasting.registry import ModelRegistry, registry_for

router = APIRouter(tags=["forecasts"])
NOT_FOUND = {404: {"model": Error}}


def _registry(request: Request) -> ModelRegistry:
    # Built on first use: importing MLflow costs a second the other routes should not pay.
    registry = getattr(request.app.state, "registry", None)
    if registry is None:
        registry = request.app.state.registry = registry_for(request.app.state.settings)
    return registry


@router.get("/forecasts", response_model=ForecastOut)
def get_forecasts(
    ctx: Ctx,
    start: Annotated[datetime | None, Query(description="default: now")] = None,
    end: Annotated[datetime | None, Query(description="default: start + 48 h")] = None,
    target: Annotated[str, Query(max_length=32)] = "load",
) -> ForecastOut:
    """The newest forecast per interval, each with the model version that made it."""
    start = start or datetime.now(UTC)
    end = end or start + timedelta(hours=48)
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise QueryError("start and end need a UTC offset, and end must be after start")
    rows = service.read_forecasts(ctx.db, ctx.tenant_id, start, end, target)
    ctx.audit("forecast.read", target=f"forecast/{target}")
    return ForecastOut(
        target=target,
        model_name=rows[0].model_name if rows else None,
        model_versions=sorted({r.model_version for r in rows}),
        issued_at=max((r.issued_at for r in rows), default=None),
        points=[ForecastPoint(ts=r.ts, kwh=r.kwh, model_version=r.model_version) for r in rows],
    )


@router.post("/admin/retrain", response_model=RequestOut, status_code=202)
def retrain(body: RetrainIn, ctx: AdminCtx) -> RequestOut:
    """Queues a retraining run (the outbox sensor starts it); follow it in GET /admin/models."""
    request_id = service.request_retrain(
        ctx.db, ctx.tenant_id, body.reason, requested_by=ctx.principal.email or ctx.principal.subject
    )
    ctx.audit("model.retrain", target=f"request/{request_id}", reason=body.reason)
    return RequestOut(id=request_id, kind="retrain", status="pending")


@router.get("/admin/models", response_model=ModelsOut)
def list_models(request: Request, ctx: AdminCtx) -> ModelsOut:
    listed = service.model_versions(_registry(request), ctx.tenant_id)
    training = service.retrain_requests(ctx.db, ctx.tenant_id)
    ctx.audit("model.list")
    return ModelsOut(
        name=listed.name,
        champion=listed.champion,
        versions=[ModelVersionOut.of(v) for v in listed.versions],
        training=[TrainingRequestOut.of(r) for r in training],
    )


def _move_champion(request: Request, ctx: Context, name: str, body: AliasIn, action: str) -> ModelVersionOut:
    try:
        moved = service.move_champion(
            _registry(request), ctx.tenant_id, name, body.version, body.reason or f"{action} by admin"
        )
    except service.ModelNotFound:
        raise not_found("model") from None  # another tenant's model answers like a missing one
    except service.AlreadyChampion as error:
        raise ApiError(409, str(error)) from None
    except service.RegistryError:
        raise not_found(f"model version {body.version}") from None
    ctx.audit(f"model.{action}", target=f"{name}/{body.version}", previous=moved.previous, reason=body.reason)
    return ModelVersionOut.of(moved.version)


@router.post("/admin/models/{name}/promote", response_model=ModelVersionOut, responses=NOT_FOUND)
def promote(name: str, body: AliasIn, request: Request, ctx: AdminCtx) -> ModelVersionOut:
    """Makes a version the champion (forecasts use it from the next run on)."""
    return _move_champion(request, ctx, name, body, "promote")


@router.post("/admin/models/{name}/rollback", response_model=ModelVersionOut, responses=NOT_FOUND)
def rollback(name: str, body: AliasIn, request: Request, ctx: AdminCtx) -> ModelVersionOut:
    """Moves the champion back to an earlier version; audited like a promotion."""
    return _move_champion(request, ctx, name, body, "rollback")
