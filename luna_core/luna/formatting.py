"""Numbers, dates and times as each language writes them (1,234.5 / 1.234,5; 16 Nov 2026 / 16.11.2026),
in the locale the language's message catalogue declares (``luna_core.i18n``, Babel/CLDR)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from babel import Locale

from luna_core.i18n import catalogue
from luna_core.i18n import render as i18n
from luna_core.luna.language import Language

EN_DASH = " \u2013 "


def _locale(language: Language) -> Locale:
    return catalogue().locale(language)


def number(value: float, language: Language, decimals: int = 1) -> str:
    return i18n.number(value, _locale(language), decimals)


def day(value: date, language: Language) -> str:
    return i18n.day(value, _locale(language))


def day_range(start: date, end_exclusive: date, language: Language) -> str:
    """The days ``start`` up to the day before ``end_exclusive``, as one day or a range."""
    last = end_exclusive - timedelta(days=1)
    if last <= start:
        return day(start, language)
    return f"{day(start, language)}{EN_DASH}{day(last, language)}"


def clock(value: datetime) -> str:
    return value.strftime("%H:%M")


def moment(value: datetime, language: Language) -> str:
    return f"{day(value.date(), language)} {clock(value)}"
