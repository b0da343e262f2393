"""Answers from the tenant's live data: each intent calls the same core function the API and the
assets use (aggregates, KPIs, prices, forecasts) and returns its numbers with where they came from.

Periods are cut in the tenant's local time, like every other figure of the platform. Run inside
``tenant_scope`` of the tenant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from luna_core.energy import queries
from luna_core.energy.kpis import compute_tenant_kpis
from luna_core.forecasting.store import read_forecasts
from luna_core.luna import formatting as fmt
from luna_core.luna.charging import ChargingNeed, charging_need
from luna_core.luna.intents import Intent, IntentKind, Period
from luna_core.luna.language import Language
from luna_core.luna.prompts import phrase
from luna_core.market import queries as market
from luna_core.playbook.advice import cheapest_charging_window, ev_rule_window
from luna_core.playbook.inputs import NoPrices
from luna_core.playbook.optimizer import Infeasible
from luna_core.tenants import get_tenant


@dataclass(frozen=True)
class DataItem:
    label: str
    value: float
    unit: str
    source: str


@dataclass(frozen=True)
class DataAnswer:
    intent: Intent
    items: list[DataItem] = field(default_factory=list)
    text: str = ""

    @property
    def found(self) -> bool:
        return bool(self.items)


@dataclass(frozen=True)
class TenantInfo:
    tenant_id: str
    name: str
    kind: str
    zone: str
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def tenant_info(connection: Connection, tenant_id: str) -> TenantInfo:
    tenant = get_tenant(connection, tenant_id)
    return TenantInfo(tenant.id, tenant.name, tenant.kind, tenant.zone, tenant.timezone)


def period_days(period: Period, today: date) -> tuple[date, date]:
    """[first day, day after the last) of ``period`` seen from the local day ``today``."""
    monday = today - timedelta(days=today.weekday())
    first_of_month = today.replace(day=1)
    match period:
        case Period.TODAY:
            return today, today + timedelta(days=1)
        case Period.YESTERDAY:
            return today - timedelta(days=1), today
        case Period.TOMORROW:
            return today + timedelta(days=1), today + timedelta(days=2)
        case Period.THIS_WEEK:
            return monday, today + timedelta(days=1)
        case Period.LAST_WEEK:
            return monday - timedelta(days=7), monday
        case Period.THIS_MONTH:
            return first_of_month, today + timedelta(days=1)
        case Period.LAST_MONTH:
            return (first_of_month - timedelta(days=1)).replace(day=1), first_of_month


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def answer_intent(
    connection: Connection, tenant: TenantInfo, intent: Intent, language: Language, now: datetime
) -> DataAnswer:
    today = now.astimezone(tenant.tz).date()
    first, after = period_days(intent.period, today)
    window = _Window(
        start=local_midnight(first, tenant.tz),
        end=local_midnight(after, tenant.tz),
        period=phrase(language, f"periods.{intent.period.value}"),
        range=fmt.day_range(first, after, language),
        first=first,
        after=after,
        now=now.astimezone(tenant.tz),
    )
    handler = {
        IntentKind.CONSUMPTION: _consumption,
        IntentKind.CHEAPEST: _cheapest,
        IntentKind.PEAK: _peak,
        IntentKind.FORECAST: _forecast,
        IntentKind.EV_CHARGING: _ev_charging,
    }[intent.kind]
    found = handler(connection, tenant, window, language)
    if found is None:
        text = phrase(language, f"none.{intent.kind.value}", period=window.period, range=window.range)
        return DataAnswer(intent, [], text)
    items, text = found
    return DataAnswer(intent, items, text)


@dataclass(frozen=True)
class _Window:
    start: datetime
    end: datetime
    period: str
    range: str
    first: date
    after: date
    now: datetime  # tenant-local


_Found = tuple[list[DataItem], str] | None


def _consumption(connection: Connection, tenant: TenantInfo, w: _Window, language: Language) -> _Found:
    series = queries.aggregate(connection, tenant.tenant_id, "day", w.start, w.end)
    if not series.buckets:
        return None
    kwh, cost = series.kwh, series.cost_eur
    items = [
        DataItem(
            phrase(language, "labels.consumption", period=w.period),
            kwh,
            "kWh",
            phrase(language, "sources.consumption", range=w.range, timezone=tenant.timezone),
        )
    ]
    cost_clause = ""
    if cost is not None:
        # Says which money it is: the tenant's tariff, or the wholesale price alone (no tariff set).
        on = "_tariff" if series.cost_basis == "tariff" else ""
        items.append(
            DataItem(
                phrase(language, f"labels.cost{on}", period=w.period),
                cost,
                "EUR",
                phrase(language, f"sources.cost{on}", range=w.range, zone=tenant.zone),
            )
        )
        cost_clause = phrase(language, f"data.consumption_cost{on}", cost=fmt.number(cost, language, 2))
    text = phrase(
        language,
        "data.consumption",
        kwh=fmt.number(kwh, language),
        period=w.period,
        range=w.range,
        cost_clause=cost_clause,
    )
    return items, text


def _cheapest(connection: Connection, tenant: TenantInfo, w: _Window, language: Language) -> _Found:
    # Hourly prices where the zone has them, else quarter-hours: the cheapest delivery period either way.
    for resolution in (60, 15):
        prices = market.prices(connection, tenant.zone, w.start, w.end, resolution)
        if prices:
            break
    else:
        return None
    [slot] = market.cheapest_slots(connection, tenant.zone, w.start, w.end, resolution, 1)
    average = sum(p.eur_per_mwh for p in prices) / len(prices)
    start = slot.ts.astimezone(tenant.tz)
    end = start + timedelta(minutes=resolution)
    times = {"slot_start": fmt.clock(start), "slot_end": fmt.clock(end)}
    source = phrase(language, "sources.prices", zone=tenant.zone, resolution=resolution, range=w.range)
    items = [
        DataItem(
            phrase(language, "labels.cheapest_price", period=w.period, **times), slot.eur_per_mwh, "EUR/MWh", source
        ),
        DataItem(phrase(language, "labels.average_price", period=w.period), average, "EUR/MWh", source),
    ]
    text = phrase(
        language,
        "data.cheapest_price",
        period=w.period,
        price=fmt.number(slot.eur_per_mwh, language, 2),
        ct=fmt.number(slot.eur_per_mwh / 10, language, 2),
        average=fmt.number(average, language, 2),
        **times,
    )
    return items, text


def _peak(connection: Connection, tenant: TenantInfo, w: _Window, language: Language) -> _Found:
    last_day = w.after - timedelta(days=1)
    kpis = compute_tenant_kpis(connection, tenant.tenant_id, last_day)
    if kpis is None or kpis.peak_kw_month is None or kpis.intervals == 0:
        return None
    at = fmt.moment(kpis.peak_at.astimezone(tenant.tz), language)
    month_range = fmt.day_range(last_day.replace(day=1), w.after, language)
    items = [
        DataItem(
            phrase(language, "labels.peak", period=w.period, at=at),
            kpis.peak_kw_month,
            "kW",
            phrase(language, "sources.peak", month_range=month_range),
        )
    ]
    text = phrase(language, "data.peak", period=w.period, kw=fmt.number(kpis.peak_kw_month, language), at=at)
    return items, text


def _forecast(connection: Connection, tenant: TenantInfo, w: _Window, language: Language) -> _Found:
    rows = read_forecasts(connection, tenant.tenant_id, w.start, w.end)
    if not rows:
        return None
    total = sum(r.kwh for r in rows)
    busiest = max(rows, key=lambda r: r.kwh)
    source = phrase(
        language,
        "sources.forecast",
        model=rows[0].model_name,
        versions=", ".join(sorted({r.model_version for r in rows})),
        hours=len(rows),
        range=w.range,
    )
    items = [DataItem(phrase(language, "labels.forecast", period=w.period), total, "kWh", source)]
    text = phrase(
        language,
        "data.forecast",
        period=w.period,
        range=w.range,
        kwh=fmt.number(total, language),
        peak_hour=fmt.clock(busiest.ts.astimezone(tenant.tz)),
        peak_kwh=fmt.number(busiest.kwh, language),
    )
    return items, text


def _ev_charging(connection: Connection, tenant: TenantInfo, w: _Window, language: Language) -> _Found:
    today = w.now.date()
    need = charging_need(connection, tenant.tenant_id, tenant.timezone, today)
    # Today the window opens at the next full hour (the prices are hourly); tomorrow at midnight.
    opens = w.now.replace(minute=0, second=0, microsecond=0)
    opens = opens + timedelta(hours=1) if opens < w.now else opens
    earliest = "00:00" if w.first > today else fmt.clock(opens) if opens.date() == today else "24:00"
    # The tenant's own EV rule knows when the car arrives and must be full: the same window the
    # playbook plans in, so the saving is against charging on arrival, as in the recommendations.
    latest = None
    window = ev_rule_window(connection, tenant.tenant_id)
    if window is not None:
        arrival, latest = window
        earliest = max(earliest, arrival)
    values = {
        "period": w.period,
        "range": w.range,
        "earliest": earliest,
        "energy": fmt.number(need.energy_kwh, language),
        "power": fmt.number(need.power_kw, language),
    }
    try:
        advice = cheapest_charging_window(
            connection, tenant.tenant_id, w.first, need.energy_kwh, need.power_kw, earliest=earliest, latest=latest
        )
    except NoPrices:
        return None
    except Infeasible:
        return [], phrase(language, "none.ev_charging_infeasible", **values)
    times = {"slot_start": fmt.clock(advice.start), "slot_end": _clock_of_day(advice.end, w.first)}
    source = phrase(language, "sources.ev_charging", zone=tenant.zone, **values)
    energy_source, power_source, assumption = _need_sources(need, language, values)
    items = [
        DataItem(phrase(language, "labels.ev_start", **values, **times), _hours(advice.start, w.first), "h", source),
        DataItem(phrase(language, "labels.ev_end", **values, **times), _hours(advice.end, w.first), "h", source),
        DataItem(phrase(language, "labels.ev_cost", **values, **times), advice.cost_eur, "EUR", source),
        DataItem(phrase(language, "labels.ev_saving", **values), advice.saving_eur, "EUR", source),
        DataItem(phrase(language, "labels.ev_energy"), need.energy_kwh, "kWh", energy_source),
        DataItem(phrase(language, "labels.ev_power"), need.power_kw, "kW", power_source),
    ]
    text = phrase(
        language,
        "data.ev_charging",
        cost=fmt.number(advice.cost_eur, language, 2),
        saving=fmt.number(advice.saving_eur, language, 2),
        assumption=assumption,
        **values,
        **times,
    )
    return items, text


def _need_sources(need: ChargingNeed, language: Language, values: dict[str, str]) -> tuple[str, str, str]:
    """Where the energy and the power come from, and the sentence that tells the user."""
    if not need.meter_ids:
        default = phrase(language, "sources.ev_default", **values)
        return default, default, phrase(language, "data.ev_assumed_default", **values)
    named = {
        "meters": ", ".join(need.meter_ids),
        "days": need.days,
        "history": fmt.day_range(need.first, need.after, language),
    }
    power = phrase(language, "sources.ev_power", **named)
    if need.energy_measured:
        return (
            phrase(language, "sources.ev_energy", **named),
            power,
            phrase(language, "data.ev_assumed_measured", **values, **named),
        )
    return (
        phrase(language, "sources.ev_energy_no_charging", **values, **named),
        power,
        phrase(language, "data.ev_assumed_no_charging", **values, **named),
    )


def _hours(moment: datetime, day: date) -> float:
    """Local clock time as hours of ``day`` (14:15 -> 14.25); the midnight ending the day is 24."""
    if moment.date() > day:
        return 24.0
    return moment.hour + moment.minute / 60


def _clock_of_day(moment: datetime, day: date) -> str:
    return "24:00" if moment.date() > day else fmt.clock(moment)
