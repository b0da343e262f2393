"""A message not yet rendered: a catalogue key and its parameters, kept as JSON so it can be stored
and rendered later, in whichever language the reader has."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from luna_core.i18n.translator import Translator


def as_json(value: Any) -> Any:
    """``value`` as a JSON value: messages as ``{"message", "params"}``, NumPy numbers as numbers,
    dates and times as ISO text."""
    if isinstance(value, Message):
        return value.as_param()
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    raise TypeError(f"a message parameter must be JSON-like, got {type(value).__name__}")


class Message:
    __slots__ = ("key", "params")

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params = {name: as_json(value) for name, value in params.items()}

    def as_param(self) -> dict[str, Any]:
        return {"message": self.key, "params": self.params}

    def render(self, translator: Translator) -> str:
        return translator(self.key, **self.params)

    def __str__(self) -> str:
        from luna_core.i18n import translate

        return translate(self.key, "en", **self.params)

    def __repr__(self) -> str:
        return f"Message({self.key!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and (self.key, self.params) == (other.key, other.params)

    def __hash__(self) -> int:
        return hash(self.key)


def texts(written: Mapping[str, str | None], fallback: Message | None = None) -> dict[str, Any]:
    """Text someone wrote per language (``{"en": ..., "de": ...}``, empty ones left out) as a
    parameter; a reader whose language is missing gets ``fallback``, else English, else any."""
    found = {language: text for language, text in written.items() if text}
    value: dict[str, Any] = {"texts": found}
    if fallback is not None:
        value["fallback"] = fallback.as_param()
    return value
