"""A tenant's enabled rules applied to one day: device plans from the optimiser and recommendations
with their reason, as a message key of the catalogue (``playbook.<kind>``, see ``luna_core.i18n``) and
its parameters: rendered in the reader's language when read (``recommendation_text``).

Pure: takes ``DayInputs`` and rules, returns plans and recommendations; ``service`` stores them.
Each device is planned on its own against the prices and the load forecast; a device named by two
rules is planned by the first one only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from luna_core.i18n.message import Message, texts
from luna_core.playbook.conditions import Action, Condition, describe, evaluate, windows
from luna_core.playbook.inputs import DayInputs, MeterInfo
from luna_core.playbook.messages import Recommendation, RecommendationText, make_recommendation, recommendation_text
from luna_core.playbook.optimizer import (
    BatteryRequest,
    EvRequest,
    HeatPumpRequest,
    Infeasible,
    Plan,
    optimise,
)
from luna_core.playbook.rules import Rule
from luna_core.playbook.strategies import (
    STRATEGIES,
    BatteryParams,
    EvParams,
    HeatPumpParams,
    NegativePriceParams,
    PeakParams,
    PvParams,
    typed_params,
)

# The message model lives in ``messages``; these names stay importable from here.
__all__ = [
    "DayPlan",
    "DevicePlan",
    "Recommendation",
    "RecommendationText",
    "heat_pump_request",
    "plan_day",
    "recommendation_text",
]

MIN_DEVICE_KWH = 0.1


@dataclass
class DevicePlan:
    rule_id: int
    plan: Plan


@dataclass
class DayPlan:
    plans: list[DevicePlan] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _price(values: np.ndarray) -> Message:
    if not len(values):
        return Message("common.not_available")
    return Message("common.eur_per_mwh", value=float(np.mean(values)))


def _span(inputs: DayInputs, first: int, last: int) -> str:
    return f"{inputs.local(first)}-{inputs.local(last)}"


def plan_day(inputs: DayInputs, rules: list[Rule]) -> DayPlan:
    """Plans and recommendations of every enabled rule, in rule order."""
    result = DayPlan()
    enabled = [r for r in rules if r.enabled]
    pv_rule = next((r for r in enabled if r.strategy == "pv_self_consumption"), None)
    peak_rule = next((r for r in enabled if r.strategy == "peak_shaving"), None)
    feed_in = typed_params(pv_rule.strategy, pv_rule.params).feed_in_eur_kwh if pv_rule else 0.0
    surplus = inputs.frame.pv_surplus_kw if pv_rule else None
    planned: set[str] = set()
    for rule in enabled:
        try:
            if rule.strategy == "ev_cheapest_window":
                _ev(inputs, rule, surplus, feed_in, planned, result)
            elif rule.strategy == "heat_pump_preheat":
                _heat_pump(inputs, rule, surplus, feed_in, planned, result)
            elif rule.strategy == "battery_arbitrage":
                _battery(inputs, rule, peak_rule, feed_in, planned, result)
            elif rule.strategy == "peak_shaving":
                _peak(inputs, rule, result)
            elif rule.strategy == "pv_self_consumption":
                _pv(inputs, rule, result)
            elif rule.strategy == "negative_price_alert":
                _negative(inputs, rule, result)
            else:
                _custom(inputs, rule, result)
        except (ValueError, KeyError) as error:
            # A stored rule that no longer fits the tenant (a removed meter...) must not stop the others.
            result.notes.append(f"rule {rule.id} ({rule.name}): {error}")
    if inputs.flat_price_ct is not None:
        _on_a_flat_tariff(inputs.flat_price_ct, result)
    return result


SHIFTING = ("playbook.ev_charging", "playbook.heat_pump_preheat", "playbook.battery_arbitrage")


def _on_a_flat_tariff(price_ct: float, result: DayPlan) -> None:
    """Every kWh costs the same on a fixed tariff without demand charge: a shift saves nothing, and the
    recommendation says so instead of a day-ahead saving the customer never sees."""
    for i, found in enumerate(result.recommendations):
        if found.message_key in SHIFTING:
            message = Message("playbook.flat_tariff", device=found.params.get("device", ""), price=price_ct)
            result.recommendations[i] = Recommendation(
                found.rule_id, found.strategy, message.key, message.params, 0.0, found.starts_at, found.ends_at
            )


def _devices(inputs: DayInputs, kind: str, meter_id: str | None) -> list[MeterInfo]:
    found = inputs.meters_of(kind)
    if meter_id is not None:
        found = [m for m in found if m.meter_id == meter_id]
        if not found:
            raise ValueError(f"the tenant has no {kind} meter {meter_id!r}")
    return found


def _infeasible(rule: Rule, device: str, error: Infeasible, result: DayPlan, kind: str) -> None:
    result.recommendations.append(
        make_recommendation(
            rule, "infeasible", kind=Message(f"playbook.device_kind.{kind}"), device=device, error=error.reason
        )
    )


def _ev(inputs, rule, surplus, feed_in, planned, result) -> None:
    params: EvParams = typed_params(rule.strategy, rule.params)
    for meter in _devices(inputs, "ev", params.meter_id):
        if meter.meter_id in planned:
            continue
        profile = inputs.profiles.get(meter.meter_id)
        energy = params.energy_kwh or (float(profile.sum()) if profile is not None else 0.0)
        if energy < MIN_DEVICE_KWH:
            result.notes.append(f"{meter.meter_id}: no charging expected on {inputs.day}")
            continue
        arrival = inputs.slot_at(params.arrival)
        deadline = inputs.slot_at(params.deadline) if params.deadline > params.arrival else len(inputs.curve)
        request = EvRequest(
            energy_kwh=energy,
            power_kw=params.power_kw or meter.max_kw,
            arrival=arrival,
            deadline=deadline,
            efficiency=params.efficiency,
            contiguous=params.contiguous,
            device=meter.meter_id,
        )
        try:
            plan = optimise(request, inputs.curve, surplus, feed_in)
        except Infeasible as error:
            _infeasible(rule, meter.meter_id, error, result, "ev")
            continue
        planned.add(meter.meter_id)
        result.plans.append(DevicePlan(rule.id, plan))
        window = plan.active_window() or (arrival, arrival)
        active = plan.optimised_kw > 1e-3
        spans = ", ".join(_span(inputs, a, b) for a, b in windows(active)[:3])
        naive_active = plan.baseline_kw > 1e-3
        prices = inputs.frame.price  # the day-ahead price, as the message says
        result.recommendations.append(
            make_recommendation(
                rule,
                "ev_charging",
                plan.saving_eur,
                inputs.slot_start(window[0]),
                inputs.slot_start(window[1]),
                device=meter.meter_id,
                spans=spans,
                energy=energy,
                deadline=inputs.local(deadline),
                count=int(active.sum()),
                price=_price(prices[active]),
                arrival=params.arrival,
                naive_price=_price(prices[naive_active]),
                saving=plan.saving_eur,
            )
        )


def heat_pump_request(params: HeatPumpParams, meter: MeterInfo, baseline: np.ndarray) -> HeatPumpRequest:
    # Sized from the heat pump when not given: design heat load at -12 °C over a 32 K spread, and a
    # building time constant of 40 h.
    ua = params.ua_kw_per_k or meter.max_kw * params.cop / 32.0
    capacity = params.capacity_kwh_per_k or 40.0 * ua
    return HeatPumpRequest(
        baseline_kw=tuple(float(x) for x in np.minimum(baseline, meter.max_kw)),
        power_kw=meter.max_kw,
        cop=params.cop,
        capacity_kwh_per_k=capacity,
        ua_kw_per_k=ua,
        comfort_min_c=params.comfort_min_c,
        comfort_max_c=params.comfort_max_c,
        start_c=params.start_c,
        device=meter.meter_id,
    )


def _heat_pump(inputs, rule, surplus, feed_in, planned, result) -> None:
    params: HeatPumpParams = typed_params(rule.strategy, rule.params)
    for meter in _devices(inputs, "heat_pump", params.meter_id):
        if meter.meter_id in planned:
            continue
        baseline = inputs.profiles.get(meter.meter_id)
        if baseline is None or baseline.sum() < MIN_DEVICE_KWH:
            result.notes.append(f"{meter.meter_id}: no heating expected on {inputs.day}")
            continue
        try:
            plan = optimise(heat_pump_request(params, meter, baseline), inputs.curve, surplus, feed_in)
        except Infeasible as error:
            _infeasible(rule, meter.meter_id, error, result, "heat_pump")
            continue
        planned.add(meter.meter_id)
        result.plans.append(DevicePlan(rule.id, plan))
        prices = inputs.frame.price  # the day-ahead price, as the message says
        expensive = prices >= np.percentile(prices, params.expensive_percentile)
        more = plan.optimised_kw > plan.baseline_kw + 0.05
        runs = windows(more)
        first, last = (runs[0][0], runs[-1][1]) if runs else (0, len(prices))
        dear = windows(expensive)
        result.recommendations.append(
            make_recommendation(
                rule,
                "heat_pump_preheat",
                plan.saving_eur,
                inputs.slot_start(first),
                inputs.slot_start(last),
                device=meter.meter_id,
                dear_spans=", ".join(_span(inputs, a, b) for a, b in dear[:3]),
                dear_price=_price(prices[expensive]),
                span=_span(inputs, first, last),
                comfort_min=params.comfort_min_c,
                comfort_max=params.comfort_max_c,
                saving=plan.saving_eur,
            )
        )


def _battery(inputs, rule, peak_rule, feed_in, planned, result) -> None:
    params: BatteryParams = typed_params(rule.strategy, rule.params)
    peak: PeakParams | None = typed_params(peak_rule.strategy, peak_rule.params) if peak_rule else None
    load = np.nan_to_num(inputs.frame.forecast_kw)
    pv = np.nan_to_num(inputs.pv_kw)
    for meter in _devices(inputs, "battery", params.meter_id):
        if meter.meter_id in planned:
            continue
        # Peak shaving holds the grid import below the contracted peak with the battery it names.
        limit = peak.contracted_kw if peak is not None and peak.battery_meter_id == meter.meter_id else None
        request = BatteryRequest(
            capacity_kwh=params.capacity_kwh or 2.0 * meter.max_kw,
            power_kw=meter.max_kw,
            load_kw=tuple(float(x) for x in load),
            pv_kw=tuple(float(x) for x in pv),
            efficiency=params.efficiency,
            soc_start=params.soc_start,
            soc_min=min(params.soc_min, params.soc_start),
            grid_limit_kw=limit,
            feed_in_eur_kwh=feed_in,
            device=meter.meter_id,
        )
        try:
            plan = optimise(request, inputs.curve)
        except Infeasible as error:
            _infeasible(rule, meter.meter_id, error, result, "battery")
            continue
        planned.add(meter.meter_id)
        result.plans.append(DevicePlan(rule.id, plan))
        charge, discharge = windows(plan.optimised_kw > 0.05), windows(plan.optimised_kw < -0.05)
        everything = charge + discharge
        result.recommendations.append(
            make_recommendation(
                rule,
                "battery_arbitrage",
                plan.saving_eur,
                inputs.slot_start(min(a for a, _ in everything)) if everything else None,
                inputs.slot_start(max(b for _, b in everything)) if everything else None,
                device=meter.meter_id,
                charge=", ".join(_span(inputs, a, b) for a, b in charge[:3]) or None,
                discharge=", ".join(_span(inputs, a, b) for a, b in discharge[:3]) or None,
                saving=plan.saving_eur,
                notes=list(plan.notes),
            )
        )


def _condition_windows(inputs: DayInputs, rule: Rule) -> list[tuple[int, int]]:
    return windows(evaluate(Condition.model_validate(rule.condition), inputs.frame, rule.params))


def _peak(inputs, rule, result) -> None:
    params: PeakParams = typed_params(rule.strategy, rule.params)
    load = inputs.frame.forecast_kw
    for first, last in _condition_windows(inputs, rule):
        peak = float(np.nanmax(load[first:last]))
        excess = peak - params.contracted_kw
        # With a demand charge the warning names its price: each kW of the month's peak is billed.
        charged = {"charge": excess * inputs.demand_charge_eur_kw} if inputs.demand_charge_eur_kw else {}
        result.recommendations.append(
            make_recommendation(
                rule,
                "peak_warning_charged" if charged else "peak_warning",
                None,
                inputs.slot_start(first),
                inputs.slot_start(last),
                contracted=params.contracted_kw,
                span=_span(inputs, first, last),
                peak=peak,
                excess=excess,
                **charged,
            )
        )


def _pv(inputs, rule, result) -> None:
    _: PvParams = typed_params(rule.strategy, rule.params)
    surplus = inputs.frame.pv_surplus_kw
    for first, last in _condition_windows(inputs, rule):
        kwh = float(surplus[first:last].sum() * inputs.curve.hours)
        result.recommendations.append(
            make_recommendation(
                rule,
                "pv_surplus",
                None,
                inputs.slot_start(first),
                inputs.slot_start(last),
                span=_span(inputs, first, last),
                kwh=kwh,
            )
        )


def _negative(inputs, rule, result) -> None:
    params: NegativePriceParams = typed_params(rule.strategy, rule.params)
    prices = inputs.frame.price  # the day-ahead price, as the message says
    for first, last in _condition_windows(inputs, rule):
        low = float(prices[first:last].min())
        result.recommendations.append(
            make_recommendation(
                rule,
                "negative_price" if low < 0 else "low_price",
                None,
                inputs.slot_start(first),
                inputs.slot_start(last),
                span=_span(inputs, first, last),
                low=low,
                **({} if low < 0 else {"threshold": params.threshold_eur_mwh}),
            )
        )


def _custom(inputs, rule, result) -> None:
    condition = Condition.model_validate(rule.condition)
    action = Action.model_validate(rule.action)
    device = f" ({action.device})" if action.device else ""
    for first, last in _condition_windows(inputs, rule):
        span = _span(inputs, first, last)
        generated = Message(
            "playbook.custom.generated_title",
            rule=rule.name,
            action=Message(f"playbook.action.{action.type}"),
            device=device,
            span=span,
        )
        result.recommendations.append(
            make_recommendation(
                rule,
                "custom",
                None,
                inputs.slot_start(first),
                inputs.slot_start(last),
                # The rule's own message where its author wrote one for the reader's language.
                title=texts({"en": action.message_en, "de": action.message_de}, fallback=generated),
                rule=rule.name,
                span=span,
                condition=describe(condition),
            )
        )


__all__ = [
    "STRATEGIES",
    "DayPlan",
    "DevicePlan",
    "Recommendation",
    "RecommendationText",
    "heat_pump_request",
    "plan_day",
    "recommendation_text",
]
