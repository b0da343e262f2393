"""A tariff version: one tenant, one direction (import from or export to the grid), valid from a
local date (inclusive) to another (exclusive, or open).

Prices are net (without VAT) in ct/kWh, fees in EUR; VAT is added on the bill, as German bills do.
Kinds:
- fixed: ``energy_ct_kwh`` for every kWh;
- dynamic: the day-ahead price of the quarter-hour (EUR/MWh / 10 = ct/kWh) + ``markup_ct_kwh``;
- time_of_use: ``energy_ct_kwh`` outside the windows, a window's price inside (by local weekday);
- feed_in (export only): ``feed_in_ct_kwh`` (the EEG rate) or the market value of the quarter-hour.
Any import kind may add ``demand_charge_eur_kw`` (per kW of the month's highest 15-minute average).
"""

from __future__ import annotations

from datetime import date, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Direction = Literal["import", "export"]
Kind = Literal["fixed", "dynamic", "time_of_use", "feed_in"]
IMPORT_KINDS = ("fixed", "dynamic", "time_of_use")


class TariffError(ValueError):
    """A tariff that cannot be priced: the message says which field and why."""


class TouWindow(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    # ISO weekdays, 1 = Monday ... 7 = Sunday.
    weekdays: list[int] = Field(min_length=1, max_length=7)
    start: time
    end: time = Field(description="exclusive; 00:00 means midnight at the end of the day")
    energy_ct_kwh: float = Field(ge=-1000, le=1000)

    @model_validator(mode="after")
    def _check(self) -> TouWindow:
        if any(d < 1 or d > 7 for d in self.weekdays):
            raise ValueError("weekdays are 1 (Monday) to 7 (Sunday)")
        if self.end != time(0) and self.end <= self.start:
            raise ValueError("a window ends after it starts (use two windows across midnight)")
        if self.start.minute % 15 or self.end.minute % 15:
            raise ValueError("windows start and end on a quarter-hour")
        return self

    def minutes(self) -> tuple[int, int]:
        end = 24 * 60 if self.end == time(0) else self.end.hour * 60 + self.end.minute
        return self.start.hour * 60 + self.start.minute, end


class Tariff(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    direction: Direction = "import"
    kind: Kind
    name: str = Field(default="", max_length=200)
    valid_from: date
    valid_to: date | None = None
    energy_ct_kwh: float | None = Field(default=None, ge=-1000, le=1000)
    markup_ct_kwh: float = Field(default=0.0, ge=-1000, le=1000)
    windows: list[TouWindow] = Field(default_factory=list, max_length=48)
    base_fee_eur_month: float = Field(default=0.0, ge=0, le=1_000_000)
    demand_charge_eur_kw: float = Field(default=0.0, ge=0, le=10_000)
    grid_fee_ct_kwh: float = Field(default=0.0, ge=0, le=1000)
    levies_ct_kwh: float = Field(default=0.0, ge=0, le=1000)
    vat_pct: float = Field(default=19.0, ge=0, le=100)
    feed_in: Literal["fixed", "market_value"] = "fixed"
    feed_in_ct_kwh: float | None = Field(default=None, ge=0, le=1000)

    @model_validator(mode="after")
    def _check(self) -> Tariff:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        if self.direction == "export":
            if self.kind != "feed_in":
                raise ValueError("an export tariff has kind feed_in")
            if self.feed_in == "fixed" and self.feed_in_ct_kwh is None:
                raise ValueError("a fixed feed-in tariff needs feed_in_ct_kwh (the EEG rate)")
            return self
        if self.kind == "feed_in":
            raise ValueError("kind feed_in is for direction export")
        if self.kind in ("fixed", "time_of_use") and self.energy_ct_kwh is None:
            raise ValueError(f"a {self.kind} tariff needs energy_ct_kwh")
        if self.kind == "time_of_use" and not self.windows:
            raise ValueError("a time_of_use tariff needs at least one window")
        return self

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)

    @property
    def per_kwh_extras_ct(self) -> float:
        """Grid fee and levies: the same on every kWh whatever the energy price."""
        return self.grid_fee_ct_kwh + self.levies_ct_kwh
