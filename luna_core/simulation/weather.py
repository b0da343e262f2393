"""Real weather from the DWD test reference years (TRY 2010) shipped inside oemof-demand.

15 climate regions, one typical year each, hourly: temperature, wind, cloud cover, direct
and diffuse horizontal irradiance. The same typical year is reused for every calendar year.
Hour HH (1-24, CET) lines up with the sun best when read as centred on HH:00 CET, so row k
is taken as the instant k hours after 1 January 00:00 UTC (checked against solar geometry).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib.resources import files

import numpy as np
import polars as pl

from luna_core.simulation.sites import SiteSpec
from luna_core.simulation.timegrid import HOUR_US, QUARTER_US, to_utc_us, year_of

_WEATHER_DIR = files("oemof.demand") / "vdi" / "resources_weather"
HOURS_PER_YEAR = 8760
_FEB_29_HOUR = 59 * 24
# Column positions in the TRY 2010 data block (RG IS MM DD HH N WR WG t p x RF W B D IK A E IL).
_N, _WG, _T, _B, _D = 5, 7, 8, 13, 14


@dataclass(frozen=True, eq=False)
class TryYear:
    region: int
    station: str
    latitude: float
    longitude: float
    temp_c: np.ndarray  # 8760 hourly values
    ghi_w_m2: np.ndarray  # global horizontal = direct + diffuse
    dhi_w_m2: np.ndarray
    wind_ms: np.ndarray  # at 10 m
    cloud_octas: np.ndarray


@lru_cache(maxsize=16)
def load_try(region: int) -> TryYear:
    if not 1 <= region <= 15:
        raise ValueError(f"TRY region must be 1..15, got {region}")
    text = (_WEATHER_DIR / f"TRY2010_{region:02d}_Jahr.dat").read_text(encoding="utf-8")
    header, _, body = text.partition("\n***\n")
    data = np.loadtxt(body.splitlines())
    if data.shape[0] != HOURS_PER_YEAR:
        raise ValueError(f"TRY region {region}: expected {HOURS_PER_YEAR} hours, found {data.shape[0]}")
    station = re.search(r"Station:\s*(.+?)\s{2,}", header)
    lat, lon = _station_position(header)
    direct, diffuse = data[:, _B], data[:, _D]
    return TryYear(
        region=region,
        station=station.group(1) if station else f"TRY{region:02d}",
        latitude=lat,
        longitude=lon,
        temp_c=data[:, _T],
        ghi_w_m2=direct + diffuse,
        dhi_w_m2=diffuse,
        wind_ms=data[:, _WG],
        cloud_octas=np.minimum(data[:, _N], 8),  # 9 = sky not visible (fog): treat as overcast
    )


def _station_position(header: str) -> tuple[float, float]:
    match = re.search(r"(\d+)°(\d+)'N.*?(\d+)°(\d+)'O", header)
    if not match:
        raise ValueError("TRY header without station position")
    lat_d, lat_m, lon_d, lon_m = (int(g) for g in match.groups())
    return lat_d + lat_m / 60, lon_d + lon_m / 60


@lru_cache(maxsize=1)
def _region_polygons() -> tuple[tuple[int, tuple[np.ndarray, ...]], ...]:
    geojson = json.loads((_WEATHER_DIR / "TRY_polygons.geojson").read_text(encoding="utf-8"))
    regions = []
    for feature in geojson["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        rings = tuple(np.asarray(ring, dtype=float) for polygon in polygons for ring in polygon)
        regions.append((int(feature["properties"]["TRY_code"]), rings))
    return tuple(regions)


def _inside(rings: tuple[np.ndarray, ...], lon: float, lat: float) -> bool:
    # Even-odd ray casting over all rings, so holes count correctly (no shapely needed).
    crossings = 0
    for ring in rings:
        x0, y0 = ring[:, 0], ring[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        spans = (y0 > lat) != (y1 > lat)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x0 + (lat - y0) * (x1 - x0) / (y1 - y0)
        crossings += int(np.count_nonzero(spans & (lon < x_cross)))
    return crossings % 2 == 1


@lru_cache(maxsize=1024)
def try_region(latitude: float, longitude: float) -> int:
    """The DWD climate region containing the point; outside Germany, the nearest station's."""
    for region, rings in _region_polygons():
        if _inside(rings, longitude, latitude):
            return region
    stations = [load_try(r) for r in range(1, 16)]
    scale = np.cos(np.radians(latitude))
    distances = [(s.latitude - latitude) ** 2 + ((s.longitude - longitude) * scale) ** 2 for s in stations]
    return stations[int(np.argmin(distances))].region


def site_weather(site: SiteSpec) -> TryYear:
    return load_try(try_region(site.latitude, site.longitude))


def try_position(utc_us: np.ndarray) -> np.ndarray:
    """Fractional hour into the typical year; 29 February replays the 28th."""
    years = year_of(utc_us)
    starts = (years - 1970).astype("datetime64[Y]").astype("datetime64[us]").astype(np.int64)
    hours = (utc_us - starts) / HOUR_US
    leap = (years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))
    return np.where(leap & (hours >= _FEB_29_HOUR), hours - 24.0, hours)


def interp_hourly(values: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Linear interpolation between hourly samples, wrapping from 31 Dec to 1 Jan."""
    lower = np.floor(position)
    frac = position - lower
    i0 = lower.astype(np.int64) % len(values)
    i1 = (i0 + 1) % len(values)
    return values[i0] * (1.0 - frac) + values[i1] * frac


def temperature_c(weather: TryYear, utc_us: np.ndarray) -> np.ndarray:
    return interp_hourly(weather.temp_c, try_position(utc_us))


def temperature_series(site: SiteSpec, start: datetime, end: datetime) -> pl.DataFrame:
    """Outdoor temperature per quarter hour in [start, end): ``ts`` (UTC, interval start),
    ``temp_c`` (the interval's mid-point value), the driver of the heat-pump meters."""
    return temperature_at(site.latitude, site.longitude, start, end)


def temperature_at(latitude: float, longitude: float, start: datetime, end: datetime) -> pl.DataFrame:
    """As ``temperature_series``, for any place (its TRY region's weather)."""
    weather = load_try(try_region(latitude, longitude))
    start_us, end_us = to_utc_us(start), to_utc_us(end)
    start_us -= start_us % QUARTER_US
    end_us -= end_us % QUARTER_US
    ts = np.arange(start_us, max(start_us, end_us), QUARTER_US, dtype=np.int64)
    temps = temperature_c(weather, ts + QUARTER_US // 2)
    return pl.DataFrame(
        {
            "ts": pl.Series(ts).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            "temp_c": np.round(temps, 2),
        }
    )


@lru_cache(maxsize=4)
def national_hourly(field: str) -> np.ndarray:
    """Mean over all 15 regions, a stand-in for Germany-wide sun or wind in the market model."""
    return np.mean([getattr(load_try(r), field) for r in range(1, 16)], axis=0)
