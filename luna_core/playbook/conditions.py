"""Rules as data: a condition over a day's slots and an action, both plain JSON.

A condition is one of
- ``{"always": true}``;
- ``{"metric": M, "op": OP, "value": x}`` with ``M`` in price (EUR/MWh), forecast_kw (site load
  forecast), consumption_kw (measured site load), pv_kw (PV output), hour (tenant-local hour) and
  ``OP`` in ``<, <=, >, >=, ==, between`` (``between`` takes ``value`` and ``upper``); instead of
  ``value``, ``percentile`` (the day's percentile of the metric) or ``param`` (a number from the
  rule's params, e.g. ``contracted_kw``);
- ``{"all": [...]}`` or ``{"any": [...]}`` of conditions.
A slot whose metric is unknown (no forecast, no PV meter) never matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from luna_core.i18n.message import Message

Metric = Literal["price", "forecast_kw", "consumption_kw", "pv_kw", "pv_surplus_kw", "hour"]
Op = Literal["<", "<=", ">", ">=", "==", "between"]
ActionType = Literal["shift_load", "charge_battery", "discharge_battery", "notify", "cap_demand"]
METRIC_UNITS = {
    "price": "EUR/MWh",
    "forecast_kw": "kW",
    "consumption_kw": "kW",
    "pv_kw": "kW",
    "pv_surplus_kw": "kW",
    "hour": "h",
}
MAX_DEPTH = 4


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    always: bool | None = None
    metric: Metric | None = None
    op: Op | None = None
    value: float | None = Field(None, ge=-1e6, le=1e6)
    upper: float | None = Field(None, ge=-1e6, le=1e6, description="upper bound for op 'between'")
    percentile: float | None = Field(None, ge=0, le=100, description="compare with the day's percentile")
    param: str | None = Field(None, max_length=64, description="compare with this number from the rule's params")
    all: list[Condition] | None = Field(None, max_length=20)
    any: list[Condition] | None = Field(None, max_length=20)

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        forms = [self.always is not None, self.metric is not None, self.all is not None, self.any is not None]
        if sum(forms) != 1:
            raise ValueError("a condition is exactly one of: always, metric/op/value, all, any")
        if self.always is not None and self.always is not True:
            raise ValueError("'always' can only be true (disable the rule instead)")
        if self.metric is not None:
            if self.op is None:
                raise ValueError(f"condition on {self.metric} needs an op (<, <=, >, >=, ==, between)")
            references = [self.value is not None, self.percentile is not None, self.param is not None]
            if sum(references) != 1:
                raise ValueError("compare with exactly one of value, percentile or param")
            if self.op == "between" and (self.value is None or self.upper is None or self.upper < self.value):
                raise ValueError("'between' needs value and upper with value <= upper")
        if self.depth() > MAX_DEPTH:
            raise ValueError(f"conditions nest at most {MAX_DEPTH} levels deep")
        return self

    def depth(self) -> int:
        children = (self.all or []) + (self.any or [])
        return 1 + max((c.depth() for c in children), default=0)

    def params_used(self) -> set[str]:
        found = {self.param} if self.param else set()
        for child in (self.all or []) + (self.any or []):
            found |= child.params_used()
        return found


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ActionType
    device: str | None = Field(
        None, max_length=64, description="meter id or kind (ev, heat_pump, battery, any) the action is about"
    )
    optimise: bool = Field(False, description="plan the device with the optimiser instead of the condition's slots")
    limit_kw: float | None = Field(None, gt=0, le=100_000)
    limit_param: str | None = Field(None, max_length=64)
    message_en: str | None = Field(None, max_length=500)
    message_de: str | None = Field(None, max_length=500)


@dataclass(frozen=True)
class DayFrame:
    """The metrics of one day, one value per slot (NaN = unknown)."""

    starts: tuple[datetime, ...]
    local_hour: np.ndarray
    price: np.ndarray
    forecast_kw: np.ndarray
    consumption_kw: np.ndarray
    pv_kw: np.ndarray

    @property
    def pv_surplus_kw(self) -> np.ndarray:
        load = np.where(np.isfinite(self.forecast_kw), self.forecast_kw, self.consumption_kw)
        return np.clip(self.pv_kw - np.nan_to_num(load), 0.0, None)

    def metric(self, name: str) -> np.ndarray:
        return np.asarray(self.local_hour if name == "hour" else getattr(self, name), dtype=float)


def threshold(condition: Condition, values: np.ndarray, params: dict[str, Any]) -> float | None:
    if condition.value is not None:
        return condition.value
    if condition.percentile is not None:
        known = values[np.isfinite(values)]
        return float(np.percentile(known, condition.percentile)) if len(known) else None
    found = params.get(condition.param or "")
    return float(found) if isinstance(found, int | float) and not isinstance(found, bool) else None


def evaluate(condition: Condition, frame: DayFrame, params: dict[str, Any]) -> np.ndarray:
    """A boolean per slot: where the condition holds."""
    n = len(frame.starts)
    if condition.always:
        return np.ones(n, dtype=bool)
    if condition.all is not None:
        return np.logical_and.reduce([evaluate(c, frame, params) for c in condition.all] or [np.ones(n, bool)])
    if condition.any is not None:
        return np.logical_or.reduce([evaluate(c, frame, params) for c in condition.any] or [np.zeros(n, bool)])
    values = frame.metric(condition.metric or "price")
    limit = threshold(condition, values, params)
    if limit is None:
        return np.zeros(n, dtype=bool)
    known = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        hit = {
            "<": values < limit,
            "<=": values <= limit,
            ">": values > limit,
            ">=": values >= limit,
            "==": np.isclose(values, limit),
            "between": (values >= limit) & (values <= (condition.upper if condition.upper is not None else limit)),
        }[condition.op or "=="]
    return hit & known


def windows(mask: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous runs of True as (first, last + 1) slot indexes."""
    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(int)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


OP_NAMES = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq"}


def describe(condition: Condition) -> Message:
    """The condition in plain words, as a message (``conditions.*``) to render in any language."""
    if condition.always:
        return Message("conditions.always")
    if condition.all is not None or condition.any is not None:
        joiner = "conditions.all" if condition.all is not None else "conditions.any"
        parts = [Message("conditions.group", text=describe(c)) for c in (condition.all or condition.any or [])]
        if not parts:
            return Message("conditions.always")
        described = parts[-1]
        for part in reversed(parts[:-1]):
            described = Message(joiner, first=part, rest=described)
        return described
    metric = condition.metric or "price"
    subject, unit = Message(f"conditions.metric.{metric}"), METRIC_UNITS[metric]
    if condition.op == "between":
        return Message("conditions.between", subject=subject, low=condition.value, high=condition.upper, unit=unit)
    if condition.percentile is not None:
        reference: Message | str = Message("conditions.percentile", percentile=condition.percentile)
    elif condition.param is not None:
        reference = condition.param
    else:
        reference = Message("conditions.value", value=condition.value, unit=unit)
    op = Message(f"conditions.op.{OP_NAMES[condition.op or '==']}")
    return Message("conditions.compare", subject=subject, op=op, reference=reference)
