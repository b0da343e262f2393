"""Filling a message template: ``{name}`` or ``{name:spec}``, each value written in the reader's locale
through Babel (CLDR): 1,234.5 / 1.234,5 / 1 234,5.

Specs: none (text and whole numbers as they are, other numbers with the locale's decimal mark and up to
three decimals), ``.Nf``
(exactly N decimals), ``g`` (as few decimals as needed), a currency code such as ``EUR`` (the
locale's money format: €1.23 / 1,23 €), ``date``, ``time`` (HH:MM or the locale's short time) and
``datetime``. Besides numbers, text and dates a value may be
- ``{"message": key, "params": {...}}``: another message of the catalogue, in the same language;
- ``{"texts": {"en": ..., "de": ...}, "fallback": ...}``: text someone wrote per language (a rule's
  own message, a recommendation stored before catalogues): the reader's language, else the fallback
  value, else English, else any;
- a list: sentences, each rendered, joined by a space;
- ``None``: written as a dash.
Every value of a stored recommendation is JSON, so it can be rendered again in any language later.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import NumberPattern, parse_pattern

FIXED = re.compile(r"^\.(\d)f$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
DASH = "\u2013"

Nested = Callable[[str, Mapping[str, Any]], str]


class MessageError(ValueError):
    """A message that cannot be filled in: a parameter missing, a value of the wrong kind, a bad spec."""


def _exact(value: float | int, decimals: int | None = None) -> Decimal:
    # Decimal(float) is the float's exact binary value: rounds like Python's f-strings do, and a
    # value that rounds to zero loses its minus sign ("-0.00" says nothing useful).
    number = Decimal(value) if isinstance(value, float) else Decimal(int(value))
    if decimals is not None and round(number, decimals) == 0:
        return Decimal(0)
    return number


@lru_cache(maxsize=64)
def _fixed(decimals: int) -> NumberPattern:
    # Parsing a pattern costs as much as applying it: once per number of decimals.
    return parse_pattern("#,##0" + ("." + "0" * decimals if decimals else ""))


@lru_cache(maxsize=16384)
def _formatted(value: float | int, locale: Locale, decimals: int | None, currency: str | None) -> str:
    # Babel's pattern.apply is the costly part of a render (~50 us); the same stored figures are read
    # again and again (every reader, every language, every poll), so each result is kept.
    if currency is not None:
        pattern = locale.currency_formats["standard"]
        return pattern.apply(_exact(value, 2), locale, currency=currency, currency_digits=True)
    if decimals is None:
        return locale.decimal_formats[None].apply(_exact(value), locale)
    return _fixed(decimals).apply(_exact(value, decimals), locale)


def number(value: float | int, locale: Locale, decimals: int | None = None) -> str:
    """``value`` with the locale's grouping and decimal mark: exactly ``decimals`` decimals, or as
    few as needed (the locale's standard pattern, at most three) when None."""
    return _formatted(value, locale, decimals, None)


def money(value: float | int, locale: Locale, currency: str = "EUR") -> str:
    """As Babel's ``format_currency``: the locale's standard currency pattern, the currency's digits."""
    return _formatted(value, locale, None, currency)


def day(value: date, locale: Locale) -> str:
    return format_date(value, "medium", locale=locale)


def clock(value: datetime | time, locale: Locale) -> str:
    return format_time(value, "short", locale=locale)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def format_value(value: Any, spec: str, locale: Locale, language: str, nested: Nested, where: str) -> str:
    if hasattr(value, "as_param"):  # a Message
        value = value.as_param()
    if isinstance(value, Mapping):
        if "message" in value:
            return nested(str(value["message"]), value.get("params") or {})
        if isinstance(value.get("texts"), Mapping):
            written = value["texts"]
            if written.get(language):
                return str(written[language])
            if value.get("fallback") is not None:
                return format_value(value["fallback"], spec, locale, language, nested, where)
            if written:
                return str(written.get("en") or next(iter(written.values())))
        raise MessageError(f"{where}: a table value needs 'message' or 'texts', got keys {sorted(value)}")
    if isinstance(value, list | tuple):
        # Sentences (a plan's notes): each rendered, joined by a space.
        return " ".join(format_value(v, spec, locale, language, nested, where) for v in value)
    if value is None:
        return DASH
    if not spec:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # counts, years, ids: no grouping unless asked for with ``g``
        if _is_number(value):
            return number(value, locale)
        if isinstance(value, datetime):
            return f"{day(value.date(), locale)} {clock(value, locale)}"
        if isinstance(value, date):
            return day(value, locale)
        return str(value)
    if spec in ("date", "time", "datetime"):
        if isinstance(value, str):
            value = datetime.fromisoformat(value) if spec != "time" or "T" in value else time.fromisoformat(value)
        if spec == "date" and isinstance(value, date):
            return day(value.date() if isinstance(value, datetime) else value, locale)
        if spec == "time" and isinstance(value, datetime | time):
            return clock(value, locale)
        if spec == "datetime" and isinstance(value, datetime):
            return f"{day(value.date(), locale)} {clock(value, locale)}"
        raise MessageError(f"{where}: {spec} needs a date or time, got {value!r}")
    if not _is_number(value):
        raise MessageError(f"{where}: format {spec!r} needs a number, got {value!r}")
    if (fixed := FIXED.match(spec)) is not None:
        return number(value, locale, int(fixed[1]))
    if spec == "g":
        return number(value, locale)
    if CURRENCY.match(spec):
        return money(value, locale, spec)
    raise MessageError(f"{where}: unknown format {spec!r} (use .Nf, g, a currency code, date, time or datetime)")


Segment = tuple[str, str | None, str]  # literal text, then a field name (or None) and its spec


@lru_cache(maxsize=4096)
def _segments(template: str) -> tuple[Segment, ...]:
    """A template split once into literal text and fields (``str.format`` syntax, plain names only)."""
    found: list[Segment] = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if name is not None and (not name.isidentifier() or conversion or "{" in (spec or "")):
            raise ValueError(f"field {{{name}}} must be a plain name with an optional spec")
        found.append((literal, name, spec or ""))
    return tuple(found)


def render(template: str, key: str, locale: Locale, params: Mapping[str, Any], nested: Nested, language: str) -> str:
    try:
        segments = _segments(template)
    except ValueError as error:
        raise MessageError(f"message {key!r} ({language}) is not a valid template: {error}") from None
    where = f"message {key!r}"
    parts: list[str] = []
    for literal, name, spec in segments:
        parts.append(literal)
        if name is None:
            continue
        if name not in params:
            raise MessageError(f"message {key!r} ({language}) needs the parameter {name!r}")
        parts.append(format_value(params[name], spec, locale, language, nested, where))
    return "".join(parts)


def fields(template: str) -> frozenset[str]:
    """The parameter names a template refers to (to check that languages agree)."""
    return frozenset(name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name)
