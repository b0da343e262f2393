"""The built-in strategies every tenant can switch on, with their parameters and defaults.

A rule names one strategy (or ``custom``). Built-in strategies bring their condition and action;
their params are validated by the models below, so a typo is an error and not a silent default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from luna_core.i18n import Translator
from luna_core.playbook.conditions import Action, Condition

HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class StrategyError(ValueError):
    pass


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvParams(_Params):
    meter_id: str | None = Field(None, max_length=64, description="EV meter; default: every EV meter")
    energy_kwh: float | None = Field(None, gt=0, le=2000, description="default: the recent mean for this day type")
    power_kw: float | None = Field(None, gt=0, le=2000, description="default: the meter's max_kw")
    arrival: str = Field("07:00", pattern=HHMM, description="local time the cars arrive")
    deadline: str = Field("18:00", pattern=HHMM, description="local time they must be charged; earlier = next day")
    efficiency: float = Field(0.92, gt=0, le=1)
    contiguous: bool = Field(False, description="charge in one block instead of the cheapest slots")


class HeatPumpParams(_Params):
    meter_id: str | None = Field(None, max_length=64)
    cop: float = Field(3.0, gt=0.5, le=10)
    comfort_min_c: float = Field(20.0, ge=5, le=30)
    comfort_max_c: float = Field(22.0, ge=5, le=35)
    start_c: float = Field(21.0, ge=5, le=35)
    ua_kw_per_k: float | None = Field(None, gt=0, le=1000, description="default: sized from the heat pump's power")
    capacity_kwh_per_k: float | None = Field(None, gt=0, le=100_000, description="default: 40 h time constant")
    expensive_percentile: float = Field(75, ge=50, le=100)


class PeakParams(_Params):
    contracted_kw: float = Field(gt=0, le=100_000, description="the grid connection's contracted peak")
    battery_meter_id: str | None = Field(
        None, max_length=64, description="battery that discharges to hold the limit (with battery_arbitrage on)"
    )


class PvParams(_Params):
    feed_in_eur_kwh: float = Field(0.08, ge=0, le=1, description="what exported PV earns")
    min_surplus_kw: float = Field(0.5, ge=0, le=100_000)


class NegativePriceParams(_Params):
    threshold_eur_mwh: float = Field(0.0, ge=-500, le=4000)


class BatteryParams(_Params):
    meter_id: str | None = Field(None, max_length=64)
    capacity_kwh: float | None = Field(None, gt=0, le=1_000_000, description="default: 2 h at the meter's max_kw")
    efficiency: float = Field(0.9, gt=0, le=1)
    soc_start: float = Field(0.5, ge=0, le=1)
    soc_min: float = Field(0.05, ge=0, le=1)


class CustomParams(BaseModel):
    """Numbers a custom condition refers to by ``param``."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class Strategy:
    """A built-in strategy; its name and description are ``strategies.<key>.name`` and
    ``.description`` in the message catalogues."""

    key: str
    params_model: type[BaseModel]
    condition: dict[str, Any]
    action: dict[str, Any]

    def name(self, translator: Translator) -> str:
        return translator(f"strategies.{self.key}.name")

    def description(self, translator: Translator) -> str:
        return translator(f"strategies.{self.key}.description")

    def default_params(self) -> dict[str, Any]:
        fields = self.params_model.model_fields
        return {name: f.default for name, f in fields.items() if not f.is_required()} | {
            name: None for name, f in fields.items() if f.is_required()
        }


STRATEGIES: dict[str, Strategy] = {
    s.key: s
    for s in (
        Strategy(
            "ev_cheapest_window",
            EvParams,
            {"always": True},
            {"type": "shift_load", "device": "ev", "optimise": True},
        ),
        Strategy(
            "heat_pump_preheat",
            HeatPumpParams,
            {"metric": "price", "op": ">=", "percentile": 75},
            {"type": "shift_load", "device": "heat_pump", "optimise": True},
        ),
        Strategy(
            "peak_shaving",
            PeakParams,
            {"metric": "forecast_kw", "op": ">", "param": "contracted_kw"},
            {"type": "cap_demand", "limit_param": "contracted_kw"},
        ),
        Strategy(
            "pv_self_consumption",
            PvParams,
            {"metric": "pv_surplus_kw", "op": ">", "param": "min_surplus_kw"},
            {"type": "shift_load", "device": "any"},
        ),
        Strategy(
            "negative_price_alert",
            NegativePriceParams,
            {"metric": "price", "op": "<", "param": "threshold_eur_mwh"},
            {"type": "notify"},
        ),
        Strategy(
            "battery_arbitrage",
            BatteryParams,
            {"always": True},
            {"type": "charge_battery", "device": "battery", "optimise": True},
        ),
    )
}
CUSTOM = "custom"


def strategy_keys() -> list[str]:
    return [*STRATEGIES, CUSTOM]


def validate_rule(
    strategy: str, condition: dict[str, Any] | None, action: dict[str, Any] | None, params: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The rule's condition, action and params, checked and completed with the strategy's defaults."""
    if strategy != CUSTOM and strategy not in STRATEGIES:
        raise StrategyError(f"unknown strategy {strategy!r}; expected one of {', '.join(strategy_keys())}")
    builtin = STRATEGIES.get(strategy)
    if builtin is None and (condition is None or action is None):
        raise StrategyError("a custom rule needs a condition and an action")
    checked_condition = _checked("condition", Condition, condition if condition is not None else builtin.condition)
    checked_action = _checked("action", Action, action if action is not None else builtin.action)
    if builtin is not None:
        checked_params = _checked("params", builtin.params_model, params or {}).model_dump()
    else:
        checked_params = _custom_params(params or {})
    missing = sorted(
        (checked_condition.params_used() | ({checked_action.limit_param} if checked_action.limit_param else set()))
        - {k for k, v in checked_params.items() if v is not None}
    )
    if missing:
        raise StrategyError(f"the condition or action refers to params {missing}, which the rule does not set")
    return (
        checked_condition.model_dump(exclude_none=True),
        checked_action.model_dump(exclude_none=True),
        checked_params,
    )


def _custom_params(params: dict[str, Any]) -> dict[str, Any]:
    if len(params) > 50:
        raise StrategyError("a custom rule has at most 50 params")
    for key, value in params.items():
        if not isinstance(key, str) or not 0 < len(key) <= 64:
            raise StrategyError(f"param name {key!r} must be 1-64 characters")
        ok = value is None or isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 200)
        if not ok or (isinstance(value, float) and value != value):
            raise StrategyError(f"param {key!r}: numbers, booleans or short strings only")
    return dict(params)


def _checked(part: str, model: type[BaseModel], value: Any) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as error:
        problems = [
            f"{'.'.join([part, *(str(p) for p in e.get('loc', ()))])}: {e.get('msg', 'invalid')}"
            for e in error.errors()
        ]
        raise StrategyError("; ".join(problems)) from None


def typed_params(strategy: str, params: dict[str, Any]) -> BaseModel:
    builtin = STRATEGIES.get(strategy)
    return builtin.params_model.model_validate(params) if builtin else CustomParams.model_validate(params)
