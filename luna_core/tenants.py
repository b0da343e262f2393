"""The tenant registry: create, list, disable tenants and register their meters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, Row, func, select
from sqlalchemy.dialects.postgresql import insert

from luna_core.db.schema import METER_INTERVALS, meter_readings, meters, tenants
from luna_core.db.tenancy import tenant_scope, validate_tenant_id
from luna_core.energy.site import METER_KINDS
from luna_core.settings import default_timezone

TENANT_KINDS = ("household", "business", "housing")


class MeterLike(Protocol):
    meter_id: str
    kind: str
    max_kw: float


@dataclass(frozen=True)
class MeterDef:
    meter_id: str
    kind: str
    max_kw: float
    interval_minutes: int | None = None  # 15, 30 or 60; None: detected on the first ingest
    name: str | None = None


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    kind: str
    zone: str
    timezone: str
    state: str | None
    status: str
    latitude: float | None = None
    longitude: float | None = None
    share_anonymised: bool = True


class TenantError(ValueError):
    pass


def create_tenant(
    engine: Engine,
    tenant_id: str,
    name: str,
    kind: str = "business",
    *,
    zone: str = "DE-LU",
    timezone: str | None = None,
    state: str | None = None,
    meter_specs: list[MeterLike] | tuple[MeterLike, ...] = (),
    latitude: float | None = None,
    longitude: float | None = None,
) -> Tenant:
    """Creates the tenant and its meters; an existing tenant id is an error, not an overwrite.
    Without a time zone it gets ``LUNA_DEFAULT_TIMEZONE``."""
    validate_tenant_id(tenant_id)
    timezone = timezone or default_timezone()
    if kind not in TENANT_KINDS:
        raise TenantError(f"unknown tenant kind {kind!r}; expected one of {', '.join(TENANT_KINDS)}")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise TenantError(f"unknown timezone {timezone!r}") from error
    for spec in meter_specs:
        _check_meter(spec)
    with engine.begin() as connection:
        inserted = connection.execute(
            insert(tenants)
            .values(
                id=tenant_id,
                name=name,
                kind=kind,
                zone=zone,
                timezone=timezone,
                state=state,
                latitude=latitude,
                longitude=longitude,
            )
            .on_conflict_do_nothing()
            .returning(tenants.c.id)
        ).first()
    if inserted is None:
        raise TenantError(f"tenant {tenant_id!r} already exists")
    if meter_specs:
        upsert_meters(engine, tenant_id, meter_specs)
    return fetch_tenant(engine, tenant_id)


def _check_meter(spec: MeterLike) -> None:
    if spec.kind not in METER_KINDS:
        raise TenantError(f"meter {spec.meter_id}: unknown kind {spec.kind!r}; expected one of {METER_KINDS}")
    _check_interval(spec.meter_id, getattr(spec, "interval_minutes", None))


def _check_interval(meter_id: str, minutes: int | None) -> None:
    if minutes is not None and minutes not in METER_INTERVALS:
        raise TenantError(f"meter {meter_id}: interval {minutes} minutes; expected one of 15, 30, 60")


def upsert_meters(engine: Engine, tenant_id: str, meter_specs: list[MeterLike] | tuple[MeterLike, ...]) -> None:
    """Creates or updates meters; a spec without an interval keeps the meter's (set or detected) one."""
    for spec in meter_specs:
        _check_meter(spec)
    rows = [
        {
            "tenant_id": tenant_id,
            "meter_id": spec.meter_id,
            "kind": spec.kind,
            "name": getattr(spec, "name", None) or spec.meter_id,
            "max_kw": spec.max_kw,
            "interval_minutes": getattr(spec, "interval_minutes", None),
        }
        for spec in meter_specs
    ]
    statement = insert(meters).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[meters.c.tenant_id, meters.c.meter_id],
        set_={
            "kind": statement.excluded.kind,
            "name": statement.excluded.name,
            "max_kw": statement.excluded.max_kw,
            "interval_minutes": func.coalesce(statement.excluded.interval_minutes, meters.c.interval_minutes),
        },
    )
    with tenant_scope(engine, tenant_id) as connection:
        connection.execute(statement)


def update_meter(
    connection: Connection,
    tenant_id: str,
    meter_id: str,
    *,
    interval_minutes: int | None = None,
    max_kw: float | None = None,
) -> Row | None:
    """Sets a meter's reading interval and/or power limit (inside ``tenant_scope``); None if no such meter.
    Readings quarantined under the old setting can then be sent again (a file: the same file)."""
    _check_interval(meter_id, interval_minutes)
    if max_kw is not None and not max_kw > 0:
        raise TenantError(f"meter {meter_id}: max_kw must be above 0")
    values = {k: v for k, v in (("interval_minutes", interval_minutes), ("max_kw", max_kw)) if v is not None}
    where = (meters.c.tenant_id == tenant_id, meters.c.meter_id == meter_id)
    if not values:
        return connection.execute(select(meters).where(*where)).first()
    return connection.execute(meters.update().where(*where).values(**values).returning(meters)).first()


def get_tenant(connection: Connection, tenant_id: str) -> Tenant:
    """The tenant's attributes (zone, time zone, state, status...): the one place they are read, on
    any connection (``tenants`` is a platform table: inside ``tenant_scope`` too)."""
    row = connection.execute(select(tenants).where(tenants.c.id == tenant_id)).first()
    if row is None:
        raise TenantError(f"unknown tenant {tenant_id!r}")
    return _tenant(row)


def fetch_tenant(engine: Engine, tenant_id: str) -> Tenant:
    """``get_tenant`` on a connection of its own, for callers outside a transaction."""
    with engine.connect() as connection:
        return get_tenant(connection, tenant_id)


def list_tenants(engine: Engine, *, active_only: bool = False) -> list[Tenant]:
    query = select(tenants).order_by(tenants.c.id)
    if active_only:
        query = query.where(tenants.c.status == "active")
    with engine.connect() as connection:
        return [_tenant(row) for row in connection.execute(query)]


def set_tenant_status(engine: Engine, tenant_id: str, status: str) -> Tenant:
    with engine.begin() as connection:
        updated = connection.execute(tenants.update().where(tenants.c.id == tenant_id).values(status=status)).rowcount
    if not updated:
        raise TenantError(f"unknown tenant {tenant_id!r}")
    return fetch_tenant(engine, tenant_id)


def set_sharing(engine: Engine, tenant_id: str, share: bool) -> Tenant:
    """Opt in to or out of the global model (anonymised load shapes only)."""
    with engine.begin() as connection:
        updated = connection.execute(
            tenants.update().where(tenants.c.id == tenant_id).values(share_anonymised=share)
        ).rowcount
    if not updated:
        raise TenantError(f"unknown tenant {tenant_id!r}")
    return fetch_tenant(engine, tenant_id)


def delete_tenant(engine: Engine, tenant_id: str) -> None:
    """Removes the tenant and everything it owns (readings explicitly: the partitioned table has no FK)."""
    with tenant_scope(engine, tenant_id) as connection:
        connection.execute(meter_readings.delete().where(meter_readings.c.tenant_id == tenant_id))
    with engine.begin() as connection:
        if not connection.execute(tenants.delete().where(tenants.c.id == tenant_id)).rowcount:
            raise TenantError(f"unknown tenant {tenant_id!r}")


def _tenant(row) -> Tenant:
    return Tenant(
        id=row.id,
        name=row.name,
        kind=row.kind,
        zone=row.zone,
        timezone=row.timezone,
        state=row.state,
        status=row.status,
        latitude=row.latitude,
        longitude=row.longitude,
        share_anonymised=row.share_anonymised,
    )
