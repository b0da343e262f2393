"""Flexible loads moved into cheap quarter-hours, for the comparison's "with shifts" option.

Each local day, the energy the flexible meters (EV chargers, heat pumps) drew is taken out of the
site's grid flows and put back into that day's cheapest quarter-hours, up to the meters' combined
power: the most a price-following plan (the playbook's) could gain on a dynamic tariff. It ignores
arrival and deadline windows and comfort bands, so it is an upper bound, and says so in the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from luna_core.tariffs.bills import Usage
from luna_core.tariffs.pricing import SLOTS_PER_HOUR


@dataclass(frozen=True)
class Flexible:
    kwh: np.ndarray  # flexible meters' energy per slot, aligned with the usage's slots
    max_kw: float  # their combined power limit

    def trimmed(self, part: slice) -> Flexible:
        return Flexible(self.kwh[part], self.max_kw)


def shifted(usage: Usage, flexible: Flexible, spot: np.ndarray) -> Usage:
    """The usage with each day's flexible energy moved into the day's cheapest priced slots."""
    net = usage.import_kwh - usage.export_kwh - flexible.kwh  # the site without its flexible loads
    day = usage.slots.local_day
    price = np.where(np.isnan(spot), np.inf, spot)  # unpriced slots last
    order = np.lexsort((np.arange(len(day)), price, day))  # by day, then price, then time
    days, first = np.unique(day[order], return_index=True)
    energy = np.bincount(np.searchsorted(days, day), weights=flexible.kwh, minlength=len(days))
    capacity = flexible.max_kw / SLOTS_PER_HOUR
    # Position of each slot within its day's price order: fill the first ones up to capacity.
    rank = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    owed = energy[np.searchsorted(days, day[order])]
    placed = np.clip(owed - rank * capacity, 0, capacity)
    moved = np.zeros(len(day))
    moved[order] = placed
    net = net + moved
    return Usage(usage.slots, np.maximum(net, 0), np.maximum(-net, 0), usage.has_data)
