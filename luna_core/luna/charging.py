"""How much the tenant's car needs and how fast it can charge, for "when should I charge the car?".

From the tenant's EV meters (kind ``ev``): the energy is the average daily EV energy over the last
``HISTORY_DAYS`` local days before today, divided by the days on which the meters reported (a day
without charging but with zero readings counts, as in the playbook's profiles); the power is the
meters' ``max_kw``. Several EV meters are taken together (their energy and power added up). Without an
EV meter, or without any charging in the history, the documented defaults stand in, and the answer
says so. Run inside ``tenant_scope``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, select, text

from luna_core.db.schema import meters
from luna_core.playbook.inputs import day_bounds

HISTORY_DAYS = 14
DEFAULT_ENERGY_KWH = 20.0  # a typical daily top-up of a commuter's car
DEFAULT_POWER_KW = 11.0  # a three-phase 16 A wallbox
MIN_MEASURED_KWH = 0.1  # below this the history shows no charging worth planning

_DAILY_SQL = text(
    """
    SELECT CAST(r.ts AT TIME ZONE :tz AS date) AS day, sum(r.kwh) AS kwh
    FROM meter_readings r
    WHERE r.tenant_id = :tenant AND r.meter_id = ANY(:meters) AND r.ts >= :start AND r.ts < :end
    GROUP BY 1
    """
)


@dataclass(frozen=True)
class ChargingNeed:
    energy_kwh: float
    power_kw: float
    meter_ids: tuple[str, ...]  # the EV meters the figures come from; empty: both are defaults
    energy_measured: bool  # False: DEFAULT_ENERGY_KWH (no EV meter, or no charging in the history)
    days: int  # days with readings in the history window
    first: date  # the history window, [first, after)
    after: date


def charging_need(connection: Connection, tenant_id: str, timezone: str, today: date) -> ChargingNeed:
    first, after = today - timedelta(days=HISTORY_DAYS), today
    rows = connection.execute(
        select(meters.c.meter_id, meters.c.max_kw)
        .where(meters.c.tenant_id == tenant_id, meters.c.kind == "ev")
        .order_by(meters.c.meter_id)
    ).all()
    if not rows:
        return ChargingNeed(DEFAULT_ENERGY_KWH, DEFAULT_POWER_KW, (), False, 0, first, after)
    meter_ids = tuple(r.meter_id for r in rows)
    power = float(sum(r.max_kw for r in rows))
    start, _ = day_bounds(first, timezone)
    end, _ = day_bounds(after, timezone)
    daily = connection.execute(
        _DAILY_SQL, {"tenant": tenant_id, "meters": list(meter_ids), "start": start, "end": end, "tz": timezone}
    ).all()
    mean = sum(float(r.kwh) for r in daily) / len(daily) if daily else 0.0
    if mean < MIN_MEASURED_KWH:
        return ChargingNeed(DEFAULT_ENERGY_KWH, power, meter_ids, False, len(daily), first, after)
    return ChargingNeed(round(mean, 1), power, meter_ids, True, len(daily), first, after)
