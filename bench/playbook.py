"""Playbook benchmark: optimised vs naive plans for simulated tenants over simulated day-ahead prices.

100 tenants (by default), each with one flexible device in turn: workplace EV chargers, a heat pump,
or a PV battery. The device's day comes from the smart-meter simulator (EV sessions: the day's
energy and first arrival; heat pump: its hourly electricity when heating on demand; battery: the
site's load and PV), the prices from the market simulator, 90 days from --start. For every
tenant-day both plans are costed on the same prices in this run:

- naive: EV charges at full power on arrival; the heat pump heats on demand; the battery stores PV
  surplus and discharges into the load (self-consumption, no grid charging);
- optimised: luna_core.playbook.optimizer (HiGHS via scipy.optimize.milp), same energy, same end state.

Costs: grid energy at the day-ahead price; exported PV earns --feed-in EUR/kWh. For batteries the
cost is the site's grid bill under each control (the battery has no consumption of its own).
Prints per-kind totals, per-tenant saving percentiles, solve time per tenant-day (p50/p95), and
last ``playbook_saving_pct=<x>``: total saving / total naive cost of the flexible devices, in percent.

    python bench/playbook.py [--tenants 100] [--days 90] [--start 2026-03-01]
"""

from __future__ import annotations

import argparse
import dataclasses
import time as clock
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from luna_core.playbook.inputs import MeterInfo
from luna_core.playbook.optimizer import BatteryRequest, EvRequest, Infeasible, PriceCurve, optimise
from luna_core.playbook.recommendations import heat_pump_request
from luna_core.playbook.strategies import HeatPumpParams
from luna_core.simulation.market import simulate_day_ahead_prices
from luna_core.simulation.meters import simulate_meter
from luna_core.simulation.sites import EV_CHARGER_KW, MeterSpec, SiteSpec, bench_site

KINDS = ("ev", "heat_pump", "battery")
DEADLINE_HOUR = 18  # workplace chargers: cars leave from 18:00


def _site(index: int) -> tuple[SiteSpec, str]:
    base = bench_site(index, 1)
    rng = np.random.default_rng([7, index])
    kind = KINDS[index % len(KINDS)]
    scale = 1.0 if base.kind == "household" else 5.0
    extra: tuple[MeterSpec, ...]
    if kind == "ev":
        extra = (MeterSpec("ev", "ev", annual_kwh=round(rng.uniform(2_000, 5_000) * scale)),)
    elif kind == "heat_pump":
        extra = (MeterSpec("heat-pump", "heat_pump", annual_kwh=round(rng.uniform(3_000, 7_000) * scale)),)
    else:
        kw = round(rng.uniform(3, 8) * scale, 1)
        extra = (
            MeterSpec("pv", "pv", kwp=round(rng.uniform(6, 12) * scale, 1)),
            MeterSpec("battery", "battery", max_kw=kw),
        )
    return dataclasses.replace(base, meters=(*base.meters, *extra)), kind


def _hourly(site: SiteSpec, meter_id: str, start: datetime, end: datetime) -> np.ndarray:
    quarters = simulate_meter(site, site.meter(meter_id), start, end, seed=42)
    return quarters.reshape(-1, 4).sum(axis=1)  # kWh per hour = mean kW


def _requests(site: SiteSpec, kind: str, days: list[tuple[date, slice, PriceCurve]], start, end, feed_in: float):
    """(day, request) for every tenant-day with something to plan."""
    zone = ZoneInfo(site.timezone)
    if kind == "ev":
        energy = _hourly(site, "ev", start, end)
        meter = site.meter("ev")
        power = EV_CHARGER_KW * max(1, int(meter.max_kw // EV_CHARGER_KW))
        for day, hours, curve in days:
            kwh = energy[hours]
            if kwh.sum() < 0.1:
                continue
            active = np.flatnonzero(kwh > 1e-6)
            local_hours = [s.astimezone(zone).hour for s in curve.starts]
            deadline = max(int(active[-1]) + 1, local_hours.index(DEADLINE_HOUR) if DEADLINE_HOUR in local_hours else 0)
            yield day, EvRequest(float(kwh.sum()), power, arrival=int(active[0]), deadline=deadline), None
    elif kind == "heat_pump":
        electricity = _hourly(site, "heat-pump", start, end)
        meter = site.meter("heat-pump")
        info = MeterInfo("heat-pump", "heat_pump", meter.max_kw)
        for day, hours, _ in days:
            if electricity[hours].sum() >= 0.1:
                yield day, heat_pump_request(HeatPumpParams(), info, electricity[hours]), None
    else:
        load, pv = _hourly(site, "main", start, end), _hourly(site, "pv", start, end)
        kw = site.meter("battery").max_kw
        for day, hours, _ in days:
            yield (
                day,
                BatteryRequest(
                    capacity_kwh=2 * kw,
                    power_kw=kw,
                    load_kw=tuple(load[hours]),
                    pv_kw=tuple(pv[hours]),
                    feed_in_eur_kwh=feed_in,
                ),
                None,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 3, 1))
    parser.add_argument("--feed-in", type=float, default=0.0, help="EUR/kWh for exported PV (0: none, conservative)")
    args = parser.parse_args()

    last = args.start + timedelta(days=args.days - 1)
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime.combine(args.start, time(), berlin).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), berlin).astimezone(UTC)
    prices = simulate_day_ahead_prices("DE-LU", args.start, last, 60, seed=42)
    stamps = prices["ts"].to_list()
    values = prices["eur_per_mwh"].to_numpy()
    local_days = np.array([s.astimezone(berlin).date().toordinal() for s in stamps])
    days = []
    for ordinal in np.unique(local_days):
        rows = np.flatnonzero(local_days == ordinal)
        hours = slice(int(rows[0]), int(rows[-1]) + 1)
        days.append((date.fromordinal(int(ordinal)), hours, PriceCurve(tuple(stamps[hours]), values[hours])))
    print(
        f"{args.tenants} tenants x {len(days)} days ({args.start}..{last}), DE-LU simulated prices: "
        f"mean {values.mean():.1f} EUR/MWh, {int((values < 0).sum())} negative hours"
    )

    totals = defaultdict(lambda: {"tenants": 0, "days": 0, "naive": 0.0, "optimised": 0.0, "infeasible": 0})
    per_tenant: list[tuple[str, str, float, float]] = []
    solve_ms: list[float] = []
    simulate_s = 0.0
    for index in range(args.tenants):
        site, kind = _site(index)
        began = clock.perf_counter()
        requests = list(_requests(site, kind, days, start, end, args.feed_in))
        simulate_s += clock.perf_counter() - began
        naive = optimised = 0.0
        for day, request, _ in requests:
            curve = next(c for d, _, c in days if d == day)
            try:
                plan = optimise(request, curve)
            except Infeasible as error:
                totals[kind]["infeasible"] += 1
                print(f"  {site.tenant_id} {day}: infeasible: {error}")
                continue
            solve_ms.append(plan.solve_seconds * 1000)
            naive += plan.naive_cost_eur
            optimised += plan.optimised_cost_eur
            totals[kind]["days"] += 1
        totals[kind]["tenants"] += 1
        totals[kind]["naive"] += naive
        totals[kind]["optimised"] += optimised
        per_tenant.append((site.tenant_id, kind, naive, optimised))

    print(f"\nsimulated device days in {simulate_s:.1f} s; {len(solve_ms)} plans solved")
    header = f"{'device':<10} {'tenants':>7} {'days':>6} {'naive EUR':>11} {'optimised EUR':>14} {'saving EUR':>11}"
    print(f"\n{header} {'saving':>7}")
    for kind in KINDS:
        t = totals[kind]
        saving = t["naive"] - t["optimised"]
        pct = 100 * saving / t["naive"] if t["naive"] else 0.0
        print(
            f"{kind:<10} {t['tenants']:>7} {t['days']:>6} {t['naive']:>11.2f} {t['optimised']:>14.2f} "
            f"{saving:>11.2f} {pct:>6.1f}%"
        )
    naive_all = sum(t["naive"] for t in totals.values())
    optimised_all = sum(t["optimised"] for t in totals.values())
    saving_all = naive_all - optimised_all
    loads = [totals[k] for k in ("ev", "heat_pump")]
    loads_pct = 100 * sum(t["naive"] - t["optimised"] for t in loads) / max(sum(t["naive"] for t in loads), 1e-9)
    print(f"{'all':<10} {args.tenants:>7} {len(solve_ms):>6} {naive_all:>11.2f} {optimised_all:>14.2f} ", end="")
    print(f"{saving_all:>11.2f}")
    print(f"EV + heat pump only (the loads themselves): {loads_pct:.1f}% saved")

    savings = np.array([n - o for _, _, n, o in per_tenant])
    shares = np.array([100 * (n - o) / n if n > 0 else 0.0 for _, _, n, o in per_tenant])
    print(
        f"\nper tenant over {len(days)} days: saving EUR min {savings.min():.2f} / median {np.median(savings):.2f} / "
        f"max {savings.max():.2f}; share min {shares.min():.1f}% / median {np.median(shares):.1f}% / "
        f"max {shares.max():.1f}%; tenants with a negative saving: {int((savings < -1e-9).sum())}"
    )
    for kind in KINDS:
        mine = [(tid, n - o) for tid, k, n, o in per_tenant if k == kind]
        if mine:
            best = max(mine, key=lambda x: x[1])
            print(
                f"  {kind}: mean {np.mean([s for _, s in mine]):.2f} EUR per tenant, best {best[0]} {best[1]:.2f} EUR"
            )
    times = np.array(solve_ms)
    print(
        f"\nsolve time per tenant-day (model build + HiGHS): p50 {np.percentile(times, 50):.1f} ms, "
        f"p95 {np.percentile(times, 95):.1f} ms, max {times.max():.1f} ms"
    )
    print(f"playbook_saving_pct={100 * saving_all / naive_all:.2f}")


if __name__ == "__main__":
    main()
