"""The optimiser on constructed price curves with known optima, its physical limits, and the
property that an optimised plan never costs more than the naive plan on the same inputs."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from luna_core.playbook.conditions import Condition, DayFrame, evaluate, windows
from luna_core.playbook.optimizer import (
    BatteryRequest,
    EvRequest,
    HeatPumpRequest,
    Infeasible,
    PriceCurve,
    optimise,
)
from luna_core.playbook.strategies import StrategyError, validate_rule

T0 = datetime(2026, 5, 4, 22, tzinfo=UTC)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def curve(prices, hours: float = 1.0) -> PriceCurve:
    return PriceCurve(tuple(T0 + timedelta(hours=hours * i) for i in range(len(prices))), np.array(prices), hours)


PRICES = [90, 85, 40, 30, 35, 60, 120, 150, 140, 100, 80, 20, -15, 10, 70, 130, 160, 155, 120, 95, 88, 86, 84, 82]


def test_ev_charges_exactly_in_the_cheapest_hours_before_the_deadline():
    # 30 kWh at 11 kW: two full hours and one of 8 kWh. Inside arrival 1 .. deadline 11 the cheapest hours
    # are 3 (30), 4 (35) and 2 (40); the cheaper hours 11-13 come after the deadline and must stay unused.
    plan = optimise(EvRequest(energy_kwh=30, power_kw=11, arrival=1, deadline=11), curve(PRICES))
    kw = plan.optimised_kw
    assert kw[3] == pytest.approx(11) and kw[4] == pytest.approx(11) and kw[2] == pytest.approx(8)
    assert kw.sum() == pytest.approx(30)
    assert np.all(kw[[0, *range(5, 24)]] == pytest.approx(0, abs=1e-7))
    assert plan.optimised_cost_eur == pytest.approx((11 * 30 + 11 * 35 + 8 * 40) / 1000)
    # Naive: full power from arrival (hours 1, 2 and 8 kWh in 3).
    assert plan.naive_cost_eur == pytest.approx((11 * 85 + 11 * 40 + 8 * 30) / 1000)


def test_ev_prefers_negative_prices_when_the_window_allows():
    plan = optimise(EvRequest(energy_kwh=22, power_kw=11, arrival=0, deadline=24), curve(PRICES))
    assert set(np.flatnonzero(plan.optimised_kw > 1e-6)) == {12, 13}  # -15 and 10 EUR/MWh


def test_contiguous_block_is_the_cheapest_window():
    request = EvRequest(energy_kwh=33, power_kw=11, arrival=0, deadline=24, contiguous=True)
    plan = optimise(request, curve(PRICES))
    active = np.flatnonzero(plan.optimised_kw > 1e-6)
    assert list(active) == list(range(active[0], active[0] + 3))
    best = min(range(22), key=lambda k: sum(PRICES[k : k + 3]))
    assert active[0] == best


def test_efficiency_loss_is_charged_for():
    plan = optimise(EvRequest(energy_kwh=9, power_kw=11, efficiency=0.9), curve(PRICES))
    assert plan.optimised_kw.sum() * 0.9 == pytest.approx(9)


@pytest.mark.parametrize(
    ("request_", "words"),
    [
        (EvRequest(energy_kwh=60, power_kw=11, arrival=20, deadline=24), "only 4.0 h"),
        (EvRequest(energy_kwh=80, power_kw=11, battery_kwh=60), "do not fit"),
        (EvRequest(energy_kwh=10, power_kw=11, arrival=5, deadline=5), "deadline must come after"),
        (EvRequest(energy_kwh=-1, power_kw=11), "energy_kwh must be a positive"),
        (HeatPumpRequest(baseline_kw=tuple([12.0] * 24), power_kw=9), "more than the heat pump"),
        (HeatPumpRequest(baseline_kw=tuple([1.0] * 24), power_kw=9, start_c=25), "outside the comfort band"),
        (BatteryRequest(capacity_kwh=10, power_kw=5, load_kw=tuple([1.0] * 3)), "needs 24 values"),
    ],
)
def test_infeasible_requests_explain_why(request_, words):
    with pytest.raises(Infeasible, match=words):
        optimise(request_, curve(PRICES))


def test_peak_limit_beyond_the_battery_is_explained():
    load = tuple([10.0] * 24)
    request = BatteryRequest(capacity_kwh=5, power_kw=2, load_kw=load, grid_limit_kw=6)
    with pytest.raises(Infeasible, match="cannot be held below the contracted 6 kW"):
        optimise(request, curve(PRICES))


def _replay_battery(kw, request: BatteryRequest, hours: float) -> np.ndarray:
    eta = math.sqrt(request.efficiency)
    state = [request.soc_start * request.capacity_kwh]
    for p in kw:
        state.append(state[-1] + (eta * max(p, 0) - max(-p, 0) / eta) * hours)
    return np.array(state)


def test_battery_respects_power_capacity_and_efficiency():
    load = tuple(float(x) for x in [4] * 7 + [6] * 10 + [8] * 7)
    pv = tuple(float(x) for x in [0] * 8 + [3, 6, 9, 10, 10, 9, 6, 3] + [0] * 8)
    request = BatteryRequest(capacity_kwh=10, power_kw=4, load_kw=load, pv_kw=pv, efficiency=0.81, soc_start=0.3)
    plan = optimise(request, curve(PRICES))
    assert np.all(np.abs(plan.optimised_kw) <= 4 + 1e-6)
    state = _replay_battery(plan.optimised_kw, request, 1.0)
    # The state the optimiser reports is the one its charge and discharge imply at 90 % each way.
    assert state == pytest.approx(plan.state_kwh, abs=1e-5)
    assert state.min() >= request.soc_min * 10 - 1e-6 and state.max() <= 10 + 1e-6
    assert plan.saving_eur > 0
    # Never exports battery energy: grid flow stays >= -(PV surplus).
    net = np.array(load) - np.array(pv) + plan.optimised_kw
    assert np.all(net >= -np.array(pv) - 1e-6)


def test_heat_pump_stays_in_the_comfort_band_and_delivers_the_heat():
    baseline = tuple([2.0] * 24)
    request = HeatPumpRequest(baseline_kw=baseline, power_kw=6, cop=3, capacity_kwh_per_k=12, ua_kw_per_k=0.2)
    plan = optimise(request, curve(PRICES))
    assert np.all(plan.optimised_kw <= 6 + 1e-6)
    stored = plan.state_kwh
    assert stored.min() >= -1e-6 and stored.max() <= 12 * 2 + 1e-6
    assert stored[-1] >= stored[0] - 1e-6
    # Warmer than the start loses more heat, so the plan uses at least as much electricity.
    assert plan.optimised_kw.sum() >= sum(baseline) - 1e-6
    assert plan.saving_eur > 0


prices_strategy = st.lists(st.floats(-200, 600, allow_nan=False, width=32), min_size=4, max_size=30)


@given(prices=prices_strategy, energy=st.floats(0.5, 80), power=st.floats(1, 22), data=st.data())
@PROPERTY
def test_ev_saving_is_never_negative(prices, energy, power, data):
    n = len(prices)
    arrival = data.draw(st.integers(0, n - 1))
    deadline = data.draw(st.integers(arrival + 1, n))
    contiguous = data.draw(st.booleans())
    request = EvRequest(energy_kwh=energy, power_kw=power, arrival=arrival, deadline=deadline, contiguous=contiguous)
    try:
        plan = optimise(request, curve(prices))
    except Infeasible:
        assert energy > power * (deadline - arrival) - 1e-6 or contiguous
        return
    assert plan.saving_eur >= 0
    assert plan.optimised_kw.sum() == pytest.approx(energy, rel=1e-6, abs=1e-6)
    assert plan.optimised_kw[:arrival].sum() == pytest.approx(0, abs=1e-6)


@given(prices=prices_strategy, level=st.floats(0, 5), data=st.data())
@PROPERTY
def test_heat_pump_saving_is_never_negative(prices, level, data):
    n = len(prices)
    baseline = tuple(data.draw(st.lists(st.floats(0, level), min_size=n, max_size=n)))
    request = HeatPumpRequest(baseline_kw=baseline, power_kw=6, cop=data.draw(st.floats(1.5, 5)))
    assert optimise(request, curve(prices)).saving_eur >= 0


@given(prices=prices_strategy, data=st.data())
@PROPERTY
def test_battery_saving_is_never_negative(prices, data):
    n = len(prices)
    load = tuple(data.draw(st.lists(st.floats(0, 10), min_size=n, max_size=n)))
    pv = tuple(data.draw(st.lists(st.floats(0, 10), min_size=n, max_size=n)))
    request = BatteryRequest(
        capacity_kwh=data.draw(st.floats(1, 30)),
        power_kw=data.draw(st.floats(0.5, 10)),
        load_kw=load,
        pv_kw=pv,
        efficiency=data.draw(st.floats(0.6, 1.0)),
        soc_start=data.draw(st.floats(0.1, 1.0)),
        feed_in_eur_kwh=data.draw(st.sampled_from([0.0, 0.08])),
    )
    plan = optimise(request, curve(prices))
    assert plan.saving_eur >= 0
    assert np.all(np.abs(plan.optimised_kw) <= request.power_kw + 1e-6)


def _frame(prices) -> DayFrame:
    n = len(prices)
    return DayFrame(
        starts=tuple(T0 + timedelta(hours=i) for i in range(n)),
        local_hour=np.arange(n, dtype=float) % 24,
        price=np.array(prices, dtype=float),
        forecast_kw=np.full(n, np.nan),
        consumption_kw=np.full(n, np.nan),
        pv_kw=np.full(n, np.nan),
    )


def test_conditions_percentiles_params_and_unknown_metrics():
    frame = _frame(PRICES)
    cheap = evaluate(Condition(metric="price", op="<=", percentile=25), frame, {})
    assert cheap.sum() == 6 and cheap[12]
    assert windows(evaluate(Condition(metric="price", op="<", param="limit"), frame, {"limit": 0})) == [(12, 13)]
    # No forecast known: a condition on it never holds.
    assert not evaluate(Condition(metric="forecast_kw", op=">", value=0), frame, {}).any()
    both = Condition.model_validate(
        {"all": [{"metric": "hour", "op": "between", "value": 2, "upper": 5}, {"always": True}]}
    )
    assert windows(evaluate(both, frame, {})) == [(2, 6)]


@pytest.mark.parametrize(
    ("strategy", "condition", "params", "words"),
    [
        ("nope", None, None, "unknown strategy"),
        ("custom", None, None, "needs a condition and an action"),
        ("custom", {"metric": "price"}, None, "needs an op"),
        ("peak_shaving", None, {}, "contracted_kw"),
        ("ev_cheapest_window", None, {"arrival": "25:00"}, "params.arrival"),
        ("ev_cheapest_window", None, {"typo": 1}, "params.typo"),
    ],
)
def test_rules_are_validated_with_clear_messages(strategy, condition, params, words):
    with pytest.raises(StrategyError, match=words):
        validate_rule(strategy, condition, {"type": "notify"} if condition else None, params)


def test_a_degenerate_battery_program_still_gets_a_plan():
    """All prices zero: every plan costs the same, and HiGHS's presolve ended in a solve error that was
    reported as "no battery plan satisfies the limits" (found by the property test above)."""
    request = BatteryRequest(
        capacity_kwh=17.0,
        power_kw=5.0,
        load_kw=(0, 0, 0, 0, 0, 1.0),
        pv_kw=(0, 0, 0, 0, 5.0, 1.0),
        efficiency=0.75,
        soc_start=0.75,
    )
    plan = optimise(request, curve([0.0] * 6))
    assert plan.saving_eur == 0 and np.all(np.abs(plan.optimised_kw) <= request.power_kw + 1e-6)
