"""PV output per kWp from TRY irradiance, with pvlib doing the geometry and transposition.

TRY irradiance is hourly; quarter-hours would inherit a staircase at sunrise and sunset if
interpolated directly. Instead the hourly clear-sky index (measured / clear-sky) is
interpolated and multiplied by the clear-sky irradiance of each quarter.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pvlib import irradiance
from pvlib import solarposition as spa

from luna_core.simulation.timegrid import HOUR_US, year_of
from luna_core.simulation.weather import HOURS_PER_YEAR, TryYear, interp_hourly, try_position

PERFORMANCE_RATIO = 0.86  # inverter, wiring, soiling, mismatch; with heat losses ~0.8 overall
TEMP_COEFF_PER_K = -0.004  # crystalline silicon
HEATING_K_PER_W_M2 = 0.03  # cell above ambient per W/m² on the module (NOCT 45 °C)
ALBEDO = 0.2


def solar_position(
    latitude: float, longitude: float, day_of_year: np.ndarray, utc_hour: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Zenith and azimuth in degrees (Spencer 1971; ~0.5° is plenty for 15-min energy)."""
    declination = spa.declination_spencer71(day_of_year)
    eot_min = spa.equation_of_time_spencer71(day_of_year)
    hour_angle = np.radians((utc_hour + longitude / 15.0 + eot_min / 60.0 - 12.0) * 15.0)
    lat = np.radians(latitude)
    zenith = spa.solar_zenith_analytical(lat, hour_angle, declination)
    azimuth = spa.solar_azimuth_analytical(lat, hour_angle, declination, zenith)
    return np.degrees(zenith), np.degrees(azimuth)


def clear_sky_ghi(zenith_deg: np.ndarray) -> np.ndarray:
    """Haurwitz clear-sky GHI (the formula of pvlib.clearsky.haurwitz, which only takes pandas)."""
    cos_z = np.cos(np.radians(zenith_deg))
    out = np.zeros_like(cos_z)
    up = cos_z > 0
    out[up] = 1098.0 * cos_z[up] * np.exp(-0.059 / cos_z[up])
    return out


def _position_at(latitude: float, longitude: float, utc_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    years = year_of(utc_us)
    starts = (years - 1970).astype("datetime64[Y]").astype("datetime64[us]").astype(np.int64)
    hours = (utc_us - starts) / HOUR_US
    return solar_position(latitude, longitude, 1.0 + hours // 24, hours % 24)


@lru_cache(maxsize=256)
def _hourly_sky(weather: TryYear, latitude: float, longitude: float) -> tuple[np.ndarray, np.ndarray]:
    """Hourly clear-sky index and diffuse fraction of the TRY year at this site."""
    hours = np.arange(HOURS_PER_YEAR, dtype=float)
    zenith, _ = solar_position(latitude, longitude, 1.0 + hours // 24, hours % 24)
    clear = clear_sky_ghi(zenith)
    day = clear > 30.0  # near the horizon the ratio is dominated by timing error, not clouds
    index = np.full(HOURS_PER_YEAR, np.nan)
    index[day] = np.clip(weather.ghi_w_m2[day] / clear[day], 0.0, 1.2)
    diffuse = np.full(HOURS_PER_YEAR, np.nan)
    lit = day & (weather.ghi_w_m2 > 1.0)
    diffuse[lit] = np.clip(weather.dhi_w_m2[lit] / weather.ghi_w_m2[lit], 0.0, 1.0)
    return _fill_nights(index), _fill_nights(diffuse, default=1.0)


def _fill_nights(values: np.ndarray, default: float = 0.5) -> np.ndarray:
    # Carry the nearest daylight value into the night so the interpolation at dawn and dusk
    # is not pulled toward an arbitrary night value.
    valid = ~np.isnan(values)
    if not valid.any():
        return np.full_like(values, default)
    idx = np.arange(len(values))
    before = np.maximum.accumulate(np.where(valid, idx, -1))
    after = np.minimum.accumulate(np.where(valid, idx, len(values))[::-1])[::-1]
    use_before = (before >= 0) & ((after >= len(values)) | (idx - before <= after - idx))
    source = np.where(use_before, before, np.minimum(after, len(values) - 1))
    filled = values[source]
    out = np.where(np.isnan(filled), default, filled)
    out.flags.writeable = False
    return out


def pv_kw_per_kwp(
    weather: TryYear, latitude: float, longitude: float, mid_us: np.ndarray, tilt_deg: float, azimuth_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """AC power per kWp at the given instants and the clear-sky index used (for cloud noise)."""
    zenith, azimuth = _position_at(latitude, longitude, mid_us)
    index_h, diffuse_h = _hourly_sky(weather, round(latitude, 3), round(longitude, 3))
    position = try_position(mid_us)
    kt = interp_hourly(index_h, position)
    ghi = clear_sky_ghi(zenith) * kt
    dhi = ghi * interp_hourly(diffuse_h, position)
    cos_z = np.cos(np.radians(zenith))
    dni = np.where(cos_z > 0.05, (ghi - dhi) / np.maximum(cos_z, 0.05), 0.0)
    dhi = np.where(cos_z > 0.05, dhi, ghi)
    poa = irradiance.get_total_irradiance(
        tilt_deg, azimuth_deg, zenith, azimuth, dni, ghi, dhi, albedo=ALBEDO, model="isotropic"
    )["poa_global"]
    poa = np.nan_to_num(np.maximum(poa, 0.0))
    cell_c = interp_hourly(weather.temp_c, position) + HEATING_K_PER_W_M2 * poa
    kw = poa / 1000.0 * PERFORMANCE_RATIO * (1.0 + TEMP_COEFF_PER_K * (cell_c - 25.0))
    return np.maximum(kw, 0.0), kt
