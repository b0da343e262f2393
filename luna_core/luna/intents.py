"""Which questions are about the tenant's live data, in German or English: a small, typed router.

Keyword patterns, not a model: the five questions Luna answers from data ("what did we use last
week", "when is electricity cheapest tomorrow", "what is our peak", "what will we use tomorrow",
"when should I charge the car tomorrow") have few phrasings, and a pattern that misroutes can be
read and fixed. A data intent needs a reference to the caller's own data (we, our, unsere...) or a
period, so "what is peak shaving?" or "how much does a heat pump consume?" stay with the documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class IntentKind(StrEnum):
    CONSUMPTION = "consumption"
    CHEAPEST = "cheapest_price"
    PEAK = "peak"
    FORECAST = "forecast"
    EV_CHARGING = "ev_charging"


class Period(StrEnum):
    TODAY = "today"
    YESTERDAY = "yesterday"
    TOMORROW = "tomorrow"
    THIS_WEEK = "this_week"
    LAST_WEEK = "last_week"
    THIS_MONTH = "this_month"
    LAST_MONTH = "last_month"


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    period: Period

    @property
    def name(self) -> str:
        return f"{self.kind.value}:{self.period.value}"


def _p(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# First match wins: "heute morgen" (this morning) is today, not tomorrow.
PERIODS: tuple[tuple[Period, re.Pattern[str]], ...] = (
    (Period.LAST_WEEK, _p(r"\b(last|previous|past) week\b|\b(letzte|vorige|vergangene)[nrs]? woche\b|\bvorwoche\b")),
    (Period.THIS_WEEK, _p(r"\bthis week\b|\bdiese[rns]? woche\b")),
    (Period.LAST_MONTH, _p(r"\b(last|previous|past) month\b|\b(letzte|vorige|vergangene)[nmrs]? monat\b|\bvormonat\b")),
    (Period.THIS_MONTH, _p(r"\bthis month\b|\bdiese[nmrs]? monat\b|\bim monat\b")),
    (Period.YESTERDAY, _p(r"\byesterday\b|\bgestern\b")),
    (Period.TODAY, _p(r"\btoday\b|\bheute\b")),
    (Period.TOMORROW, _p(r"\btomorrow\b|\bmorgen\b")),
)

OWN = _p(r"\b(we|our|ours|us|my|wir|uns|unser\w*|mein\w*)\b")
CHEAP = _p(r"\bcheap(est|er)?\b|\b(lowest|best) price|günstig\w*|billig\w*|preiswert\w*|niedrigste\w* preis")
CHEAP_CONTEXT = _p(r"\b(electricity|power|energy|price|prices|when)\b|strom|preis|\bwann\b")
PEAK = _p(r"\bpeak\b|spitzenlast|lastspitze|höchstlast|\bspitze\b|\bmaximum (load|demand|power)\b")
NOT_PEAK = _p(r"shaving|kappung")
FORECAST = _p(
    r"forecast|predict|prognos\w*|vorhersage|\bwill (we|i) (use|need|consume)\b|\bgoing to (use|need|consume)\b"
    r"|\bexpected (use|usage|consumption|load)\b|erwartete\w* (verbrauch|last)"
    r"|\bwerden wir\b.*\b(verbrauchen|brauchen)\b"
)
CONSUMPTION_STRONG = _p(r"consum\w*|verbrauch\w*|\busage\b|\bkwh\b|\benergy use\b")
CONSUMPTION_WEAK = _p(r"\b(use|used|spent|spend|cost|costs)\b|\bkoste\w*|gekostet|ausgegeben|\bbrauch\w*")
# Charging needs a "when" and a car, or a "best time to charge": "Laden" alone is also a shop, and
# "when should I charge the battery" is the battery strategy's business, not the car's.
CHARGE = _p(r"\bcharg(e|es|ed|ing)\b|\b(auf)?laden\b|\bl(ä|ae)dt\b|\bladezeit\w*|\bladevorgang\w*|\bladefenster\b")
WHEN_TO = _p(
    r"\bwhen\b|\bwann\b|\bwhat time\b|\bum wie ?viel uhr\b"
    r"|\b(best|cheapest|right|good|ideal)\w* (time|hours?|window|moment)\b"
    r"|\b(beste|günstigste|ideale|richtige)\w* (zeit|uhrzeit|stunden?|zeitpunkt|zeitfenster)\b"
)
VEHICLE = _p(r"\b(car|cars|ev|evs|vehicle|auto|e-auto|elektroauto|wagen|fahrzeug|e-fahrzeug|wallbox)\b")
STORAGE = _p(r"batter\w*|akku\w*|speicher\w*|handy|phone")
SHOP = _p(r"\b(der|den|dem|des|im|beim|ein|einen|einem|unser\w*)\s+laden\b")
HOW_MUCH = _p(r"\bhow much\b|\bwhat did\b|\bwie ?viel\b|\bwas haben\b")


def _period(question: str) -> Period | None:
    return next((period for period, pattern in PERIODS if pattern.search(question)), None)


def route(question: str) -> Intent | None:
    """The data question ``question`` asks, or None when it is one for the documents."""
    period = _period(question)
    if _is_charging(question):
        return Intent(IntentKind.EV_CHARGING, period if period == Period.TODAY else Period.TOMORROW)
    anchored = period is not None or OWN.search(question) is not None
    if CHEAP.search(question) and (period is not None or CHEAP_CONTEXT.search(question)):
        return Intent(IntentKind.CHEAPEST, period if period in (Period.TODAY, Period.TOMORROW) else Period.TOMORROW)
    if not anchored:
        return None
    if PEAK.search(question) and not NOT_PEAK.search(question):
        return Intent(IntentKind.PEAK, Period.LAST_MONTH if period == Period.LAST_MONTH else Period.THIS_MONTH)
    consumption = CONSUMPTION_STRONG.search(question) is not None or (
        CONSUMPTION_WEAK.search(question) is not None and (period is not None or HOW_MUCH.search(question) is not None)
    )
    if FORECAST.search(question) or (consumption and period == Period.TOMORROW):
        return Intent(IntentKind.FORECAST, Period.TODAY if period == Period.TODAY else Period.TOMORROW)
    if consumption:
        return Intent(IntentKind.CONSUMPTION, period or Period.THIS_MONTH)
    return None


def _is_charging(question: str) -> bool:
    if not (CHARGE.search(question) and WHEN_TO.search(question)):
        return False
    if VEHICLE.search(question):
        return True
    return STORAGE.search(question) is None and SHOP.search(question) is None
