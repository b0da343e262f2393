"""Battery meters: the charging register of a PV home or business battery.

Readings are non-negative energy, so a battery meter reports what flows into the battery:
it fills from the PV surplus late in the morning until full; discharge is not a reading.
"""

from __future__ import annotations

import numpy as np

from luna_core.simulation.pv import plane_kw_per_kwp
from luna_core.simulation.rng import day_rng
from luna_core.simulation.sites import MeterSpec, SiteSpec
from luna_core.simulation.timegrid import QUARTERS_PER_DAY, DayGrid

HOURS_OF_STORAGE = 2.0  # capacity = 2 h at inverter power, typical for PV batteries
PV_PER_INVERTER_KW = 2.0  # the paired PV array, in kWp per kW of battery inverter
BASE_LOAD_SHARE = 0.3  # of inverter power, consumed on site before anything is stored


def battery_kwh(site: SiteSpec, meter: MeterSpec, grid: DayGrid, seed: int, key: int) -> np.ndarray:
    kw, _ = plane_kw_per_kwp(site, meter, grid)
    surplus_kw = np.maximum(kw * PV_PER_INVERTER_KW * meter.max_kw - BASE_LOAD_SHARE * meter.max_kw, 0.0)
    charge = (np.minimum(surplus_kw, meter.max_kw) * 0.25).reshape(grid.n_days, QUARTERS_PER_DAY)
    # Morning state of charge: whatever the night left over.
    soc = np.array([day_rng(seed, key, d, stream=4).uniform(0.05, 0.4) for d in grid.days.tolist()])
    room = (1.0 - soc) * HOURS_OF_STORAGE * meter.max_kw
    filled = np.minimum(np.cumsum(charge, axis=1), room[:, None])
    return np.diff(filled, axis=1, prepend=0.0).ravel()
