"""One reader's language: messages and numbers, dates and money in that language's locale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from babel import Locale

from luna_core.i18n import render

if TYPE_CHECKING:
    from luna_core.i18n.catalogue import Catalogue


@dataclass(frozen=True)
class Translator:
    catalogue: Catalogue
    language: str

    def __call__(self, key: str, /, **params: Any) -> str:
        return self.catalogue.translate(key, self.language, **params)

    @property
    def locale(self) -> Locale:
        return self.catalogue.locale(self.language)

    def number(self, value: float | int, decimals: int | None = 1) -> str:
        return render.number(value, self.locale, decimals)

    def money(self, value: float | int, currency: str = "EUR") -> str:
        return render.money(value, self.locale, currency)

    def day(self, value: date) -> str:
        return render.day(value, self.locale)

    def clock(self, value: datetime | time) -> str:
        return render.clock(value, self.locale)

    def moment(self, value: datetime) -> str:
        return f"{self.day(value.date())} {self.clock(value)}"
