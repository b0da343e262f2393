"""Cost of rendering recommendations at read time (message catalogues, Babel locale formatting) against
the old way of building the same sentences with f-strings when the plan is made.

A day of recommendations from a simulated site (EV, heat pump, battery, peak, PV, price alerts: the
kinds ``plan_day`` writes) is rendered in German and English, as ``GET /playbook/recommendations``
does for one reader; the baseline formats equivalent German and English f-strings with a dict lookup
per value, measured in the same run. Prints microseconds per recommendation for the baseline, for a
render whose figures were formatted before (Babel's results are kept) and for one whose figures were
not, and last ``i18n_render_us_per_recommendation=<x>`` (the latter).

    python bench/i18n.py [--rounds 2000]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime

import numpy as np

from luna_core.i18n import catalogue, render
from luna_core.playbook.conditions import DayFrame
from luna_core.playbook.inputs import DayInputs, MeterInfo
from luna_core.playbook.optimizer import PriceCurve
from luna_core.playbook.recommendations import plan_day, recommendation_text
from luna_core.playbook.rules import Rule
from luna_core.playbook.strategies import validate_rule
from luna_core.simulation.market import simulate_day_ahead_prices

DAY = date(2026, 5, 4)


def _inputs() -> DayInputs:
    prices = simulate_day_ahead_prices("DE-LU", DAY, DAY, 60, seed=7)
    starts = tuple(prices["ts"].dt.convert_time_zone("UTC").to_list())
    eur = prices["eur_per_mwh"].to_numpy()
    hours = np.arange(len(starts))
    load = 4.0 + 10.0 * ((hours >= 17) & (hours < 20))
    pv = np.clip(8 * np.sin((hours - 6) / 12 * np.pi), 0, None)
    frame = DayFrame(starts, hours, eur, load, np.full(len(starts), np.nan), pv)
    meters = [MeterInfo("car", "ev", 11.0), MeterInfo("hp", "heat_pump", 6.0), MeterInfo("bat", "battery", 5.0)]
    curve = PriceCurve(starts, eur)
    return DayInputs("bench", "Europe/Berlin", "DE-LU", DAY, curve, frame, meters, {"hp": np.full(len(starts), 1.5)})


def _rule(rule_id: int, strategy: str, params: dict) -> Rule:
    condition, action, checked = validate_rule(strategy, None, None, params)
    return Rule(rule_id, "bench", strategy, strategy, condition, action, checked, True, 1, datetime.now(UTC))


def _rules():
    return [
        _rule(
            1, "ev_cheapest_window", {"meter_id": "car", "energy_kwh": 22.5, "arrival": "07:00", "deadline": "19:00"}
        ),
        _rule(3, "heat_pump_preheat", {}),
        _rule(4, "peak_shaving", {"contracted_kw": 10, "battery_meter_id": "bat"}),
        _rule(5, "battery_arbitrage", {}),
        _rule(6, "pv_self_consumption", {}),
        _rule(7, "negative_price_alert", {}),
    ]


def _baseline(params: dict) -> tuple[str, str]:
    # The pre-catalogue way: both languages formatted by hand, decimal comma by str.replace.
    saving = float(params.get("saving") or 0.0)
    english = (
        f"Charging when power is cheap saves {saving:.2f} € against plain self-consumption ({params.get('span')})."
    )
    german = f"Laden bei günstigem Strom spart {saving:.2f} € gegenüber einfachem Eigenverbrauch.".replace(".", ",")
    return english, german


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    recommendations = plan_day(_inputs(), _rules()).recommendations
    translators = [catalogue().translator(language) for language in ("de", "en")]
    for t in translators:  # load the catalogues and CLDR data once, as a running server has
        for rec in recommendations:
            recommendation_text(rec.message_key, rec.params, t)

    start = time.perf_counter()
    for _ in range(args.rounds):
        for rec in recommendations:
            _baseline(rec.params)
    baseline_us = (time.perf_counter() - start) / (args.rounds * len(recommendations)) * 1e6

    def render_all(cold: bool) -> float:
        start = time.perf_counter()
        for _ in range(args.rounds):
            if cold:  # figures never formatted before: a new day's plan read for the first time
                render._formatted.cache_clear()
            for rec in recommendations:
                for t in translators:
                    recommendation_text(rec.message_key, rec.params, t)
        return (time.perf_counter() - start) / (args.rounds * len(recommendations)) * 1e6

    warm_us, cold_us = render_all(cold=False), render_all(cold=True)
    print(f"{len(recommendations)} recommendations x {args.rounds} rounds, German and English each")
    print(f"baseline (f-strings, both languages): {baseline_us:.1f} us per recommendation")
    print(f"catalogue render, figures formatted before (Babel results kept): {warm_us:.1f} us per recommendation")
    print(f"catalogue render, figures never formatted before: {cold_us:.1f} us per recommendation")
    print(f"ratio cold render / baseline: {cold_us / baseline_us:.1f}")
    print(f"i18n_render_us_per_recommendation={cold_us:.1f}")


if __name__ == "__main__":
    main()
