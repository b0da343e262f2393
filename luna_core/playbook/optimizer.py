"""Day-ahead schedules for flexible devices: a linear (or mixed-integer) program per device, solved
by HiGHS through ``scipy.optimize.milp``.

Every request also has a naive plan (EV: charge at full power on arrival; heat pump: heat on demand;
battery: charge from PV surplus, discharge into the site's load). The naive plan is always feasible
for the optimiser (same energy, same end state), so the optimised plan never costs more; where
solver tolerance would make it a hair dearer, the naive plan is returned instead.

Costs: grid energy at the day-ahead price (EUR/MWh / 1000 per kWh); energy taken from a PV surplus
costs the feed-in tariff it no longer earns. The cheaper of the two is used first.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint
from scipy.sparse import lil_matrix

from luna_core.i18n.message import Message
from luna_core.playbook.lp import (
    TOLERANCE,
    Infeasible,
    Plan,
    PriceCurve,
    check_positive,
    draw_cost,
    finish,
    hhmm,
    pv_first,
    solve,
    solve_problem,
    surplus_kw,
)

# Re-exported: callers import the optimiser's vocabulary from here.
__all__ = [
    "BatteryRequest",
    "EvRequest",
    "HeatPumpRequest",
    "Infeasible",
    "Plan",
    "PriceCurve",
    "draw_cost",
    "optimise",
]


@dataclass(frozen=True)
class EvRequest:
    """Charge ``energy_kwh`` into the car between slot ``arrival`` and slot ``deadline`` (exclusive)."""

    energy_kwh: float
    power_kw: float
    arrival: int = 0
    deadline: int | None = None
    efficiency: float = 1.0
    battery_kwh: float | None = None
    contiguous: bool = False
    device: str = "ev"
    kind: str = "ev"


@dataclass(frozen=True)
class HeatPumpRequest:
    """Heat the building as the baseline does, shifted within a comfort band.

    The building is a heat store: ``capacity_kwh_per_k`` per kelvin between ``comfort_min_c`` and
    ``comfort_max_c``; warmer than ``start_c`` it loses ``ua_kw_per_k`` per kelvin more heat."""

    baseline_kw: tuple[float, ...]
    power_kw: float
    cop: float = 3.0
    capacity_kwh_per_k: float = 10.0
    ua_kw_per_k: float = 0.25
    comfort_min_c: float = 20.0
    comfort_max_c: float = 22.0
    start_c: float = 21.0
    device: str = "heat_pump"
    kind: str = "heat_pump"


@dataclass(frozen=True)
class BatteryRequest:
    """Charge and discharge a battery against the site's load and PV; grid import priced, export
    earns ``feed_in_eur_kwh`` (PV only: the battery never discharges into the grid)."""

    capacity_kwh: float
    power_kw: float
    load_kw: tuple[float, ...]
    pv_kw: tuple[float, ...] | None = None
    efficiency: float = 0.9  # round trip
    soc_start: float = 0.5
    soc_min: float = 0.05
    grid_limit_kw: float | None = None
    feed_in_eur_kwh: float = 0.0
    device: str = "battery"
    kind: str = "battery"


DeviceRequest = EvRequest | HeatPumpRequest | BatteryRequest


def optimise(
    request: DeviceRequest,
    curve: PriceCurve,
    pvsurplus_kw_kw: np.ndarray | None = None,
    feed_in_eur_kwh: float = 0.0,
) -> Plan:
    """The cheapest plan for one device on one price curve; raises ``Infeasible`` with the reason."""
    started = time.perf_counter()
    if isinstance(request, EvRequest):
        plan = _ev(request, curve, surplus_kw(pvsurplus_kw_kw, curve), feed_in_eur_kwh)
    elif isinstance(request, HeatPumpRequest):
        plan = _heat_pump(request, curve, surplus_kw(pvsurplus_kw_kw, curve), feed_in_eur_kwh)
    elif isinstance(request, BatteryRequest):
        plan = _battery(request, curve)
    else:  # pragma: no cover - the union above is closed
        raise TypeError(f"unknown device request {type(request).__name__}")
    plan.solve_seconds = time.perf_counter() - started
    return plan


# --- EV ------------------------------------------------------------------------------------------


def naive_ev_kw(request: EvRequest, curve: PriceCurve) -> np.ndarray:
    """Charge on arrival at full power until the energy is in."""
    kw = np.zeros(len(curve))
    remaining = request.energy_kwh / request.efficiency
    for t in range(request.arrival, len(curve)):
        if remaining <= TOLERANCE:
            break
        kw[t] = min(request.power_kw, remaining / curve.hours)
        remaining -= kw[t] * curve.hours
    return kw


def _ev_window(request: EvRequest, curve: PriceCurve) -> tuple[int, int]:
    check_positive(energy_kwh=request.energy_kwh, power_kw=request.power_kw)
    if not 0 < request.efficiency <= 1:
        raise Infeasible(Message("optimiser.ev_efficiency", value=str(request.efficiency)))
    deadline = len(curve) if request.deadline is None else request.deadline
    if not 0 <= request.arrival < len(curve):
        raise Infeasible(Message("optimiser.ev_arrival_outside", slots=len(curve), slot=request.arrival))
    if deadline <= request.arrival or deadline > len(curve):
        raise Infeasible(
            Message("optimiser.ev_deadline", arrival=hhmm(curve, request.arrival), deadline=deadline, slots=len(curve))
        )
    if request.battery_kwh is not None and request.energy_kwh > request.battery_kwh + TOLERANCE:
        raise Infeasible(
            Message("optimiser.ev_battery_too_small", energy=request.energy_kwh, battery=request.battery_kwh)
        )
    hours = (deadline - request.arrival) * curve.hours
    possible = hours * request.power_kw * request.efficiency
    if request.energy_kwh > possible + TOLERANCE:
        needed = request.energy_kwh / (request.power_kw * request.efficiency)
        raise Infeasible(
            Message(
                "optimiser.ev_window_too_short",
                energy=request.energy_kwh,
                power=request.power_kw,
                needed=needed,
                hours=hours,
                arrival=hhmm(curve, request.arrival),
                deadline=hhmm(curve, deadline),
                possible=possible,
            )
        )
    return request.arrival, deadline


def _ev(request: EvRequest, curve: PriceCurve, surplus: np.ndarray, feed_in: float) -> Plan:
    arrival, deadline = _ev_window(request, curve)
    n, dt, power = len(curve), curve.hours, request.power_kw
    naive = naive_ev_kw(request, curve)
    inside = np.zeros(n, dtype=bool)
    inside[arrival:deadline] = True
    # Variables: grid draw (n), PV draw (n), and for a contiguous block one start flag per slot (n).
    blocks = request.contiguous
    size = 3 * n if blocks else 2 * n
    upper = np.concatenate([np.where(inside, power, 0.0), np.where(inside, np.minimum(surplus, power), 0.0)])
    cost = np.concatenate([curve.eur_per_kwh * dt, np.full(n, feed_in * dt)])
    integrality = None
    rows = lil_matrix((n + 1 + (n + 1 if blocks else 0), size))
    lower_b, upper_b = [], []
    for t in range(n):  # grid + PV draw within the charger's power
        rows[t, t] = rows[t, n + t] = 1.0
        lower_b.append(0.0)
        upper_b.append(power)
    rows[n, : 2 * n] = dt * request.efficiency
    lower_b.append(request.energy_kwh)
    upper_b.append(request.energy_kwh)
    if blocks:
        length = math.ceil(request.energy_kwh / (power * request.efficiency * dt) - TOLERANCE)
        starts_ok = np.zeros(n, dtype=bool)
        starts_ok[arrival : deadline - length + 1] = True
        upper = np.concatenate([upper, starts_ok.astype(float)])
        cost = np.concatenate([cost, np.zeros(n)])
        integrality = np.concatenate([np.zeros(2 * n), np.ones(n)])
        for t in range(n):  # draw only inside the chosen block: p_t <= P * sum of starts covering t
            rows[n + 1 + t, t] = rows[n + 1 + t, n + t] = 1.0
            for k in range(max(0, t - length + 1), t + 1):
                rows[n + 1 + t, 2 * n + k] = -power
            lower_b.append(-np.inf)
            upper_b.append(0.0)
        rows[2 * n + 1, 2 * n :] = 1.0
        lower_b.append(1.0)
        upper_b.append(1.0)
    problem = (
        cost,
        np.zeros(size),
        upper,
        integrality,
        [LinearConstraint(rows.tocsr(), np.array(lower_b), np.array(upper_b))],
    )
    x = solve_problem(pv_first(problem, n, surplus, power, curve, feed_in), size)
    if x is None:
        raise Infeasible(Message("optimiser.ev_no_plan"))
    kw = np.clip(x[:n] + x[n : 2 * n], 0.0, power)
    return finish(request, curve, naive, kw, lambda p: draw_cost(p, curve, surplus, feed_in))


# --- Heat pump -----------------------------------------------------------------------------------


def _heat_pump(request: HeatPumpRequest, curve: PriceCurve, surplus: np.ndarray, feed_in: float) -> Plan:
    n, dt = len(curve), curve.hours
    baseline = np.asarray(request.baseline_kw, dtype=float)
    if baseline.shape != (n,):
        raise Infeasible(Message("optimiser.heat_pump_baseline_values", slots=n, got=int(baseline.size)))
    if not np.all(np.isfinite(baseline)) or np.any(baseline < 0):
        raise Infeasible(Message("optimiser.heat_pump_baseline_negative"))
    check_positive(power_kw=request.power_kw, cop=request.cop, capacity_kwh_per_k=request.capacity_kwh_per_k)
    if request.ua_kw_per_k < 0:
        raise Infeasible(Message("optimiser.heat_pump_ua_negative"))
    if not request.comfort_min_c <= request.start_c <= request.comfort_max_c:
        raise Infeasible(
            Message(
                "optimiser.heat_pump_start_outside",
                start=request.start_c,
                low=request.comfort_min_c,
                high=request.comfort_max_c,
            )
        )
    over = np.flatnonzero(baseline > request.power_kw + TOLERANCE)
    if len(over):
        t = int(over[0])
        raise Infeasible(
            Message(
                "optimiser.heat_pump_over_power", at=hhmm(curve, t), demand=float(baseline[t]), power=request.power_kw
            )
        )
    capacity = request.capacity_kwh_per_k * (request.comfort_max_c - request.comfort_min_c)
    start = request.capacity_kwh_per_k * (request.start_c - request.comfort_min_c)
    leak = request.ua_kw_per_k * dt / request.capacity_kwh_per_k
    if leak >= 1:
        raise Infeasible(Message("optimiser.heat_pump_leak"))
    heat = baseline * request.cop * dt
    # Variables: grid draw (n), PV draw (n), stored heat at each slot boundary (n + 1), extra loss (n).
    # The extra loss is leak x (stored - start) when warmer than at the start and zero when cooler:
    # letting the building cool below the start is a comfort cut, not a saving, so it earns nothing.
    size = 4 * n + 1
    store, loss = slice(2 * n, 3 * n + 1), slice(3 * n + 1, 4 * n + 1)
    upper = np.concatenate(
        [
            np.full(n, request.power_kw),
            np.minimum(surplus, request.power_kw),
            np.full(n + 1, capacity),
            np.full(n, np.inf),
        ]
    )
    lower = np.zeros(size)
    lower[2 * n] = upper[2 * n] = start
    lower[3 * n] = start  # end no colder than it started: no borrowing from tomorrow
    rows = lil_matrix((3 * n, size))
    lo, hi = np.zeros(3 * n), np.zeros(3 * n)
    for t in range(n):
        # e[t+1] = e[t] + cop*dt*p[t] - heat[t] - loss[t]
        rows[t, 2 * n + t + 1], rows[t, 2 * n + t] = 1.0, -1.0
        rows[t, t] = rows[t, n + t] = -request.cop * dt
        rows[t, loss.start + t] = 1.0
        lo[t] = hi[t] = -heat[t]
        rows[n + t, t] = rows[n + t, n + t] = 1.0
        lo[n + t], hi[n + t] = 0.0, request.power_kw
        # loss[t] >= leak * (e[t] - start)
        rows[2 * n + t, loss.start + t], rows[2 * n + t, 2 * n + t] = 1.0, -leak
        lo[2 * n + t], hi[2 * n + t] = -leak * start, np.inf
    cost = np.concatenate([curve.eur_per_kwh * dt, np.full(n, feed_in * dt), np.zeros(2 * n + 1)])
    problem = (cost, lower, upper, None, [LinearConstraint(rows.tocsr(), lo, hi)])
    x = solve_problem(pv_first(problem, n, surplus, request.power_kw, curve, feed_in), size)
    if x is None:
        raise Infeasible(Message("optimiser.heat_pump_no_plan"))
    kw = np.clip(x[:n] + x[n : 2 * n], 0.0, request.power_kw)
    plan = finish(request, curve, baseline, kw, lambda p: draw_cost(p, curve, surplus, feed_in))
    plan.state_kwh = x[store] if plan.optimised_kw is kw else np.full(n + 1, start)
    return plan


# --- Battery -------------------------------------------------------------------------------------


def _battery_inputs(request: BatteryRequest, n: int) -> tuple[np.ndarray, np.ndarray]:
    check_positive(capacity_kwh=request.capacity_kwh, power_kw=request.power_kw)
    if not 0 < request.efficiency <= 1:
        raise Infeasible(Message("optimiser.battery_efficiency", value=str(request.efficiency)))
    if not 0 <= request.soc_min <= request.soc_start <= 1:
        raise Infeasible(
            Message("optimiser.battery_soc", soc_min=str(request.soc_min), soc_start=str(request.soc_start))
        )
    load = np.asarray(request.load_kw, dtype=float)
    pv = np.zeros(n) if request.pv_kw is None else np.asarray(request.pv_kw, dtype=float)
    for name, values in (("load_kw", load), ("pv_kw", pv)):
        if values.shape != (n,):
            raise Infeasible(Message("optimiser.values_count", name=name, slots=n, got=int(values.size)))
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise Infeasible(Message("optimiser.values_negative", name=name))
    return load, pv


def naive_battery(request: BatteryRequest, curve: PriceCurve, load: np.ndarray, pv: np.ndarray):
    """Self-consumption first: store PV surplus, discharge into the load, never from the grid."""
    n, dt = len(curve), curve.hours
    eta = math.sqrt(request.efficiency)
    floor, capacity = request.soc_min * request.capacity_kwh, request.capacity_kwh
    state = np.empty(n + 1)
    state[0] = request.soc_start * capacity
    charge, discharge = np.zeros(n), np.zeros(n)
    for t in range(n):
        surplus = pv[t] - load[t]
        if surplus > 0:
            charge[t] = min(request.power_kw, surplus, (capacity - state[t]) / (eta * dt))
        else:
            discharge[t] = min(request.power_kw, -surplus, (state[t] - floor) * eta / dt)
        state[t + 1] = state[t] + (eta * charge[t] - discharge[t] / eta) * dt
    return charge, discharge, state


def site_cost(net_kw: np.ndarray, pv: np.ndarray, curve: PriceCurve, feed_in: float) -> float:
    """Grid import at the price; export (PV only) at the feed-in tariff."""
    imported = np.clip(net_kw, 0.0, None)
    exported = np.minimum(np.clip(-net_kw, 0.0, None), pv)
    return float((imported * curve.eur_per_kwh - exported * feed_in).sum() * curve.hours)


def _battery(request: BatteryRequest, curve: PriceCurve) -> Plan:
    n, dt = len(curve), curve.hours
    load, pv = _battery_inputs(request, n)
    eta = math.sqrt(request.efficiency)
    power, capacity = request.power_kw, request.capacity_kwh
    charge0, discharge0, state0 = naive_battery(request, curve, load, pv)
    net = load - pv
    # Variables: charge c, discharge d, import g, export x (n each), state s (n + 1), battery mode b and
    # grid direction z (n each, binary: one meter never imports and exports in the same slot).
    c, d, g, x = (slice(i * n, (i + 1) * n) for i in range(4))
    s, b, z = slice(4 * n, 5 * n + 1), slice(5 * n + 1, 6 * n + 1), slice(6 * n + 1, 7 * n + 1)
    size = 7 * n + 1
    lower, upper = np.zeros(size), np.zeros(size)
    upper[c] = upper[d] = power
    upper[g] = np.inf if request.grid_limit_kw is None else request.grid_limit_kw
    upper[x] = pv
    lower[s], upper[s] = request.soc_min * capacity, capacity
    lower[s.start] = upper[s.start] = state0[0]
    naive_ok = request.grid_limit_kw is None or np.max(net + charge0 - discharge0) <= request.grid_limit_kw + TOLERANCE
    # End no emptier than the naive plan (than the start, when the naive plan breaks the grid limit).
    end_floor = state0[-1] if naive_ok else min(state0[0], state0[-1])
    lower[s.stop - 1] = max(lower[s.stop - 1], end_floor - TOLERANCE)
    upper[b] = upper[z] = 1.0
    rows = lil_matrix((6 * n, size))
    lo, hi = np.zeros(6 * n), np.zeros(6 * n)
    import_cap = load + power + pv  # no slot can import more
    for t in range(n):
        # import - export - charge + discharge = load - pv
        rows[t, g.start + t], rows[t, x.start + t] = 1.0, -1.0
        rows[t, c.start + t], rows[t, d.start + t] = -1.0, 1.0
        lo[t] = hi[t] = net[t]
        # s[t+1] = s[t] + eta*c*dt - d*dt/eta
        rows[n + t, s.start + t + 1], rows[n + t, s.start + t] = 1.0, -1.0
        rows[n + t, c.start + t], rows[n + t, d.start + t] = -eta * dt, dt / eta
        # one direction per slot: c <= P*b, d <= P*(1-b)
        rows[2 * n + t, c.start + t], rows[2 * n + t, b.start + t] = 1.0, -power
        lo[2 * n + t], hi[2 * n + t] = -np.inf, 0.0
        rows[3 * n + t, d.start + t], rows[3 * n + t, b.start + t] = 1.0, power
        lo[3 * n + t], hi[3 * n + t] = -np.inf, power
        # import <= cap * z, export <= pv * (1 - z)
        rows[4 * n + t, g.start + t], rows[4 * n + t, z.start + t] = 1.0, -import_cap[t]
        lo[4 * n + t], hi[4 * n + t] = -np.inf, 0.0
        rows[5 * n + t, x.start + t], rows[5 * n + t, z.start + t] = 1.0, pv[t]
        lo[5 * n + t], hi[5 * n + t] = -np.inf, pv[t]
    cost = np.zeros(size)
    cost[g] = curve.eur_per_kwh * dt
    cost[x] = -request.feed_in_eur_kwh * dt
    integrality = np.zeros(size)
    integrality[b] = integrality[z] = 1
    solution = solve(cost, Bounds(lower, upper), [LinearConstraint(rows.tocsr(), lo, hi)], integrality)
    if solution is None:
        if request.grid_limit_kw is not None:
            peak = int(np.argmax(net))
            raise Infeasible(
                Message(
                    "optimiser.battery_over_limit",
                    load=float(net[peak]),
                    at=hhmm(curve, peak),
                    limit=request.grid_limit_kw,
                    capacity=capacity,
                    power=power,
                )
            )
        raise Infeasible(Message("optimiser.battery_no_plan"))
    kw = np.clip(solution[c], 0, power) - np.clip(solution[d], 0, power)
    naive_kw = charge0 - discharge0
    plan = finish(
        request, curve, naive_kw, kw, lambda p: site_cost(net + p, pv, curve, request.feed_in_eur_kwh), naive_ok
    )
    plan.state_kwh = solution[s] if plan.optimised_kw is kw else state0
    if not naive_ok:
        plan.notes.append(Message("optimiser.naive_over_limit", limit=request.grid_limit_kw))
    return plan
