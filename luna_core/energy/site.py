"""What a site's meters are, declared once: the meter kinds, and which of them make up the site load.

The site load is what the site consumed: consumption + ev + heat_pump meters (sub-meters are
separate loads; pv generates, a battery only shifts). KPIs, aggregates, forecasts and the
playbook all sum the same kinds, through ``LOAD_KINDS`` in Python and ``site_load_sql`` in SQL.
Plain Python on purpose: the simulators import it without SQLAlchemy.
"""

from __future__ import annotations

from typing import Literal, get_args

MeterKind = Literal["consumption", "pv", "ev", "heat_pump", "battery"]
METER_KINDS: tuple[MeterKind, ...] = get_args(MeterKind)
LOAD_KINDS: tuple[MeterKind, ...] = ("consumption", "ev", "heat_pump")


def is_load(kind: str) -> bool:
    """Whether a meter of this kind counts towards the site load."""
    return kind in LOAD_KINDS


def site_load_sql(kind_column: str = "m.kind") -> str:
    """The SQL condition "this meter counts towards the site load", on ``kind_column``; built from
    the constant above only, never from input."""
    return f"{kind_column} IN ({', '.join(repr(kind) for kind in LOAD_KINDS)})"
