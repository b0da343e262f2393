"""Response and request models (the OpenAPI contract)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

import orjson
from fastapi import Path, Query, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictFloat, StrictInt, StrictStr, model_validator

from luna_core.energy.site import MeterKind

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


IntervalMinutes = Literal[15, 30, 60]


class MeterIn(BaseModel):
    meter_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    kind: MeterKind
    max_kw: float = Field(gt=0, le=100_000)
    name: str | None = Field(None, max_length=200)
    interval_minutes: IntervalMinutes | None = Field(
        None, description="reading interval; unset: detected from the timestamps of the first ingest"
    )


class MeterPatch(BaseModel):
    interval_minutes: IntervalMinutes | None = Field(None, description="reading interval in minutes")
    max_kw: float | None = Field(None, gt=0, le=100_000, description="physical power limit (spike check)")

    @model_validator(mode="after")
    def _something(self) -> MeterPatch:
        if self.interval_minutes is None and self.max_kw is None:
            raise ValueError("give interval_minutes and/or max_kw")
        return self


class TenantIn(BaseModel):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,62}$", description="slug, also the Dagster partition key")
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["household", "business", "housing"] = "business"
    zone: str = Field("DE-LU", max_length=20)
    timezone: str | None = Field(None, max_length=64, description="IANA time zone; default: LUNA_DEFAULT_TIMEZONE")
    state: str | None = Field(None, max_length=2, description="German state code for holidays, e.g. BY")
    latitude: float | None = Field(None, ge=-90, le=90, description="for the weather the forecasts use")
    longitude: float | None = Field(None, ge=-180, le=180)
    meters: list[MeterIn] = Field(default_factory=list, max_length=1000)


class UserInvite(BaseModel):
    """An invitation: the person chooses their own password through the link they receive."""

    email: EmailStr
    role: Literal["admin", "customer"] = "customer"


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    role: str
    status: Literal["pending", "accepted", "expired"]
    created_at: datetime
    expires_at: datetime


class InvitationAccept(BaseModel):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=10, max_length=200)


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
    interval_minutes: int | None = Field(None, description="reading interval; null until set or detected")


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
    cost_basis: Literal["tariff", "wholesale"] = Field(
        "wholesale", description="'tariff': all-in from the tenant's tariff (VAT incl.); 'wholesale': day-ahead only"
    )
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
    cost_basis: Literal["tariff", "wholesale"] = Field(
        "wholesale", description="'tariff': the month so far as billed; 'wholesale': day-ahead price x grid import"
    )


class PriceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    ts: datetime
    eur_per_mwh: float
    resolution_minutes: int
    all_in_ct_kwh: float | None = Field(
        None, description="what a kWh costs the tenant in this slot on its tariff, VAT included (null: no tariff)"
    )


class PricesOut(BaseModel):
    zone: str
    resolution_minutes: int
    cost_basis: Literal["tariff", "wholesale"] = Field(
        "wholesale", description="'tariff' when all_in_ct_kwh is given (the tenant's zone and tariff)"
    )
    prices: list[PriceOut]
    cheapest: list[PriceOut] | None = None


Unit = Literal["Wh", "kWh", "MWh", "W", "kW", "MW"]
# Strict: a JSON true is not 1.0 kWh. Text is accepted (and quarantined with its reason if it is no number).
Number = StrictFloat | StrictInt | Annotated[StrictStr, Field(max_length=64)]


class ReadingIn(BaseModel):
    meter_id: str = Field(max_length=64)
    ts: str = Field(
        max_length=64,
        description="ISO 8601 with UTC offset (seconds optional) or dd.mm.yyyy HH:MM; naive times are read in "
        "the tenant's zone",
    )
    kwh: Number | None = Field(None, description="energy of the interval in kWh (or in `unit`, if given)")
    value: Number | None = Field(None, description="the reading in `unit` (instead of kwh)")
    unit: Unit | None = Field(
        None, description="unit of kwh/value; W, kW and MW are mean power over the meter's interval"
    )
    quality: str | None = Field(None, max_length=32)

    @model_validator(mode="after")
    def _one_value(self) -> ReadingIn:
        if (self.kwh is None) == (self.value is None):
            raise ValueError("give either kwh or value (with a unit)")
        return self


class IngestIn(BaseModel):
    readings: list[ReadingIn] = Field(min_length=1, max_length=50_000)
    unit: Unit | None = Field(None, description="unit of every reading that gives none of its own")

    @model_validator(mode="after")
    def _units_known(self) -> IngestIn:
        if self.unit is None:
            for index, reading in enumerate(self.readings):
                if reading.value is not None and reading.unit is None:
                    raise ValueError(f"readings.{index}: value needs a unit (on the reading or the body)")
        return self


class MeterIntervalOut(BaseModel):
    minutes: int
    source: Literal["set", "detected", "assumed"] = Field(
        description="set on the meter, detected from these readings (and kept), or assumed (not known yet)"
    )
    seen_minutes: int | None = Field(None, description="what these readings suggest, where it differs")


class IngestOut(BaseModel):
    batch_id: int | None
    rows_received: int
    rows_stored: int
    rows_unchanged: int
    rows_duplicate: int
    rows_quarantined: int
    reasons: dict[str, int] = Field(description="why rows were quarantined (with the limits and settings) -> rows")
    intervals: dict[str, MeterIntervalOut] = Field(description="meter -> the reading interval it was checked by")
    notes: list[str] = Field(description="what was detected, converted or assumed")


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
    name: str = Field(
        description="database, vector_store, model_registry, embedding_model, chat_model, tika, mqtt, "
        "dagster, redis (when configured), api"
    )
    ok: bool
    target: str | None = Field(
        None,
        description="what was asked: URL, host:port or database (never a password); 'in-process' when there is "
        "nothing to reach; null for tenant admins (the platform's addresses are for platform admins)",
    )
    detail: str = Field(description="what the answer was, or why the component counts as down")
    latency_ms: float | None = Field(None, description="time to the answer; null when nothing was reached")
    version: str | None = None


class SourceStatusOut(BaseModel):
    name: str = Field(description="the source its data carries: file, http, mqtt, opcua (meters); sim, csv, entsoe")
    kind: str = Field(description="meter | price")
    target: str | None = Field(None, description="where it reads from (never a password); null for tenant admins")
    last_read: datetime | None = Field(
        None, description="the newest read that stored something (meters: of this tenant); null: none yet"
    )
    lag_seconds: float | None = Field(
        None,
        description="meters: age of the newest reading; prices: how far the stored prices end before the "
        "last published delivery day ends",
    )
    errors_last_day: int = Field(0, description="meters: readings of this tenant quarantined in the last 24 h")


class StatusOut(BaseModel):
    components: list[ComponentStatus]
    host: dict[str, float]
    sources: list[SourceStatusOut] = Field(
        default_factory=list, description="each configured data source (luna_core.sources) with its last read"
    )
    errors: list[str] = Field(
        default_factory=list,
        description="the newest WARNING/ERROR log lines (JSON, secrets redacted), newest first, from Loki when "
        "LUNA_LOKI_URL is set (every process of the stack), else this API process's own; a tenant admin sees "
        "their tenant's lines and those of no tenant",
    )
    errors_source: Literal["loki", "process"] = Field(
        "process", description="where `errors` come from: Loki, or this API process's ring of recent lines"
    )
    errors_problem: str | None = Field(None, description="why Loki could not be read (then `errors` are the process's)")
