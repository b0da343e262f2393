""" "When should I charge the car tomorrow?" on the real database: Luna's window, cost and saving are
exactly those of ``playbook.advice.cheapest_charging_window`` on the same stored prices, with the
energy and power taken from the tenant's EV meter (or the documented defaults), in both languages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from luna_core.db.tenancy import tenant_scope
from luna_core.luna import NoDocuments, ask
from luna_core.luna.charging import DEFAULT_ENERGY_KWH, DEFAULT_POWER_KW, HISTORY_DAYS
from luna_core.luna.intents import Intent, IntentKind, Period, route
from luna_core.playbook.advice import cheapest_charging_window
from tests.conftest import Meter
from tests.luna_seed import BERLIN, seed, seed_ev

NOW = datetime(2026, 3, 18, 10, 0, tzinfo=UTC)
TOMORROW = NOW.astimezone(BERLIN).date() + timedelta(days=1)


def _ask(engine, tenant, question):
    with tenant_scope(engine, tenant) as connection:
        return ask(connection, tenant, "user-1", question, retriever=NoDocuments(), now=NOW)


def _advice(engine, tenant, energy, power, **kwargs):
    with tenant_scope(engine, tenant) as connection:
        return cheapest_charging_window(connection, tenant, TOMORROW, energy, power, **kwargs)


def _hours(moment: datetime) -> float:
    return 24.0 if moment.date() > TOMORROW else moment.hour + moment.minute / 60


@pytest.fixture
def with_ev(engine, tenant_factory):
    zone = f"LZ-{uuid.uuid4().hex[:6]}"
    tenant = tenant_factory("luna-ev", meters=(Meter("main"), Meter("wallbox", "ev", 7.4)), zone=zone)
    seed(engine, tenant, zone, NOW)
    per_day = seed_ev(engine, tenant, NOW, meter_id="wallbox", kw=7.4)
    return tenant, per_day


@pytest.fixture
def without_ev(engine, tenant_factory):
    zone = f"LZ-{uuid.uuid4().hex[:6]}"
    tenant = tenant_factory("luna-noev", meters=(Meter("main"),), zone=zone)
    seed(engine, tenant, zone, NOW)
    return tenant


@pytest.mark.parametrize(
    ("question", "period"),
    [
        ("When should I charge the car tomorrow?", Period.TOMORROW),
        ("When should I charge my EV tomorrow?", Period.TOMORROW),
        ("What's the best time to charge?", Period.TOMORROW),
        ("Wann soll ich morgen das Auto laden?", Period.TOMORROW),
        ("Wann soll ich das E-Auto morgen laden?", Period.TOMORROW),
        ("Was ist heute die beste Zeit zum Laden?", Period.TODAY),
    ],
)
def test_charging_questions_are_routed(question, period):
    assert route(question) == Intent(IntentKind.EV_CHARGING, period)


@pytest.mark.parametrize(
    "question",
    ["What is peak shaving?", "When should I charge the battery?", "Wann hat der Laden geöffnet?", "What is an EV?"],
)
def test_other_questions_are_not_charging(question):
    assert route(question) is None or route(question).kind != IntentKind.EV_CHARGING


def test_english_answer_uses_the_ev_meter_and_equals_the_playbook_advice(engine, with_ev):
    tenant, per_day = with_ev
    today = NOW.astimezone(BERLIN).date()
    recent = [kwh for day, kwh in per_day.items() if day >= today - timedelta(days=HISTORY_DAYS)]
    assert len(recent) == HISTORY_DAYS and max(per_day.values()) > max(recent)  # the older days must not count
    energy = round(sum(recent) / len(recent), 1)
    advice = _advice(engine, tenant, energy, 7.4)

    answer = _ask(engine, tenant, "When should I charge my EV tomorrow?").answer
    assert (answer.mode, answer.language) == ("data", "en")
    start, end, cost, saving, need, power = answer.data
    assert (start.value, start.unit) == (_hours(advice.start), "h")
    assert (end.value, end.unit) == (_hours(advice.end), "h")
    assert (cost.value, cost.unit) == (advice.cost_eur, "EUR")
    assert (saving.value, saving.unit) == (advice.saving_eur, "EUR")
    assert (need.value, need.unit, power.value, power.unit) == (energy, "kWh", 7.4, "kW")
    assert advice.saving_eur > 0 and advice.start.hour == 14  # the seeded dip at 14:00
    assert "wallbox" in need.source and "14 days" in need.source and "wallbox" in power.source
    assert all(d.source for d in answer.data)
    window = f"{advice.start:%H:%M} to {advice.end:%H:%M}"
    assert answer.text.startswith(f"Charge the car tomorrow from {window}: {energy:.1f} kWh at up to 7.4 kW")
    assert f"{advice.cost_eur:.2f} EUR" in answer.text and "daily average" in answer.text


def test_german_answer_without_ev_meter_uses_the_documented_defaults(engine, without_ev):
    advice = _advice(engine, without_ev, DEFAULT_ENERGY_KWH, DEFAULT_POWER_KW)
    answer = _ask(engine, without_ev, "Wann soll ich morgen das Auto laden?").answer
    assert (answer.mode, answer.language) == ("data", "de")
    start, end, cost, saving, need, power = answer.data
    assert [start.value, end.value, cost.value, saving.value] == [
        _hours(advice.start),
        _hours(advice.end),
        advice.cost_eur,
        advice.saving_eur,
    ]
    assert (need.value, power.value) == (DEFAULT_ENERGY_KWH, DEFAULT_POWER_KW) == (20.0, 11.0)
    assert "kein E-Auto-Zähler" in need.source and "kein E-Auto-Zähler" in power.source
    window = f"von {advice.start:%H:%M} bis {advice.end:%H:%M}"
    assert answer.text.startswith(f"Laden Sie das Auto morgen {window}: 20,0 kWh")
    assert "keinen E-Auto-Zähler" in answer.text


def test_no_prices_for_tomorrow_is_said_honestly(engine, tenant_factory):
    tenant = tenant_factory("luna-ev-empty", meters=(Meter("ev", "ev", 11.0),), zone=f"LZ-{uuid.uuid4().hex[:6]}")
    english = _ask(engine, tenant, "When should I charge the car tomorrow?").answer
    assert (english.mode, english.data) == ("none", [])
    assert "no day-ahead prices" in english.text
    german = _ask(engine, tenant, "Wann soll ich morgen das E-Auto laden?").answer
    assert (german.mode, german.language, german.data) == ("none", "de", [])
    assert "keine Day-Ahead-Preise" in german.text


def test_the_tenants_ev_rule_sets_the_charging_window(engine, with_ev):
    """With an EV rule switched on, Luna plans inside its arrival..deadline, as the playbook does, so the
    saving is against charging on arrival; a switched-off rule is ignored."""
    from luna_core.playbook.rules import create_rule, update_rule

    tenant, per_day = with_ev
    today = NOW.astimezone(BERLIN).date()
    recent = [kwh for day, kwh in per_day.items() if day >= today - timedelta(days=HISTORY_DAYS)]
    energy = round(sum(recent) / len(recent), 1)
    with tenant_scope(engine, tenant) as connection:
        rule = create_rule(
            connection,
            tenant,
            name="car at work",
            strategy="ev_cheapest_window",
            params={"arrival": "15:00", "deadline": "22:00"},
            actor="test",
        )
    inside = _advice(engine, tenant, energy, 7.4, earliest="15:00", latest="22:00")
    start, end, cost, saving, *_ = _ask(engine, tenant, "When should I charge the car tomorrow?").answer.data
    assert (start.value, end.value, cost.value, saving.value) == (
        _hours(inside.start),
        _hours(inside.end),
        inside.cost_eur,
        inside.saving_eur,
    )
    assert start.value >= 15 and end.value <= 22

    with tenant_scope(engine, tenant) as connection:
        update_rule(connection, tenant, rule.id, {"enabled": False}, actor="test")
    anywhere = _advice(engine, tenant, energy, 7.4)
    start, *_ = _ask(engine, tenant, "When should I charge the car tomorrow?").answer.data
    assert start.value == _hours(anywhere.start)
