"""PV meters: TRY irradiance on the module plane, with cloud flicker inside the hour."""

from __future__ import annotations

import numpy as np

from luna_core.simulation.rng import ar1, day_normals
from luna_core.simulation.sites import MeterSpec, SiteSpec
from luna_core.simulation.solar import pv_kw_per_kwp
from luna_core.simulation.timegrid import QUARTER_US, QUARTERS_PER_DAY, DayGrid
from luna_core.simulation.weather import site_weather

CLOUD_FLICKER = 0.35


def plane_kw_per_kwp(site: SiteSpec, meter: MeterSpec, grid: DayGrid) -> tuple[np.ndarray, np.ndarray]:
    """kW per kWp of the meter's array at each quarter-hour's midpoint, and the clear-sky index."""
    return pv_kw_per_kwp(
        site_weather(site),
        site.latitude,
        site.longitude,
        grid.utc_us + QUARTER_US // 2,
        meter.tilt_deg,
        meter.azimuth_deg,
    )


def pv_kwh(site: SiteSpec, meter: MeterSpec, grid: DayGrid, seed: int, key: int) -> np.ndarray:
    kw, clear_sky_index = plane_kw_per_kwp(site, meter, grid)
    # Hourly weather hides passing clouds; they matter most when the sky is half covered
    # (index ~0.5) and not at all under clear or overcast skies.
    broken = 4.0 * np.clip(clear_sky_index, 0.0, 1.0) * (1.0 - np.clip(clear_sky_index, 0.0, 1.0))
    z = ar1(day_normals(seed, key, grid.days, QUARTERS_PER_DAY, stream=1), phi=0.5).ravel()
    factor = np.maximum(1.0 + CLOUD_FLICKER * broken * z, 0.05)
    return np.minimum(kw * float(meter.kwp or 0.0) * factor, meter.max_kw) * 0.25
