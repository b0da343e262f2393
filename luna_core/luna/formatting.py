"""Numbers, dates and times as each language writes them (1,234.5 / 1.234,5; 16 Nov 2026 / 16.11.2026)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from luna_core.luna.language import Language

EN_DASH = " \u2013 "


def number(value: float, language: Language, decimals: int = 1) -> str:
    text = f"{value:,.{decimals}f}"
    if language == "de":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def day(value: date, language: Language) -> str:
    return value.strftime("%d.%m.%Y") if language == "de" else value.strftime("%d %b %Y").lstrip("0")


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
