"""Response and request models (the OpenAPI contract)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

import orjson
from fastapi import Path, Query, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

MAX_PAGE = 1000
BIGINT_MAX = 9_223_372_036_854_775_807

# Bounded so no generated value can reach PostgreSQL out of range.
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="rows to skip")]
UserId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None = Field(None, description="offset of the next page, null on the last one")


def json_response(content: Any) -> Response:
    """Serialises plain data with orjson without building models: for large results read from the
    database (a year of hourly buckets), where model validation would cost more than the query and
    pydantic_core's datetime encoding alone took 9 ms a year (orjson: 2 ms for the whole list).
    The route keeps its response_model for the docs, and the schema tests hold it to it."""
    return Response(orjson.dumps(content), media_type="application/json")


def page(items: list[T], limit: int, offset: int, total: int | None = None) -> Page[T]:
    more = len(items) == limit if total is None else offset + len(items) < total
    return Page(items=items, limit=limit, offset=offset, next_offset=offset + limit if more else None)


class Error(BaseModel):
    error: str
    detail: str


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_token: str


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class TenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    kind: str
    zone: str
    timezone: str
    state: str | None
    status: str
    latitude: float | None = None
    longitude: float | None = None
    share_anonymised: bool = True


class SharingIn(BaseModel):
    share_anonymised: bool = Field(description="share the anonymised load shape with the global forecasting model")


class MeterIn(BaseModel):
    meter_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    kind: Literal["consumption", "pv", "ev", "heat_pump", "battery"]
    max_kw: float = Field(gt=0, le=100_000)
    name: str | None = Field(None, max_length=200)


class TenantIn(BaseModel):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,62}$", description="slug, also the Dagster partition key")
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["household", "business", "housing"] = "business"
    zone: str = Field("DE-LU", max_length=20)
    timezone: str = Field("Europe/Berlin", max_length=64)
    state: str | None = Field(None, max_length=2, description="German state code for holidays, e.g. BY")
    latitude: float | None = Field(None, ge=-90, le=90, description="for the weather the forecasts use")
    longitude: float | None = Field(None, ge=-180, le=180)
    meters: list[MeterIn] = Field(default_factory=list, max_length=1000)


class UserIn(BaseModel):
    email: EmailStr
    password: str = Field(min_length=10, max_length=200)
    role: Literal["admin", "customer"] = "customer"


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    tenant_id: str
    email: str
    role: str
    is_active: bool
    is_platform_admin: bool
    created_at: datetime
    last_login_at: datetime | None


class MeterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    meter_id: str
    kind: str
    name: str
    max_kw: float


class ReadingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    meter_id: str
    ts: datetime
    kwh: float
    quality: str


class Bucket(BaseModel):
    start: datetime
    kwh: float
    cost_eur: float | None
    intervals: int
    unpriced_intervals: int


class SeriesOut(BaseModel):
    start: datetime
    end: datetime
    kwh: float
    cost_eur: float | None
    buckets: list[Bucket]


class AggregateOut(BaseModel):
    bucket: str
    meter_id: str | None
    current: SeriesOut
    compare: Literal["previous_period", "previous_year"] | None = None
    previous: SeriesOut | None = None
    change_pct: float | None = Field(None, description="kWh change of current vs previous, percent")


class KpisOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    as_of: date
    kwh_today: float
    kwh_month: float
    cost_today_eur: float | None
    cost_month_eur: float | None
    peak_kw_month: float | None
    peak_at: datetime | None
    pv_kwh_month: float | None
    self_consumption_ratio: float | None
    readings_to: datetime | None
    computed_at: datetime


class PriceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    ts: datetime
    eur_per_mwh: float
    resolution_minutes: int


class PricesOut(BaseModel):
    zone: str
    resolution_minutes: int
    prices: list[PriceOut]
    cheapest: list[PriceOut] | None = None


class ReadingIn(BaseModel):
    meter_id: str = Field(max_length=64)
    ts: str = Field(max_length=64, description="ISO 8601 with UTC offset; naive times are read in the tenant's zone")
    kwh: float | str
    quality: str | None = Field(None, max_length=32)


class IngestIn(BaseModel):
    readings: list[ReadingIn] = Field(min_length=1, max_length=50_000)


class IngestOut(BaseModel):
    batch_id: int | None
    rows_received: int
    rows_stored: int
    rows_unchanged: int
    rows_duplicate: int
    rows_quarantined: int
    reasons: dict[str, int]


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    ts: datetime
    actor: str
    tenant_id: str
    action: str
    target: str | None
    outcome: str
    request_id: str | None
    client_addr: str | None
    detail: dict


class RequestOut(BaseModel):
    id: int
    kind: str
    status: str


class ComponentStatus(BaseModel):
    name: str
    ok: bool
    detail: str
    version: str | None = None


class StatusOut(BaseModel):
    components: list[ComponentStatus]
    host: dict[str, float]
    errors: list[str] = Field(
        default_factory=list,
        description="this API process's newest WARNING/ERROR log lines (JSON, secrets redacted), newest first; "
        "a tenant admin sees their tenant's lines and those of no tenant",
    )


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


class TrainingRequestOut(BaseModel):
    id: int
    kind: str
    status: str
    reason: str | None
    dagster_run_id: str | None
    created_at: datetime
    updated_at: datetime


class ModelsOut(BaseModel):
    name: str
    champion: str | None
    versions: list[ModelVersionOut]
    training: list[TrainingRequestOut]


# --- Luna, the assistant ---


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class AskIn(BaseModel):
    question: str = Field(min_length=1, max_length=2000, description="German or English; Luna answers in kind")
    session_id: uuid.UUID | None = Field(None, description="continue this chat session (yours); null starts one")

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        value = _no_nul(value).strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class CitationOut(BaseModel):
    n: int = Field(description="the number of the [n] marker in the answer")
    chunk_id: str
    document_id: str
    title: str
    page: int | None
    snippet: str


class DataItemOut(BaseModel):
    label: str
    value: float
    unit: str
    source: str = Field(description="where the figure comes from: table, definition, period")


class AskOut(BaseModel):
    answer: str
    answer_id: str = Field(description="rate it with POST /feedback")
    session_id: str
    mode: Literal["llm", "extractive", "data", "none"] = Field(
        description="llm: composed by the chat model from cited passages; extractive: quoted passages; "
        "data: figures from the tenant's live data; none: nothing relevant found, said so"
    )
    language: Literal["de", "en"]
    citations: list[CitationOut]
    data: list[DataItemOut]
    prompt_version: str


class MessageOut(BaseModel):
    id: str
    role: Literal["user", "assistant"]
    content: str
    mode: str | None
    language: str | None
    prompt_version: str | None
    citations: list[CitationOut]
    data: list[DataItemOut]
    created_at: datetime


class SessionSummaryOut(BaseModel):
    id: str
    title: str
    created_at: datetime
    updated_at: datetime


class SessionOut(SessionSummaryOut):
    summary: str | None = Field(description="extractive summary of the turns older than the model's window")
    messages: list[MessageOut]


class FeedbackIn(BaseModel):
    answer_id: uuid.UUID
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)

    @field_validator("comment")
    @classmethod
    def _comment(cls, value: str | None) -> str | None:
        return _no_nul(value) if value is not None else None


class FeedbackOut(BaseModel):
    id: int


class NegativeFeedbackOut(BaseModel):
    id: int
    answer_id: str
    user_id: str
    question: str | None
    answer: str
    mode: str | None
    comment: str | None
    created_at: datetime


class NoHitQuestionOut(BaseModel):
    id: int
    user_id: str
    question: str
    language: str
    hit_count: int
    top_score: float | None
    created_at: datetime


class SignalsOut(BaseModel):
    since: datetime
    negative_feedback: int
    no_hit_questions: int


class AdminFeedbackOut(BaseModel):
    threshold: int = Field(description="negative signals that queue a reindex (LUNA_FEEDBACK_NEGATIVE_THRESHOLD)")
    window_days: int
    signals: SignalsOut = Field(description="counted since the window start or the last reindex request")
    negative_feedback: list[NegativeFeedbackOut]
    no_hit_questions: list[NoHitQuestionOut]
    reindex_requests: list[TrainingRequestOut]


class DocumentOut(BaseModel):
    id: str
    filename: str
    title: str | None
    content_type: str
    size_bytes: int
    sha256: str
    status: Literal["queued", "processing", "indexed", "failed"]
    error: str | None
    pages: int | None
    language: str | None
    author: str | None
    chunk_count: int
    created_at: datetime
    indexed_at: datetime | None
    duplicate: bool = False


class ChunkOut(BaseModel):
    id: str
    position: int
    page: int | None
    heading: str | None
    text: str
    token_count: int
    language: str


class SearchIn(BaseModel):
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(5, ge=1, le=50)
    threshold: float | None = Field(None, ge=-1, le=2, description="leave out hits scoring below this")


class SearchHitOut(BaseModel):
    chunk_id: str
    document_id: str
    title: str
    page: int | None
    heading: str | None
    snippet: str
    score: float
    language: str


class SearchOut(BaseModel):
    hits: list[SearchHitOut]


class TenantChunksOut(BaseModel):
    tenant_id: str
    chunks: int
    documents: int


class KnowledgeOut(BaseModel):
    backend: str
    collection: str | None
    embedding_model: str
    dim: int | None
    chunks_by_tenant: list[TenantChunksOut]
    last_reindex_at: datetime | None
