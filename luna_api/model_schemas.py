"""Forecast and model-registry models of the OpenAPI contract (``/forecasts``, ``/admin/models``,
``/admin/retrain``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field


class ForecastPoint(BaseModel):
    ts: datetime
    kwh: float
    model_version: str


class ForecastOut(BaseModel):
    target: str
    model_name: str | None
    model_versions: list[str] = Field(description="versions that made the returned points")
    issued_at: datetime | None
    points: list[ForecastPoint]


class RetrainIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


class AliasIn(BaseModel):
    version: str = Field(pattern=r"^[1-9][0-9]{0,9}$", description="the model version to point the champion at")
    reason: str = Field("", max_length=500)


class ModelVersionOut(BaseModel):
    version: str
    aliases: list[str]
    metrics: dict[str, float]
    tags: dict[str, str]
    created_at: datetime

    @classmethod
    def of(cls, version: Any) -> ModelVersionOut:
        """From a registry ``Version`` (its creation time is in epoch milliseconds)."""
        return cls(
            version=version.version,
            aliases=list(version.aliases),
            metrics=version.metrics,
            tags=version.tags,
            created_at=datetime.fromtimestamp(version.created_at_ms / 1000, UTC),
        )


class TrainingRequestOut(BaseModel):
    id: int
    kind: str
    status: str
    reason: str | None
    dagster_run_id: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any) -> TrainingRequestOut:
        """From a row of the ``requests`` outbox (retraining and reindex requests alike)."""
        return cls(
            id=row.id,
            kind=row.kind,
            status=row.status,
            reason=(row.payload or {}).get("reason"),
            dagster_run_id=row.dagster_run_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class ModelsOut(BaseModel):
    name: str
    champion: str | None
    versions: list[ModelVersionOut]
    training: list[TrainingRequestOut]
