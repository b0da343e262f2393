"""A tenant's enabled rules applied to one day: device plans from the optimiser and recommendations
that carry their reason in plain German and English (the dashboard and Luna read them out).

Pure: takes ``DayInputs`` and rules, returns plans and recommendations; ``service`` stores them.
Each device is planned on its own against the prices and the load forecast; a device named by two
rules is planned by the first one only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from luna_core.playbook.conditions import Action, Condition, describe, evaluate, windows
from luna_core.playbook.inputs import DayInputs, MeterInfo
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

MIN_DEVICE_KWH = 0.1


@dataclass
class Recommendation:
    rule_id: int | None
    strategy: str
    title_en: str
    title_de: str
    reason_en: str
    reason_de: str
    saving_eur: float | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass
class DevicePlan:
    rule_id: int
    plan: Plan


@dataclass
class DayPlan:
    plans: list[DevicePlan] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _eur(value: float) -> str:
    return f"{value:.2f} €"


def _eur_de(value: float) -> str:
    return f"{value:.2f} €".replace(".", ",")


def _price(values: np.ndarray) -> str:
    return f"{float(np.mean(values)):.0f} €/MWh" if len(values) else "n/a"


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
    return result


def _devices(inputs: DayInputs, kind: str, meter_id: str | None) -> list[MeterInfo]:
    found = inputs.meters_of(kind)
    if meter_id is not None:
        found = [m for m in found if m.meter_id == meter_id]
        if not found:
            raise ValueError(f"the tenant has no {kind} meter {meter_id!r}")
    return found


def _infeasible(rule: Rule, device: str, error: Infeasible, result: DayPlan, name_en: str, name_de: str) -> None:
    result.recommendations.append(
        Recommendation(
            rule.id,
            rule.strategy,
            f"{name_en} {device}: no plan possible",
            f"{name_de} {device}: kein Plan möglich",
            f"The request cannot be met: {error}",
            f"Die Anforderung ist nicht erfüllbar: {error}",
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
            _infeasible(rule, meter.meter_id, error, result, "EV charging", "EV-Laden")
            continue
        planned.add(meter.meter_id)
        result.plans.append(DevicePlan(rule.id, plan))
        window = plan.active_window() or (arrival, arrival)
        active = plan.optimised_kw > 1e-3
        spans = ", ".join(_span(inputs, a, b) for a, b in windows(active)[:3])
        naive_active = plan.baseline_kw > 1e-3
        prices = inputs.curve.eur_per_mwh
        hours = int(active.sum())
        result.recommendations.append(
            Recommendation(
                rule.id,
                rule.strategy,
                f"Charge {meter.meter_id} {spans}",
                f"{meter.meter_id} laden {spans}",
                f"{energy:.1f} kWh are needed by {inputs.local(deadline)}. Charging in "
                f"{'the cheapest hour' if hours == 1 else f'the {hours} cheapest hours'} "
                f"(mean {_price(prices[active])}) instead of on arrival at {params.arrival} "
                f"(mean {_price(prices[naive_active])}) saves {_eur(plan.saving_eur)}.",
                f"Bis {inputs.local(deadline)} werden {energy:.1f} kWh gebraucht. Laden in "
                f"{'der günstigsten Stunde' if hours == 1 else f'den {hours} günstigsten Stunden'} "
                f"(Mittel {_price(prices[active])}) statt sofort bei "
                f"Ankunft um {params.arrival} (Mittel {_price(prices[naive_active])}) spart "
                f"{_eur_de(plan.saving_eur)}.",
                plan.saving_eur,
                inputs.slot_start(window[0]),
                inputs.slot_start(window[1]),
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
            _infeasible(rule, meter.meter_id, error, result, "Heat pump", "Wärmepumpe")
            continue
        planned.add(meter.meter_id)
        result.plans.append(DevicePlan(rule.id, plan))
        prices = inputs.curve.eur_per_mwh
        expensive = prices >= np.percentile(prices, params.expensive_percentile)
        more = plan.optimised_kw > plan.baseline_kw + 0.05
        runs = windows(more)
        first, last = (runs[0][0], runs[-1][1]) if runs else (0, len(prices))
        dear = windows(expensive)
        dear_span = ", ".join(_span(inputs, a, b) for a, b in dear[:3])
        band = f"{params.comfort_min_c:g}-{params.comfort_max_c:g} °C"
        result.recommendations.append(
            Recommendation(
                rule.id,
                rule.strategy,
                f"Pre-heat with {meter.meter_id} before the expensive hours",
                f"Mit {meter.meter_id} vor den teuren Stunden vorheizen",
                f"Prices are highest {dear_span} (mean {_price(prices[expensive])}). Heating more "
                f"{_span(inputs, first, last)} and less then, within {band}, saves {_eur(plan.saving_eur)}.",
                f"Die Preise sind {dear_span} am höchsten (Mittel {_price(prices[expensive])}). Mehr heizen "
                f"{_span(inputs, first, last)} und dann weniger, innerhalb von {band}, spart "
                f"{_eur_de(plan.saving_eur)}.",
                plan.saving_eur,
                inputs.slot_start(first),
                inputs.slot_start(last),
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
            _infeasible(rule, meter.meter_id, error, result, "Battery", "Batterie")
            continue
        planned.add(meter.meter_id)
        result.plans.append(DevicePlan(rule.id, plan))
        charge, discharge = windows(plan.optimised_kw > 0.05), windows(plan.optimised_kw < -0.05)
        charge_text = ", ".join(_span(inputs, a, b) for a, b in charge[:3]) or "-"
        discharge_text = ", ".join(_span(inputs, a, b) for a, b in discharge[:3]) or "-"
        everything = charge + discharge
        result.recommendations.append(
            Recommendation(
                rule.id,
                rule.strategy,
                f"Battery {meter.meter_id}: charge {charge_text}, discharge {discharge_text}",
                f"Batterie {meter.meter_id}: laden {charge_text}, entladen {discharge_text}",
                f"Charging when power is cheap or the sun shines and discharging into the load in dear hours "
                f"saves {_eur(plan.saving_eur)} against plain self-consumption." + " ".join(plan.notes),
                f"Laden bei günstigem Strom oder Sonne und Entladen in teuren Stunden spart "
                f"{_eur_de(plan.saving_eur)} gegenüber einfachem Eigenverbrauch.",
                plan.saving_eur,
                inputs.slot_start(min(a for a, _ in everything)) if everything else None,
                inputs.slot_start(max(b for _, b in everything)) if everything else None,
            )
        )


def _condition_windows(inputs: DayInputs, rule: Rule) -> list[tuple[int, int]]:
    return windows(evaluate(Condition.model_validate(rule.condition), inputs.frame, rule.params))


def _peak(inputs, rule, result) -> None:
    params: PeakParams = typed_params(rule.strategy, rule.params)
    load = inputs.frame.forecast_kw
    for first, last in _condition_windows(inputs, rule):
        peak = float(np.nanmax(load[first:last]))
        result.recommendations.append(
            Recommendation(
                rule.id,
                rule.strategy,
                f"Load above the contracted {params.contracted_kw:g} kW {_span(inputs, first, last)}",
                f"Last über den vereinbarten {params.contracted_kw:g} kW {_span(inputs, first, last)}",
                f"The forecast load reaches {peak:.1f} kW, {peak - params.contracted_kw:.1f} kW above the contracted "
                f"peak. Postpone what can wait or cap flexible loads in these hours.",
                f"Die prognostizierte Last erreicht {peak:.1f} kW, {peak - params.contracted_kw:.1f} kW über der "
                f"vereinbarten Spitze. Verschieben Sie, was warten kann, oder begrenzen Sie flexible Lasten.",
                None,
                inputs.slot_start(first),
                inputs.slot_start(last),
            )
        )


def _pv(inputs, rule, result) -> None:
    _: PvParams = typed_params(rule.strategy, rule.params)
    surplus = inputs.frame.pv_surplus_kw
    for first, last in _condition_windows(inputs, rule):
        kwh = float(surplus[first:last].sum() * inputs.curve.hours)
        result.recommendations.append(
            Recommendation(
                rule.id,
                rule.strategy,
                f"Use your solar power {_span(inputs, first, last)}",
                f"Solarstrom selbst nutzen {_span(inputs, first, last)}",
                f"About {kwh:.1f} kWh of PV output are expected beyond the site's load. Run flexible loads "
                f"(washing, charging, hot water) now rather than from the grid later.",
                f"Etwa {kwh:.1f} kWh PV-Strom werden über den Verbrauch hinaus erwartet. Flexible Verbraucher "
                f"(Waschen, Laden, Warmwasser) jetzt statt später aus dem Netz betreiben.",
                None,
                inputs.slot_start(first),
                inputs.slot_start(last),
            )
        )


def _negative(inputs, rule, result) -> None:
    params: NegativePriceParams = typed_params(rule.strategy, rule.params)
    prices = inputs.curve.eur_per_mwh
    for first, last in _condition_windows(inputs, rule):
        low = float(prices[first:last].min())
        if low < 0:
            why_en, why_de = "using power in these hours is paid for", "Stromverbrauch wird in diesen Stunden vergütet"
        else:
            limit = f"{params.threshold_eur_mwh:g} €/MWh"
            why_en, why_de = f"below your threshold of {limit}", f"unter Ihrer Schwelle von {limit}"
        result.recommendations.append(
            Recommendation(
                rule.id,
                rule.strategy,
                f"{'Negative' if low < 0 else 'Low'} prices {_span(inputs, first, last)}",
                f"{'Negative' if low < 0 else 'Niedrige'} Preise {_span(inputs, first, last)}",
                f"The day-ahead price falls to {low:.0f} €/MWh, {why_en}. Run whatever can wait.",
                f"Der Day-Ahead-Preis fällt auf {low:.0f} €/MWh, {why_de}. Betreiben Sie jetzt, was warten kann.",
                None,
                inputs.slot_start(first),
                inputs.slot_start(last),
            )
        )


_ACTION_WORDS = {
    "shift_load": ("run flexible loads", "flexible Lasten betreiben"),
    "charge_battery": ("charge the battery", "die Batterie laden"),
    "discharge_battery": ("discharge the battery", "die Batterie entladen"),
    "notify": ("take note", "zur Kenntnis"),
    "cap_demand": ("cap the demand", "die Last begrenzen"),
}


def _custom(inputs, rule, result) -> None:
    condition = Condition.model_validate(rule.condition)
    action = Action.model_validate(rule.action)
    verb_en, verb_de = _ACTION_WORDS[action.type]
    device = f" ({action.device})" if action.device else ""
    for first, last in _condition_windows(inputs, rule):
        span = _span(inputs, first, last)
        result.recommendations.append(
            Recommendation(
                rule.id,
                rule.strategy,
                action.message_en or f"{rule.name}: {verb_en}{device} {span}",
                action.message_de or f"{rule.name}: {verb_de}{device} {span}",
                f"Your rule '{rule.name}' applies {span}: {describe(condition, 'en')}.",
                f"Ihre Regel '{rule.name}' greift {span}: {describe(condition, 'de')}.",
                None,
                inputs.slot_start(first),
                inputs.slot_start(last),
            )
        )


__all__ = ["STRATEGIES", "DayPlan", "DevicePlan", "Recommendation", "heat_pump_request", "plan_day"]
