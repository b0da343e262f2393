"""Request and response models of /playbook (the contract in the team brief)."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from luna_core.playbook.strategies import strategy_keys

StrategyKey = Literal[tuple(strategy_keys())]  # type: ignore[valid-type]
NAME = r"^[^\x00-\x1f\x7f]+$"


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, pattern=NAME)
    strategy: StrategyKey = Field(description="a built-in strategy (GET /playbook/strategies) or 'custom'")
    condition: dict[str, Any] | None = Field(None, description="default: the strategy's; required for custom")
    action: dict[str, Any] | None = Field(None, description="default: the strategy's; required for custom")
    params: dict[str, Any] | None = Field(None, description="the strategy's params; missing ones take defaults")
    enabled: bool = True


class RulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200, pattern=NAME)
    condition: dict[str, Any] | None = None
    action: dict[str, Any] | None = None
    params: dict[str, Any] | None = Field(None, description="merged into the current params")
    enabled: bool | None = None


class RuleOut(BaseModel):
    id: int
    name: str
    strategy: str
    condition: dict[str, Any]
    action: dict[str, Any]
    params: dict[str, Any]
    enabled: bool
    version: int
    updated_at: datetime


OLD_FIELD = "the same in English/German (kept for older clients; prefer the field in the reader's language)"


class StrategyOut(BaseModel):
    key: str
    name: str = Field(description="in the reader's language (?language= or Accept-Language)")
    description: str = Field(description="in the reader's language")
    name_en: str = Field(description=OLD_FIELD)
    name_de: str = Field(description=OLD_FIELD)
    description_en: str = Field(description=OLD_FIELD)
    description_de: str = Field(description=OLD_FIELD)
    default_params: dict[str, Any]
    condition: dict[str, Any]
    action: dict[str, Any]


class RecommendationOut(BaseModel):
    id: int
    rule_id: int | None
    strategy: str
    title: str = Field(description="in the reader's language (?language= or Accept-Language)")
    reason: str = Field(description="why, with the figures, in the reader's language")
    message_key: str = Field(description="the catalogue message it is rendered from, e.g. playbook.ev_charging")
    params: dict[str, Any] = Field(description="the message's parameters (numbers unformatted)")
    title_en: str = Field(description=OLD_FIELD)
    title_de: str = Field(description=OLD_FIELD)
    reason_en: str = Field(description=OLD_FIELD)
    reason_de: str = Field(description=OLD_FIELD)
    saving_eur: float | None
    starts_at: datetime | None
    ends_at: datetime | None


class RecommendationsOut(BaseModel):
    date: dt.date = Field(
        description="the tenant-local day these are for (asked, or tomorrow once planned, else today)"
    )
    language: str = Field(description="the language title and reason are written in")
    items: list[RecommendationOut]


class SlotOut(BaseModel):
    start: datetime
    price_eur_mwh: float
    baseline_kw: float = Field(description="the naive plan (battery: + charge, - discharge)")
    optimised_kw: float
    device: str


class ScheduleOut(BaseModel):
    date: dt.date = Field(description="the tenant-local day planned (asked, or tomorrow once planned, else today)")
    slots: list[SlotOut]
    naive_cost_eur: float
    optimised_cost_eur: float
    saving_eur: float


class SavingsItem(BaseModel):
    period: date = Field(description="the day, or the first day of the month")
    naive_eur: float
    optimised_eur: float
    saving_eur: float
    realised_eur: float | None = Field(description="from the device meters once the day is over; null until then")


class SavingsOut(BaseModel):
    granularity: Literal["day", "month"]
    items: list[SavingsItem]
    total_saving_eur: float
    total_realised_eur: float | None


class SimulationOut(BaseModel):
    feasible: bool
    reason: str | None
    device: str
    plan: list[SlotOut]
    naive_cost_eur: float
    optimised_cost_eur: float
    saving_eur: float
    naive_kwh: float
    optimised_kwh: float
