"""What a simulated site is: its location, its meters and their physical limits.

The specs are plain frozen dataclasses so they can key caches and be shared by the
simulators, the CLI and the tenant registry (which reads ``meter_id``, ``kind``, ``max_kw``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import holidays
import numpy as np

from luna_core.energy.site import LOAD_KINDS, METER_KINDS, MeterKind
from luna_core.simulation.rng import stable_hash

__all__ = ["METER_KINDS", "MeterKind"]  # re-exported: the simulators name kinds through this module

# Must stay equal to luna_core.db.schema.TENANT_ID_PATTERN (a test checks it); copied so the
# simulators do not pull in SQLAlchemy.
TENANT_ID_PATTERN = r"^[a-z][a-z0-9-]{1,62}$"
_TENANT_ID = re.compile(TENANT_ID_PATTERN)
_METER_ID = re.compile(r"^[a-z][a-z0-9-]{0,62}$")

# BDEW 1999 profiles come from oemof's ElecSlp; the 2025 revision from its H25/G25/... classes.
BDEW_PROFILES = ("h0", "g0", "g1", "g2", "g3", "g4", "g5", "g6", "l0", "l1", "l2", "h25", "g25", "l25", "p25", "s25")
GERMAN_STATES: tuple[str, ...] = tuple(s for s in holidays.Germany.subdivisions if len(s) == 2)

EV_CHARGER_KW = 11.0
HOUSEHOLD_FUSE_KW = 24.0  # 3 x 35 A at 230 V, the usual German house connection


@dataclass(frozen=True)
class MeterSpec:
    meter_id: str
    kind: MeterKind
    annual_kwh: float | None = None
    profile: str | None = None  # BDEW profile such as "h0", "g5", "g1" (consumption meters only)
    kwp: float | None = None  # PV peak power
    # Physical limit in kW; ingest flags a 15-min reading above max_kw * 0.25 kWh as a spike.
    # 0 means "derive a sensible limit from kind and size" (see default_max_kw).
    max_kw: float = 0.0
    tilt_deg: float = 30.0  # PV orientation; ignored by other kinds
    azimuth_deg: float = 180.0
    name: str | None = None  # as the tenant calls it; the meter id when None

    def __post_init__(self) -> None:
        # Only what every use needs: the tenant registry builds specs from kind and max_kw
        # alone; what a simulation needs on top is checked by simulation_problem().
        if not _METER_ID.fullmatch(self.meter_id):
            raise ValueError(f"invalid meter id {self.meter_id!r}: lowercase letters, digits, '-'")
        if self.kind not in METER_KINDS:
            raise ValueError(f"meter {self.meter_id}: unknown kind {self.kind!r}; expected one of {METER_KINDS}")
        if self.profile is not None and self.profile not in BDEW_PROFILES:
            raise ValueError(f"meter {self.meter_id}: profile {self.profile!r} is not one of {BDEW_PROFILES}")
        if self.max_kw < 0:
            raise ValueError(f"meter {self.meter_id}: max_kw must be positive")
        if self.max_kw == 0:
            object.__setattr__(self, "max_kw", default_max_kw(self))

    def simulation_problem(self) -> str | None:
        """Why this meter cannot be simulated, or None."""
        if self.kind == "consumption" and self.profile is None:
            return f"meter {self.meter_id}: a consumption meter needs a BDEW profile ({', '.join(BDEW_PROFILES)})"
        if self.kind in LOAD_KINDS and not (self.annual_kwh and self.annual_kwh > 0):
            return f"meter {self.meter_id}: kind {self.kind} needs a positive annual_kwh"
        if self.kind == "pv" and not (self.kwp and self.kwp > 0):
            return f"meter {self.meter_id}: a pv meter needs a positive kwp"
        return None


def default_max_kw(meter: MeterSpec) -> float:
    """A physical limit with headroom above anything the simulator produces for this meter."""
    if meter.kind == "consumption":
        mean_kw = (meter.annual_kwh or 0.0) / 8760
        # BDEW peaks are 2-4x the mean; 8x leaves room for noise without hiding real spikes.
        return float(max(HOUSEHOLD_FUSE_KW, round(8 * mean_kw)))
    if meter.kind == "pv":
        return float(meter.kwp or 0.0)  # inverter sized like the array; clipping happens here
    if meter.kind == "ev":
        chargers = max(1, round((meter.annual_kwh or 0.0) / 6000))
        return round(EV_CHARGER_KW * chargers * 1.15, 1)  # fuse headroom over the chargers
    if meter.kind == "heat_pump":
        return float(max(3.0, round(7 * (meter.annual_kwh or 0.0) / 8760, 1)))
    return 5.0  # battery inverter


@dataclass(frozen=True)
class SiteSpec:
    tenant_id: str
    name: str
    kind: str  # tenant kind of the registry: household | business | housing
    state: str  # German state code for holidays, e.g. "BY"
    latitude: float
    longitude: float
    timezone: str = "Europe/Berlin"
    zone: str = "DE-LU"  # bidding zone of the day-ahead market
    meters: tuple[MeterSpec, ...] = field(default=())

    def __post_init__(self) -> None:
        if not _TENANT_ID.fullmatch(self.tenant_id):
            raise ValueError(
                f"invalid tenant id {self.tenant_id!r}: 2-63 lowercase letters, digits or '-', starting with a letter"
            )
        if self.state not in GERMAN_STATES:
            raise ValueError(f"site {self.tenant_id}: unknown state {self.state!r}; expected one of {GERMAN_STATES}")
        object.__setattr__(self, "meters", tuple(self.meters))
        if not self.meters:
            raise ValueError(f"site {self.tenant_id}: needs at least one meter")
        ids = [m.meter_id for m in self.meters]
        if len(set(ids)) != len(ids):
            raise ValueError(f"site {self.tenant_id}: duplicate meter ids in {ids}")

    def meter(self, meter_id: str) -> MeterSpec:
        for meter in self.meters:
            if meter.meter_id == meter_id:
                return meter
        raise KeyError(f"site {self.tenant_id} has no meter {meter_id!r}")

    @property
    def max_kw(self) -> dict[str, float]:
        return {m.meter_id: m.max_kw for m in self.meters}


DEMO_SITES: tuple[SiteSpec, ...] = (
    SiteSpec(
        tenant_id="household",
        name="Household Munich (Schwabing)",
        kind="household",
        state="BY",
        latitude=48.1600,
        longitude=11.5800,
        meters=(
            MeterSpec(
                "main", "consumption", annual_kwh=3_500, profile="h0", max_kw=HOUSEHOLD_FUSE_KW, name="Hausanschluss"
            ),
            # An 11 kW wallbox on its own meter (the demo's EV charging rule plans it).
            MeterSpec("wallbox", "ev", annual_kwh=2_000, name="Wallbox"),
        ),
    ),
    SiteSpec(
        tenant_id="bakery",
        name="Bakery Cologne (Ehrenfeld)",
        kind="business",
        state="NW",
        latitude=50.9500,
        longitude=6.9200,
        meters=(
            # Ovens and proofers: a 3 x 100 A connection.
            MeterSpec("main", "consumption", annual_kwh=45_000, profile="g5", max_kw=69.0, name="Backstube"),
            MeterSpec("heat-pump", "heat_pump", annual_kwh=11_000, max_kw=9.0, name="Wärmepumpe"),
        ),
    ),
    SiteSpec(
        tenant_id="office",
        name="Office Berlin (Kreuzberg)",
        kind="business",
        state="BE",
        latitude=52.4990,
        longitude=13.4030,
        meters=(
            MeterSpec("main", "consumption", annual_kwh=80_000, profile="g1", max_kw=110.0, name="Bürogebäude"),
            # DC/AC ratio 1.1: the 27 kW inverter clips the rare very bright hours.
            MeterSpec("pv", "pv", kwp=30.0, max_kw=27.0, tilt_deg=15.0, azimuth_deg=180.0, name="PV-Anlage Dach"),
            # Four 11 kW chargers on a 50 kW feed.
            MeterSpec("ev", "ev", annual_kwh=24_000, max_kw=50.0, name="Ladepark"),
        ),
    ),
)
DEMO_SITES_BY_ID: dict[str, SiteSpec] = {site.tenant_id: site for site in DEMO_SITES}

# (city, state, latitude, longitude): spread over climate regions so benchmarks hit many
# holiday calendars and weather files.
_CITIES = (
    ("hamburg", "HH", 53.55, 9.99),
    ("bremen", "HB", 53.08, 8.80),
    ("kiel", "SH", 54.32, 10.13),
    ("rostock", "MV", 54.09, 12.10),
    ("hannover", "NI", 52.37, 9.74),
    ("potsdam", "BB", 52.39, 13.06),
    ("berlin", "BE", 52.52, 13.40),
    ("magdeburg", "ST", 52.13, 11.62),
    ("essen", "NW", 51.46, 7.01),
    ("kassel", "HE", 51.31, 9.48),
    ("erfurt", "TH", 50.98, 11.03),
    ("dresden", "SN", 51.05, 13.74),
    ("mainz", "RP", 49.99, 8.25),
    ("saarbruecken", "SL", 49.24, 6.99),
    ("stuttgart", "BW", 48.78, 9.18),
    ("freiburg", "BW", 47.99, 7.84),
    ("muenchen", "BY", 48.14, 11.58),
    ("garmisch", "BY", 47.49, 11.10),
)
_BUSINESS_PROFILES = ("g0", "g1", "g2", "g3", "g4", "g5", "g6", "l0", "g25")
_EXTRA_KINDS: tuple[MeterKind, ...] = ("pv", "heat_pump", "ev", "consumption", "battery")


def bench_site(index: int, meters_per_tenant: int = 5) -> SiteSpec:
    """The index-th synthetic site; the same index always gives the same site."""
    if meters_per_tenant < 1:
        raise ValueError("meters_per_tenant must be at least 1")
    rng = np.random.default_rng([stable_hash("bench-site"), index])
    city, state, lat, lon = _CITIES[int(rng.integers(len(_CITIES)))]
    is_household = rng.random() < 0.4
    if is_household:
        main = MeterSpec("main", "consumption", annual_kwh=float(round(rng.uniform(1_800, 7_000))), profile="h0")
    else:
        profile = str(rng.choice(_BUSINESS_PROFILES))
        main = MeterSpec(
            "main", "consumption", annual_kwh=float(round(rng.lognormal(np.log(60_000), 0.8))), profile=profile
        )
    meters = [main]
    for slot in range(1, meters_per_tenant):
        kind = _EXTRA_KINDS[(slot - 1) % len(_EXTRA_KINDS)]
        meters.append(_bench_meter(kind, slot, rng, is_household))
    return SiteSpec(
        tenant_id=f"bench-{index:04d}",
        name=f"Benchmark site {index} ({city})",
        kind="household" if is_household else "business",
        state=state,
        latitude=round(lat + rng.uniform(-0.1, 0.1), 4),
        longitude=round(lon + rng.uniform(-0.1, 0.1), 4),
        meters=tuple(meters),
    )


def _bench_meter(kind: MeterKind, slot: int, rng: np.random.Generator, household: bool) -> MeterSpec:
    scale = 1.0 if household else 5.0
    if kind == "pv":
        return MeterSpec(
            f"pv-{slot}",
            "pv",
            kwp=round(rng.uniform(4, 15) * scale, 1),
            tilt_deg=round(rng.uniform(10, 40)),
            azimuth_deg=round(rng.uniform(120, 240)),
        )
    if kind == "heat_pump":
        return MeterSpec(f"heat-pump-{slot}", "heat_pump", annual_kwh=round(rng.uniform(2_500, 6_000) * scale))
    if kind == "ev":
        return MeterSpec(f"ev-{slot}", "ev", annual_kwh=round(rng.uniform(1_500, 4_000) * scale))
    if kind == "battery":
        return MeterSpec(f"battery-{slot}", "battery", max_kw=round(rng.uniform(3, 10) * scale, 1))
    profile = "h0" if household else str(rng.choice(_BUSINESS_PROFILES))
    return MeterSpec(f"sub-{slot}", "consumption", annual_kwh=round(rng.uniform(500, 3_000) * scale), profile=profile)


def bench_sites(n_tenants: int, meters_per_tenant: int = 5) -> list[SiteSpec]:
    """Varied synthetic sites for load benchmarks (``bench-0000`` ... ``bench-NNNN``)."""
    return [bench_site(i, meters_per_tenant) for i in range(n_tenants)]


def resolve_site(name: str, meters_per_tenant: int = 5) -> SiteSpec:
    """A demo tenant id (``household``, ``bakery``, ``office``) or ``bench-N``."""
    if name in DEMO_SITES_BY_ID:
        return DEMO_SITES_BY_ID[name]
    match = re.fullmatch(r"bench-(\d{1,6})", name)
    if match:
        return bench_site(int(match.group(1)), meters_per_tenant)
    raise ValueError(f"unknown site {name!r}; expected one of {', '.join(DEMO_SITES_BY_ID)} or bench-N")
