"""What every device's program shares: the price curve, the plan, the reason a request cannot be
met, costing with PV first, and solving with HiGHS through ``scipy.optimize.milp``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix, hstack, lil_matrix

from luna_core.i18n import Translator
from luna_core.i18n.message import Message, texts

TOLERANCE = 1e-6


class Device(Protocol):
    device: str
    kind: str


class Infeasible(ValueError):
    """The request cannot be met; the message says why in plain words: a catalogue message
    (``optimiser.*``, rendered in the reader's language) or, for checks of what-if input, English text.
    ``str(error)`` is the English text."""

    def __init__(self, why: str | Message) -> None:
        self.message = why if isinstance(why, Message) else None
        super().__init__(str(why))

    @property
    def reason(self) -> Message | dict:
        """The reason as a message parameter (stored with a recommendation)."""
        return self.message if self.message is not None else texts({"en": str(self)})

    def text(self, translator: Translator) -> str:
        return self.message.render(translator) if self.message is not None else str(self)


@dataclass(frozen=True)
class PriceCurve:
    """Equal-length delivery slots: UTC starts and EUR/MWh."""

    starts: tuple[datetime, ...]
    eur_per_mwh: np.ndarray
    hours: float = 1.0

    def __post_init__(self) -> None:
        prices = np.asarray(self.eur_per_mwh, dtype=float)
        object.__setattr__(self, "eur_per_mwh", prices)
        if len(self.starts) != len(prices) or len(prices) == 0:
            raise Infeasible(Message("optimiser.curve_slots"))
        if not np.all(np.isfinite(prices)):
            raise Infeasible(Message("optimiser.curve_finite"))
        if not 0 < self.hours <= 24:
            raise Infeasible(Message("optimiser.curve_slot_length"))

    def __len__(self) -> int:
        return len(self.eur_per_mwh)

    @property
    def eur_per_kwh(self) -> np.ndarray:
        return self.eur_per_mwh / 1000.0


@dataclass
class Plan:
    device: str
    kind: str
    curve: PriceCurve
    baseline_kw: np.ndarray
    optimised_kw: np.ndarray
    naive_cost_eur: float
    optimised_cost_eur: float
    solve_seconds: float
    state_kwh: np.ndarray | None = None  # battery energy or stored heat at each slot boundary
    notes: list[Message] = field(default_factory=list)  # for the reader, in the catalogue's words

    @property
    def saving_eur(self) -> float:
        return self.naive_cost_eur - self.optimised_cost_eur

    @property
    def optimised_kwh(self) -> float:
        return float(np.clip(self.optimised_kw, 0, None).sum() * self.curve.hours)

    @property
    def naive_kwh(self) -> float:
        return float(np.clip(self.baseline_kw, 0, None).sum() * self.curve.hours)

    def active_window(self) -> tuple[int, int] | None:
        """First and last+1 slot in which the optimised plan draws power."""
        active = np.flatnonzero(self.optimised_kw > 1e-3)
        return (int(active[0]), int(active[-1]) + 1) if len(active) else None


def surplus_kw(pvsurplus_kw_kw: np.ndarray | None, curve: PriceCurve) -> np.ndarray:
    if pvsurplus_kw_kw is None:
        return np.zeros(len(curve))
    surplus = np.asarray(pvsurplus_kw_kw, dtype=float)
    if surplus.shape != (len(curve),):
        raise Infeasible(Message("optimiser.pv_surplus_values", slots=len(curve), got=int(surplus.size)))
    return np.clip(np.nan_to_num(surplus), 0.0, None)


def draw_cost(kw: np.ndarray, curve: PriceCurve, surplus_kw: np.ndarray, feed_in_eur_kwh: float) -> float:
    """EUR for drawing ``kw`` per slot: the PV surplus first (it would have earned the feed-in tariff),
    the rest from the grid at the price. One meter cannot import and export at once."""
    from_pv = np.minimum(kw, surplus_kw)
    return float(((kw - from_pv) * curve.eur_per_kwh + from_pv * feed_in_eur_kwh).sum() * curve.hours)


def pv_first(problem: tuple, n: int, surplus: np.ndarray, power: float, curve: PriceCurve, feed_in: float) -> tuple:
    """Grid draw only once the PV surplus is used up. Only where the grid is cheaper than the feed-in
    tariff would the LP rather import while exporting PV (one meter cannot); there a binary per slot
    says "grid on" (then the surplus is drawn first) or "grid off". Variables 0..n-1 are grid draw,
    n..2n-1 PV draw."""
    cost, lower, upper, integrality, constraints = problem
    concave = np.flatnonzero((surplus > 0) & (curve.eur_per_kwh < feed_in))
    if not len(concave):
        return problem
    size, k = len(cost), len(concave)
    padded = [LinearConstraint(hstack([c.A, csr_matrix((c.A.shape[0], k))]).tocsr(), c.lb, c.ub) for c in constraints]
    rows = lil_matrix((2 * k, size + k))
    for j, t in enumerate(concave):
        rows[2 * j, t], rows[2 * j, size + j] = 1.0, -power  # grid <= P * on
        rows[2 * j + 1, n + t], rows[2 * j + 1, size + j] = 1.0, -min(surplus[t], power)  # PV >= surplus * on
    bounds_lo = np.tile([-np.inf, 0.0], k)
    bounds_hi = np.tile([0.0, np.inf], k)
    base_integrality = np.zeros(size) if integrality is None else integrality
    return (
        np.concatenate([cost, np.zeros(k)]),
        np.concatenate([lower, np.zeros(k)]),
        np.concatenate([upper, np.ones(k)]),
        np.concatenate([base_integrality, np.ones(k)]),
        [*padded, LinearConstraint(rows.tocsr(), bounds_lo, bounds_hi)],
    )


def solve_problem(problem: tuple, size: int) -> np.ndarray | None:
    cost, lower, upper, integrality, constraints = problem
    x = solve(cost, Bounds(lower, upper), constraints, integrality)
    return None if x is None else x[:size]


def check_positive(**values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise Infeasible(Message("optimiser.positive", name=name, value=str(value)))


SOLVE_ERROR = 4  # scipy.optimize.milp: "other" (HiGHS reported a solve error, not infeasibility)


def solve(cost: np.ndarray, bounds: Bounds, constraints: list[LinearConstraint], integrality=None):
    """The solution, or None when there is none. HiGHS's presolve can end in a solve error on a
    degenerate program (all prices zero: every plan costs the same); then it is solved once more
    without presolve instead of calling a feasible request infeasible."""
    for presolve in (True, False):
        result = milp(
            cost, bounds=bounds, constraints=constraints, integrality=integrality, options={"presolve": presolve}
        )
        if result.status == 0 and result.x is not None:
            return result.x
        if result.status != SOLVE_ERROR:
            return None
    return None


def hhmm(curve: PriceCurve, slot: int) -> str:
    if slot >= len(curve):
        return "the end of the price curve"
    return curve.starts[slot].strftime("%Y-%m-%d %H:%M UTC")


def finish(
    request: Device, curve: PriceCurve, naive_kw: np.ndarray, kw: np.ndarray, cost_of, naive_ok: bool = True
) -> Plan:
    """The plan of ``kw`` next to the naive one, each costed by ``cost_of``."""
    naive_cost, optimised_cost = cost_of(naive_kw), cost_of(kw)
    if naive_ok and optimised_cost > naive_cost:
        # Only solver tolerance can make this happen (the naive plan is feasible): keep the naive one.
        kw, optimised_cost = naive_kw, naive_cost
    return Plan(
        device=request.device,
        kind=request.kind,
        curve=curve,
        baseline_kw=naive_kw,
        optimised_kw=kw,
        naive_cost_eur=naive_cost,
        optimised_cost_eur=optimised_cost,
        solve_seconds=0.0,
    )
