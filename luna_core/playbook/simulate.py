"""What-if plans: this EV, this deadline, these prices -> the plan and its saving. The request
models are the API's body and the CLI's input, so both go through ``simulate`` and the optimiser."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from datetime import date as Day
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from luna_core.i18n.message import Message
from luna_core.playbook.inputs import day_bounds, day_curve, load_day
from luna_core.playbook.optimizer import (
    BatteryRequest,
    EvRequest,
    HeatPumpRequest,
    Infeasible,
    Plan,
    PriceCurve,
    optimise,
)
from luna_core.settings import default_timezone
from luna_core.tenants import get_tenant

HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
MAX_SLOTS = 200
# Far outside any market data, dates would only overflow the day arithmetic.
FIRST_DAY, LAST_DAY = Day(2000, 1, 1), Day(2100, 12, 31)
Price = Annotated[float, Field(ge=-500, le=4000)]
Kw = Annotated[float, Field(ge=0, le=100_000)]
Moment = datetime | Annotated[str, Field(pattern=HHMM)]


class _Simulation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: Day | None = Field(None, description="tenant-local day whose stored day-ahead prices to use")
    prices: list[Price] | None = Field(
        None, min_length=1, max_length=MAX_SLOTS, description="EUR/MWh per slot, instead of a stored day"
    )
    start: datetime | None = Field(None, description="start of the first price slot (default: the day's midnight)")
    resolution_minutes: Literal[15, 60] = 60
    pv_surplus_kw: list[Kw] | None = Field(None, max_length=MAX_SLOTS, description="PV output beyond the load")
    feed_in_eur_kwh: float = Field(0.0, ge=0, le=1)
    timezone: str | None = Field(None, max_length=64, description="for local HH:MM times; default: the tenant's")


class EvSimulation(_Simulation):
    device: Literal["ev"]
    energy_kwh: float = Field(gt=0, le=2000)
    power_kw: float = Field(11.0, gt=0, le=2000)
    arrival: Moment | None = Field(None, description="ISO time with offset or local HH:MM; default: first slot")
    deadline: Moment | None = Field(None, description="ISO time with offset or local HH:MM; default: last slot")
    efficiency: float = Field(1.0, gt=0, le=1)
    battery_kwh: float | None = Field(None, gt=0, le=2000, description="the car's battery; more energy is refused")
    contiguous: bool = False


class HeatPumpSimulation(_Simulation):
    device: Literal["heat_pump"]
    power_kw: float = Field(gt=0, le=10_000)
    baseline_kw: list[Kw] | None = Field(None, max_length=MAX_SLOTS, description="heat on demand, kW per slot")
    daily_kwh: float | None = Field(None, gt=0, le=100_000, description="spread evenly when no baseline is given")
    cop: float = Field(3.0, gt=0.5, le=10)
    capacity_kwh_per_k: float = Field(10.0, gt=0, le=100_000)
    ua_kw_per_k: float = Field(0.25, ge=0, le=10_000)
    comfort_min_c: float = Field(20.0, ge=5, le=35)
    comfort_max_c: float = Field(22.0, ge=5, le=35)
    start_c: float = Field(21.0, ge=5, le=35)


class BatterySimulation(_Simulation):
    device: Literal["battery"]
    capacity_kwh: float = Field(gt=0, le=1_000_000)
    power_kw: float = Field(gt=0, le=100_000)
    load_kw: list[Kw] | None = Field(None, max_length=MAX_SLOTS, description="default: the tenant's load forecast")
    pv_kw: list[Kw] | None = Field(None, max_length=MAX_SLOTS)
    efficiency: float = Field(0.9, gt=0, le=1)
    soc_start: float = Field(0.5, ge=0, le=1)
    soc_min: float = Field(0.05, ge=0, le=1)
    grid_limit_kw: float | None = Field(None, gt=0, le=100_000)


Simulation = Annotated[EvSimulation | HeatPumpSimulation | BatterySimulation, Field(discriminator="device")]


def price_curve(connection: Connection | None, tenant_id: str | None, spec: _Simulation) -> tuple[PriceCurve, str]:
    """The curve to plan on (given prices, or the stored day) and the tenant's timezone."""
    zone, timezone = None, default_timezone()
    if connection is not None and tenant_id:
        tenant = get_tenant(connection, tenant_id)
        zone, timezone = tenant.zone, tenant.timezone
    if spec.timezone:
        try:
            ZoneInfo(spec.timezone)
        except (ValueError, KeyError):
            raise Infeasible(f"unknown timezone {spec.timezone!r}, e.g. {default_timezone()}") from None
        timezone = spec.timezone
    if spec.date is not None and not FIRST_DAY <= spec.date <= LAST_DAY:
        raise Infeasible(f"date must lie between {FIRST_DAY} and {LAST_DAY}")
    if spec.start is not None and not FIRST_DAY.year <= spec.start.year <= LAST_DAY.year:
        raise Infeasible(f"start must lie between {FIRST_DAY} and {LAST_DAY}")
    if spec.prices is not None:
        hours = spec.resolution_minutes / 60
        start = spec.start
        if start is None:
            day = spec.date or datetime.now(ZoneInfo(timezone)).date()
            start = day_bounds(day, timezone)[0]
        if start.tzinfo is None:
            raise Infeasible("start needs a UTC offset, e.g. 2026-05-04T00:00:00+02:00")
        start = start.astimezone(UTC)
        starts = tuple(start + timedelta(hours=hours * i) for i in range(len(spec.prices)))
        return PriceCurve(starts, np.array(spec.prices), hours), timezone
    if spec.date is None:
        raise Infeasible("give either prices or a date whose day-ahead prices to use")
    if connection is None or zone is None:
        raise Infeasible("stored prices need a tenant; pass prices instead")
    if spec.resolution_minutes != 60:
        raise Infeasible("stored day-ahead prices are planned hourly: leave resolution_minutes at 60")
    return day_curve(connection, zone, spec.date, timezone), timezone


def _moment(value: datetime | str | None, curve: PriceCurve, timezone: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            raise Infeasible("arrival and deadline need a UTC offset, or give local HH:MM")
        return value
    hour, minute = (int(x) for x in value.split(":"))
    local_day = curve.starts[0].astimezone(ZoneInfo(timezone)).date()
    moment = datetime.combine(local_day, time(hour, minute), ZoneInfo(timezone))
    if moment < curve.starts[0]:
        moment += timedelta(days=1)  # HH:MM before the first slot means the next day
    return moment


def _slot(moment: datetime | None, curve: PriceCurve, default: int, *, ceil: bool) -> int:
    if moment is None:
        return default
    step = timedelta(hours=curve.hours)
    if ceil:  # arrival: the first slot that starts at or after it
        return next((i for i, s in enumerate(curve.starts) if s >= moment), len(curve))
    return sum(1 for s in curve.starts if s + step <= moment)  # deadline: slots that end by then


def _series(values: list[float] | None, n: int, name: str) -> tuple[float, ...] | None:
    if values is None:
        return None
    if len(values) != n:
        raise Infeasible(f"{name} has {len(values)} values but there are {n} price slots")
    return tuple(float(v) for v in values)


def simulate(connection: Connection | None, tenant_id: str | None, spec: _Simulation) -> Plan:
    """The optimised plan for the what-if; raises ``Infeasible`` (with the reason) or ``NoPrices``."""
    curve, timezone = price_curve(connection, tenant_id, spec)
    n = len(curve)
    surplus = _series(spec.pv_surplus_kw, n, "pv_surplus_kw")
    surplus_array = np.array(surplus) if surplus is not None else None
    if isinstance(spec, EvSimulation):
        arrival = _moment(spec.arrival, curve, timezone)
        deadline = _moment(spec.deadline, curve, timezone)
        if isinstance(spec.deadline, str) and deadline is not None and deadline <= (arrival or curve.starts[0]):
            deadline += timedelta(days=1)  # "leave at 07:00" after arriving at 18:00 means the next morning
        if arrival is not None and deadline is not None and deadline <= arrival:
            raise Infeasible(f"the deadline {deadline.isoformat()} is not after the arrival {arrival.isoformat()}")
        end = curve.starts[-1] + timedelta(hours=curve.hours)
        request = EvRequest(
            energy_kwh=spec.energy_kwh,
            power_kw=spec.power_kw,
            arrival=_slot(arrival, curve, 0, ceil=True),
            deadline=_slot(deadline, curve, n, ceil=False),
            efficiency=spec.efficiency,
            battery_kwh=spec.battery_kwh,
            contiguous=spec.contiguous,
        )
        plan = optimise(request, curve, surplus_array, spec.feed_in_eur_kwh)
        if deadline is not None and deadline > end:
            plan.notes.append(Message("optimiser.prices_end_early", end=end.isoformat()))
        return plan
    if isinstance(spec, HeatPumpSimulation):
        baseline = _series(spec.baseline_kw, n, "baseline_kw")
        if baseline is None:
            if spec.daily_kwh is None:
                raise Infeasible("give the heat pump's baseline_kw per slot or its daily_kwh")
            baseline = tuple([spec.daily_kwh / (n * curve.hours)] * n)
        request = HeatPumpRequest(
            baseline_kw=baseline,
            power_kw=spec.power_kw,
            cop=spec.cop,
            capacity_kwh_per_k=spec.capacity_kwh_per_k,
            ua_kw_per_k=spec.ua_kw_per_k,
            comfort_min_c=spec.comfort_min_c,
            comfort_max_c=spec.comfort_max_c,
            start_c=spec.start_c,
        )
        return optimise(request, curve, surplus_array, spec.feed_in_eur_kwh)
    assert isinstance(spec, BatterySimulation)
    load = _series(spec.load_kw, n, "load_kw")
    if load is None:
        load = _tenant_load(connection, tenant_id, spec, n)
    request = BatteryRequest(
        capacity_kwh=spec.capacity_kwh,
        power_kw=spec.power_kw,
        load_kw=load,
        pv_kw=_series(spec.pv_kw, n, "pv_kw"),
        efficiency=spec.efficiency,
        soc_start=spec.soc_start,
        soc_min=spec.soc_min,
        grid_limit_kw=spec.grid_limit_kw,
        feed_in_eur_kwh=spec.feed_in_eur_kwh,
    )
    return optimise(request, curve)


def _tenant_load(connection: Connection | None, tenant_id: str | None, spec: BatterySimulation, n: int):
    if connection is None or tenant_id is None or spec.date is None or spec.prices is not None:
        raise Infeasible("give load_kw per slot (the tenant's forecast is used only with a stored date)")
    inputs = load_day(connection, tenant_id, spec.date)
    load = np.nan_to_num(inputs.frame.forecast_kw)
    if len(load) != n or not load.any():
        raise Infeasible(f"no load forecast for {spec.date}: give load_kw per slot")
    return tuple(float(x) for x in load)
